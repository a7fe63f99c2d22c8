"""Catalogue prices (genai-prices, offline) for every model in the logs and in billed usage.

Returned as a DuckDB relation, not an Arrow table: dbt-duckdb registers an Arrow table through
pandas and `pyarrow.dataset`, 0.4 s of imports in every build for a few hundred rows.
"""

from decimal import Decimal

from bimo.pricing import CATALOGUE, price_rows

COLUMNS = (
    ("provider", "varchar"),
    ("model_ref", "varchar"),
    ("valid_from", "date"),
    ("valid_to", "date"),
    ("tier_start_tokens", "bigint"),
    ("catalogue_model_id", "varchar"),
    ("input_per_mtok", "decimal(18, 9)"),
    ("cache_read_per_mtok", "decimal(18, 9)"),
    ("cache_write_per_mtok", "decimal(18, 9)"),
    ("output_per_mtok", "decimal(18, 9)"),
    ("reasoning_per_mtok", "decimal(18, 9)"),
    ("price_source", "varchar"),
)


def as_relation(session, rows: list[tuple]):
    """`rows` (in COLUMNS' order) as a relation of COLUMNS' types. Prices go in as text, so the
    decimal cast is exact."""
    typed = ", ".join(f"cast({name} as {kind}) as {name}" for name, kind in COLUMNS)
    names = ", ".join(name for name, _ in COLUMNS)
    if not rows:
        nulls = ", ".join(f"null as {name}" for name, _ in COLUMNS)
        return session.sql(f"select {typed} from (select {nulls}) where false")
    row = "(" + ", ".join("?" * len(COLUMNS)) + ")"
    params = [str(v) if isinstance(v, Decimal) else v for r in rows for v in r]
    values = ", ".join([row] * len(rows))
    return session.sql(f"select {typed} from (values {values}) as v({names})", params=params)


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
                (
                    provider,
                    model_ref,
                    r.valid_from,
                    r.valid_to,
                    r.tier_start_tokens,
                    r.catalogue_model_id,
                    r.input,
                    r.cache_read,
                    r.cache_write,
                    r.output,
                    r.reasoning,
                    CATALOGUE,
                )
            )
    return as_relation(session, rows)
