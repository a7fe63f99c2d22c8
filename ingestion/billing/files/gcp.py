"""Google Cloud Billing export (BigQuery JSON rows or a flattened CSV dump) → line items.

Nested records arrive either as JSON (flattened to dotted names by the reader) or as a CSV with
dotted headers, Python-repr arrays (`[{'key': 'a', 'value': 'b'}]`) and `None`; both spellings
(`service.description` / `service_description`) are accepted.

Money: billed_cost = effective_cost = cost + Σ credits.amount (net; the gross `cost` stays in
`extra` and Σ credits is added as `extra.credits_total`); contracted_cost = gross cost; list_cost
= cost_at_list when exported. Billing period = invoice.month (usage month when absent), so late
rows of the previous month's usage stay on the invoice they belong to. cost_type: regular →
Usage (commitment fee SKUs → Purchase), tax → Tax, adjustment → Adjustment (class Correction),
rounding_error → Adjustment. usd_exchange_rate = 1 / currency_conversion_rate (the export gives
billing-currency units per USD).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl

from ingestion.billing.files.assemble import (
    Delivery,
    Header,
    currency,
    delivery_for,
    finish,
    open_export,
    unknown_value,
    usd_rate,
)
from ingestion.billing.files.tags import loose_json, tag_pairs, tags_json
from ingestion.billing.files.values import MONEY, money, next_month, per_unique
from ingestion.billing.schema import BillingParse

SOURCE = "gcp"
REQUIRED = {
    "billing_account_id": ("billing_account_id",),
    "cost": ("cost",),
    "currency": ("currency",),
    "usage_start_time": ("usage_start_time",),
}
COST_TYPES = {"regular": "Usage", "tax": "Tax", "adjustment": "Adjustment",
              "rounding_error": "Adjustment"}  # fmt: skip
SERVICES = {
    "AI and Machine Learning": ("Vertex AI", "Gemini API", "Generative Language API",
                                "Cloud Vision API", "Cloud Natural Language API",
                                "Cloud Speech API", "Cloud Translation API", "Document AI",
                                "Dialogflow", "Gemini Code Assist"),
    "Compute": ("Compute Engine", "Cloud Run", "Cloud Functions", "Kubernetes Engine",
                "App Engine"),
    "Storage": ("Cloud Storage", "Filestore"),
    "Databases": ("Cloud SQL", "Cloud Spanner", "Firestore", "Cloud Bigtable",
                  "Cloud Memorystore for Redis", "AlloyDB"),
    "Analytics": ("BigQuery", "Dataflow", "Dataproc", "Looker Studio"),
    "Networking": ("Networking", "Cloud CDN", "Cloud DNS", "Cloud Load Balancing"),
    "Management and Governance": ("Cloud Logging", "Cloud Monitoring"),
}  # fmt: skip
SERVICE_CATEGORY = {s: cat for cat, names in SERVICES.items() for s in names}


def key(column: str) -> str:
    return column.lower().replace(".", "_")


def parse(path: Path, *, delivery: Delivery | None = None) -> BillingParse:
    """Parse one GCP billing export file (JSON lines / JSON array / CSV, optionally gzip)."""
    path, rows, h, m = open_export(
        path, "GCP billing export", REQUIRED, key=key, null_tokens=("NULL", "None")
    )
    gross = m.money("cost", h.peek("cost"), required=True)
    credits_raw = h.peek("credits")
    credits = m.value("credits", credits_raw, money(per_unique(credits_raw, credits_total)))
    net = (gross + credits.fill_null(pl.lit(0).cast(MONEY))).cast(MONEY)
    code = currency(m.text("currency", h.col("currency"), required=True))
    start = m.timestamp("usage_start_time", h.col("usage_start_time"), required=True)
    month_raw = h.col("invoice.month")
    ym = month_raw.str.extract_groups(r"^\s*(\d{4})(\d{2})(?:\.0+)?\s*$")  # 202405, 202405.0
    first_day = pl.concat_str(
        [ym.struct.field("1"), pl.lit("-"), ym.struct.field("2"), pl.lit("-01")]
    ).str.to_datetime("%Y-%m-%d", strict=False, time_unit="us")
    invoice = m.value("invoice.month", month_raw, first_day.dt.replace_time_zone("UTC"))
    period = pl.coalesce(invoice, start.dt.truncate("1mo"))
    cost_type = h.col("cost_type")
    sku = h.col("sku.description")
    service = h.col("service.description")
    commitment = sku.str.starts_with("Commitment").fill_null(False)
    rate = m.number("currency_conversion_rate", h.peek("currency_conversion_rate"))
    is_ai = service.is_in(SERVICES["AI and Machine Learning"]) | service.str.contains(
        "Vertex AI|Gemini"
    )
    mapped: dict[str, pl.Expr] = {
        "billing_account_id": m.text(
            "billing_account_id", h.col("billing_account_id"), required=True
        ),
        "sub_account_id": h.col("project.id"),
        "sub_account_name": h.col("project.name"),
        "billing_period_start": period,
        "billing_period_end": next_month(period),
        "charge_period_start": start,
        "charge_period_end": m.timestamp("usage_end_time", h.col("usage_end_time")),
        "charge_category": pl.when(commitment & (cost_type.is_null() | (cost_type == "regular")))
        .then(pl.lit("Purchase"))
        .otherwise(cost_type.replace_strict(COST_TYPES, default="Adjustment").fill_null("Usage")),
        "charge_class": pl.when(cost_type == "adjustment").then(pl.lit("Correction")),
        "charge_description": sku,
        "charge_frequency": pl.when(commitment)
        .then(pl.lit("Recurring"))
        .when(cost_type.is_null() | (cost_type == "regular"))
        .then(pl.lit("Usage-Based")),
        "billed_cost": net,
        "effective_cost": net,
        "list_cost": m.money("cost_at_list", h.col("cost_at_list")),
        "contracted_cost": gross,
        "billing_currency": code,
        "usd_exchange_rate": usd_rate(code, pl.when(rate > 0).then(1.0 / rate)),
        "pricing_quantity": m.number(
            "usage.amount_in_pricing_units", h.col("usage.amount_in_pricing_units")
        ),
        "pricing_unit": h.col("usage.pricing_unit"),
        "consumed_quantity": m.number("usage.amount", h.col("usage.amount")),
        "consumed_unit": h.col("usage.unit"),
        "provider_name": pl.lit("Google Cloud"),
        "publisher_name": pl.coalesce(h.col("seller_name"), pl.lit("Google Cloud")),
        "invoice_issuer_name": pl.lit("Google Cloud"),
        "service_name": service,
        "service_category": pl.when(is_ai)
        .then(pl.lit("AI and Machine Learning"))
        .otherwise(service.replace_strict(SERVICE_CATEGORY, default="Other")),
        "resource_id": h.col("resource.global_name"),
        "resource_name": h.col("resource.name"),
        "region_id": h.col("location.region"),
        "region_name": h.col("location.location"),
        "availability_zone": h.col("location.zone"),
        "sku_id": h.col("sku.id"),
        "tags": _tags(h),
        "token_type": pl.when(is_ai).then(_token_type(sku)),
    }
    issues = [unknown_value(cost_type, COST_TYPES, "cost_type")]
    return finish(
        rows,
        mapped,
        delivery=delivery or delivery_for(path, SOURCE),
        header=h,
        mapper=m,
        issues=issues,
        extra={"credits_total": credits.fill_null(pl.lit(0).cast(MONEY)).cast(pl.String)},
    )


def credits_total(text: str) -> str | None:
    """Σ credits[].amount as exact decimal text ("0" for no credits; None when unreadable)."""
    try:
        entries = loose_json(text)
    except ValueError:
        return None
    if entries is None:
        return "0"
    if not isinstance(entries, list):
        return None
    total = Decimal(0)
    for entry in entries:
        amount = entry.get("amount") if isinstance(entry, dict) else None
        if amount is None:
            continue
        try:
            total += Decimal(str(amount))
        except InvalidOperation:
            return None
    return str(total)


def _tags(h: Header) -> pl.Expr:
    """labels (as is) win over resource-manager tags (`namespace/key`), system_labels (already
    namespaced, e.g. `goog-resource-type`) and project labels (prefixed `project:`)."""
    sources = {"project": "project.labels", "system": "system_labels", "tags": "tags",
               "labels": "labels"}  # fmt: skip
    present = {name: h.col(column) for name, column in sources.items() if h.find(column)}
    if not present:
        return pl.lit(None, pl.String)
    return per_unique(pl.struct(**present).struct.json_encode(), _merge_tags)


def _merge_tags(encoded: str) -> str | None:
    parts = json.loads(encoded)
    merged: dict[str, str] = {}
    for name in ("project", "system", "tags", "labels"):
        text = parts.get(name)
        if not text:
            continue
        try:
            merged.update(tag_pairs(text, prefix="project:" if name == "project" else ""))
        except ValueError:
            merged[f"_raw_{name}"] = text
    return tags_json(merged)


def _token_type(sku: pl.Expr) -> pl.Expr:
    """Vertex AI / Gemini SKUs, e.g. `Gemini 1.5 Flash Input Tokens`, `... Cached Input ...`."""
    name = sku.str.to_lowercase()
    return (
        pl.when(~name.str.contains("token|character"))
        .then(None)
        .when(name.str.contains("cache"))
        .then(pl.lit("cache_read"))
        .when(name.str.contains("input"))
        .then(pl.lit("input_uncached"))
        .when(name.str.contains("output"))
        .then(pl.lit("output"))
        .otherwise(pl.lit("other"))
    )
