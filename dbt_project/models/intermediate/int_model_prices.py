"""Catalogue prices (genai-prices, offline) for every model in the logs and in billed usage."""

import pyarrow as pa

from bimo.pricing import CATALOGUE, price_rows

SCHEMA = pa.schema(
    [
        ("provider", pa.string()),
        ("model_ref", pa.string()),
        ("valid_from", pa.date32()),
        ("valid_to", pa.date32()),
        ("tier_start_tokens", pa.int64()),
        ("catalogue_model_id", pa.string()),
        ("input_per_mtok", pa.decimal128(18, 9)),
        ("cache_read_per_mtok", pa.decimal128(18, 9)),
        ("cache_write_per_mtok", pa.decimal128(18, 9)),
        ("output_per_mtok", pa.decimal128(18, 9)),
        ("reasoning_per_mtok", pa.decimal128(18, 9)),
        ("price_source", pa.string()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    keys = (
        dbt.ref("int_priced_model_keys")
        .query(
            "model_keys",
            "select provider, prices_provider_id, pricing_model, first_day, last_day "
            "from model_keys order by all",
        )
        .fetchall()
    )
    rows = []
    for provider, prices_provider_id, model_ref, first_day, last_day in keys:
        for r in price_rows(prices_provider_id, model_ref, first_day, last_day):
            rows.append(
                {
                    "provider": provider,
                    "model_ref": model_ref,
                    "valid_from": r.valid_from,
                    "valid_to": r.valid_to,
                    "tier_start_tokens": r.tier_start_tokens,
                    "catalogue_model_id": r.catalogue_model_id,
                    "input_per_mtok": r.input,
                    "cache_read_per_mtok": r.cache_read,
                    "cache_write_per_mtok": r.cache_write,
                    "output_per_mtok": r.output,
                    "reasoning_per_mtok": r.reasoning,
                    "price_source": CATALOGUE,
                }
            )
    return pa.Table.from_pylist(rows, schema=SCHEMA)
