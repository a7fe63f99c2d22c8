"""Oracle Cloud (OCI) cost reports → canonical billing line items.

Cost reports carry E-notation costs (`6.26609E-12`), interval starts without seconds
(`2023-11-13T10:00Z`) and one column per tag (`tags/Oracle-Tags.CreatedBy`, names may hold
backslashes — kept verbatim as the tag key, minus `tags/`).

Reports are incremental (a new file every few hours, each holding only new rows), so every file
is its own delivery: delivery_key = `oci|{tenant}|{YYYY-MM}|{file name}` — re-loading a file
replaces only itself. The billing period is the calendar month of the usage interval (the
report has no billing-period column). Corrections (`lineItem/isCorrection` = true) load with
charge_class Correction; `lineItem/referenceNo` / `lineItem/backreferenceNo` stay in `extra`
so the models can let a correction override the row it points at.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingestion.billing.files.assemble import (
    Delivery,
    Header,
    currency,
    delivery_for,
    finish,
    open_export,
    usd_rate,
)
from ingestion.billing.files.values import json_object, next_month
from ingestion.billing.schema import BillingParse

SOURCE = "oci"
REQUIRED = {
    "lineItem/tenantId": ("lineItem/tenantId",),
    "lineItem/intervalUsageStart": ("lineItem/intervalUsageStart",),
    "cost/myCost": ("cost/myCost",),
    "cost/currencyCode": ("cost/currencyCode",),
}
SERVICES = (  # (pattern in product/service, FOCUS ServiceCategory), first match wins
    (r"GENERATIVE_AI|AI_|_AI\b|DATA_SCIENCE|LANGUAGE|SPEECH|VISION", "AI and Machine Learning"),
    (r"DATABASE|AUTONOMOUS|MYSQL|NOSQL", "Databases"),
    (r"STORAGE|ARCHIVE", "Storage"),
    (r"NETWORK|LOAD_BALANCER|FASTCONNECT|VPN|DNS", "Networking"),
    (r"TELEMETRY|LOGGING|MONITORING|NOTIFICATIONS", "Management and Governance"),
    (r"COMPUTE|CONTAINER|FUNCTIONS", "Compute"),
)


def key(column: str) -> str:
    return column.lower()


def parse(path: Path, *, delivery: Delivery | None = None) -> BillingParse:
    """Parse one OCI cost report (CSV or gzip CSV)."""
    path, rows, h, m = open_export(path, "OCI cost report", REQUIRED, key=key)
    start = m.timestamp(
        "lineItem/intervalUsageStart", h.col("lineItem/intervalUsageStart"), required=True
    )
    code = currency(m.text("cost/currencyCode", h.col("cost/currencyCode"), required=True))
    cost = m.money("cost/myCost", h.col("cost/myCost"), required=True)
    quantity = m.number("usage/billedQuantity", h.col("usage/billedQuantity"))
    service = h.col("product/service")
    category = pl.lit("Other")
    for pattern, name in reversed(SERVICES):
        category = pl.when(service.str.contains(pattern)).then(pl.lit(name)).otherwise(category)
    correction = h.peek("lineItem/isCorrection").str.strip_chars().str.to_lowercase() == "true"
    period = start.dt.truncate("1mo")
    mapped: dict[str, pl.Expr] = {
        "billing_account_id": m.text(
            "lineItem/tenantId", h.col("lineItem/tenantId"), required=True
        ),
        "sub_account_id": h.col("product/compartmentId"),
        "sub_account_name": h.col("product/compartmentName"),
        "billing_period_start": period,
        "billing_period_end": next_month(period),
        "charge_period_start": start,
        "charge_period_end": m.timestamp(
            "lineItem/intervalUsageEnd", h.col("lineItem/intervalUsageEnd")
        ),
        "charge_category": pl.lit("Usage"),
        "charge_class": pl.when(correction).then(pl.lit("Correction")),
        "charge_description": h.col("product/Description"),
        "charge_frequency": pl.lit("Usage-Based"),
        "billed_cost": cost,
        "effective_cost": cost,
        "contracted_cost": cost,  # myCost is already the customer's (negotiated) price
        "billing_currency": code,
        "usd_exchange_rate": usd_rate(code),
        "pricing_quantity": quantity,
        "pricing_unit": h.col("cost/billingUnitReadable"),
        "consumed_quantity": quantity,
        "consumed_unit": h.col("cost/skuUnitDescription"),
        "provider_name": pl.lit("Oracle"),
        "publisher_name": pl.lit("Oracle"),
        "invoice_issuer_name": pl.lit("Oracle"),
        "service_name": service,
        "service_category": category,
        "resource_id": h.col("product/resourceId"),
        "region_id": h.col("product/region"),
        "availability_zone": h.col("product/availabilityDomain"),
        "sku_id": h.col("cost/productSku"),
        "tags": _tags(h),
    }
    return finish(
        rows,
        mapped,
        delivery=delivery or delivery_for(path, SOURCE),
        header=h,
        mapper=m,
        key_suffix=[pl.lit(path.name)],
    )


def _tags(h: Header) -> pl.Expr:
    tag_columns = [c for c in h.columns if c.lower().startswith("tags/")]
    h.used.update(tag_columns)
    return json_object({c[len("tags/") :]: pl.col(c) for c in tag_columns})
