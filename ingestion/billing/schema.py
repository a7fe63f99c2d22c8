"""The canonical billing line item every billing parser produces (FOCUS semantics, snake_case).

Restatements: `delivery_key` names the unit a delivery replaces — (source_system,
billing_account_id, billing period) for exports, (source_system, account, day) for API rows.
Loading a delivery deletes every stored row with the same `delivery_key` and inserts the new rows
in one transaction, so totals always equal the latest delivery. Within one load, when two
deliveries carry the same key, only the later one (`delivery_rank`) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from ingestion.quarantine import QUARANTINE_COLUMNS as SHARED_QUARANTINE_COLUMNS

MONEY = pa.decimal128(38, 18)  # sub-micro-dollar rows are real; DECIMAL(18,6) would zero them
TS = pa.timestamp("us", tz="UTC")

LINE_ITEM_COLUMNS: dict[str, pa.DataType] = {
    # restatement and lineage
    # source_system: focus, aws-cur, azure, gcp, oci, openai-costs, anthropic-costs
    "source_system": pa.string(),
    "delivery_key": pa.string(),  # f"{source_system}|{billing_account_id}|{period or day}"
    "delivery_id": pa.string(),  # manifest assemblyId, export run id, file name, or API pull id
    "delivery_rank": pa.int64(),  # orders deliveries of the same key: higher = later = wins
    "_source_file": pa.string(),
    "_source_line": pa.int64(),  # 1-based data row / array element of the source
    # accounts and periods (all timestamps UTC; period ends exclusive)
    "billing_account_id": pa.string(),  # ids are strings: AWS accounts keep leading zeros
    "billing_account_name": pa.string(),
    "sub_account_id": pa.string(),
    "sub_account_name": pa.string(),
    "billing_period_start": TS,
    "billing_period_end": TS,
    "charge_period_start": TS,
    "charge_period_end": TS,
    "invoice_id": pa.string(),
    # what was charged
    "charge_category": pa.string(),  # Usage | Purchase | Tax | Credit | Adjustment
    "charge_class": pa.string(),  # Correction | NULL
    "charge_description": pa.string(),
    "charge_frequency": pa.string(),  # One-Time | Recurring | Usage-Based
    "pricing_category": pa.string(),  # Standard | Dynamic | Committed | Other
    # money: all four cost measures kept; currency on every row
    "billed_cost": MONEY,
    "effective_cost": MONEY,
    "list_cost": MONEY,
    "contracted_cost": MONEY,
    "billing_currency": pa.string(),  # ISO 4217, upper case
    # USD per 1 unit of billing_currency, from the export itself; NULL when it has none
    "usd_exchange_rate": pa.float64(),
    # quantities
    "pricing_quantity": pa.float64(),
    "pricing_unit": pa.string(),
    "consumed_quantity": pa.float64(),
    "consumed_unit": pa.string(),
    # who and what
    "provider_name": pa.string(),  # e.g. AWS, Microsoft, Google Cloud, Oracle, OpenAI, Anthropic
    "publisher_name": pa.string(),
    "invoice_issuer_name": pa.string(),
    "service_name": pa.string(),
    "service_category": pa.string(),  # FOCUS ServiceCategory, e.g. Compute, AI and Machine Learning
    "service_subcategory": pa.string(),
    "resource_id": pa.string(),
    "resource_name": pa.string(),
    "resource_type": pa.string(),
    "region_id": pa.string(),
    "region_name": pa.string(),
    "availability_zone": pa.string(),
    "sku_id": pa.string(),
    "sku_price_id": pa.string(),
    "commitment_discount_id": pa.string(),
    "commitment_discount_status": pa.string(),  # Used | Unused
    "tags": pa.string(),  # JSON object of string values (normalised from every tag encoding)
    # AI billing detail where the source has it
    "model": pa.string(),
    # token_type: input_uncached, cache_read, cache_write, output, reasoning, other
    "token_type": pa.string(),
    # validate but do not reject
    "conformance_issues": pa.string(),  # JSON list of short strings; NULL when conformant
    "extra": pa.string(),  # JSON object of unmapped source columns (x_ columns included)
}

LINE_ITEM_SCHEMA = pa.schema(
    [
        pa.field(n, t, nullable=n not in ("source_system", "delivery_key"))
        for n, t in LINE_ITEM_COLUMNS.items()
    ]
)

QUARANTINE_COLUMNS = SHARED_QUARANTINE_COLUMNS  # one quarantine shape for every source

CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
TOKEN_TYPES = ("input_uncached", "cache_read", "cache_write", "output", "reasoning", "other")

# Token usage reported by the AI providers' usage APIs (for reconciliation by token category).
AI_USAGE_COLUMNS: dict[str, pa.DataType] = {
    "source_system": pa.string(),  # openai-usage | anthropic-usage
    "delivery_key": pa.string(),  # f"{source_system}|{account}|{usage_date}"
    "delivery_id": pa.string(),  # the API pull or saved file the row came from
    "delivery_rank": pa.int64(),
    "_source_file": pa.string(),
    "_source_line": pa.int64(),
    "provider": pa.string(),  # openai | anthropic
    "account_id": pa.string(),  # organisation id when known, else NULL
    "usage_date": pa.date32(),  # UTC day of the bucket
    "bucket_start": TS,
    "bucket_end": TS,
    "project_id": pa.string(),  # OpenAI project / Anthropic workspace
    "api_key_id": pa.string(),
    "model": pa.string(),
    "service_tier": pa.string(),
    "input_uncached_tokens": pa.int64(),
    "cache_read_tokens": pa.int64(),
    "cache_write_tokens": pa.int64(),
    "output_tokens": pa.int64(),
    "requests": pa.int64(),
    "extra": pa.string(),
}
AI_USAGE_SCHEMA = pa.schema(
    [
        pa.field(n, t, nullable=n not in ("source_system", "delivery_key"))
        for n, t in AI_USAGE_COLUMNS.items()
    ]
)


# Which pull last covered each API delivery key (source|account|day), rows or none: a day that
# comes back empty on a re-pull has no rows to replace the stored ones with, so the models keep
# an API row only when its delivery is the one that last covered its key.
COVERAGE_SCHEMA = pa.schema(
    [
        pa.field("delivery_key", pa.string(), nullable=False),
        pa.field("source_system", pa.string(), nullable=False),
        pa.field("usage_date", pa.date32()),
        pa.field("delivery_id", pa.string()),
        pa.field("delivery_rank", pa.int64()),
        pa.field("result_rows", pa.int64()),
    ]
)


@dataclass
class BillingParse:
    """What a billing parser returns for one input (a file, or a set of API pages)."""

    line_items: pa.Table  # LINE_ITEM_SCHEMA (may be empty)
    usage: pa.Table | None = None  # AI_USAGE_SCHEMA, usage APIs only
    quarantine: list[dict] = field(default_factory=list)  # {source, file, line, reason}
    rows_in: int = 0  # data rows (or API result rows) in the input
    coverage: list[dict] = field(default_factory=list)  # API pulls: COVERAGE_SCHEMA rows
