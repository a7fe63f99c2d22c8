"""FOCUS 1.0–1.3 cost exports (CSV, gzip CSV, Parquet) → canonical billing line items.

Columns bind by name (real exports come alphabetical, with a non-spec `Id` and `x_` columns);
1.3's ServiceProviderName/HostProviderName are accepted beside ProviderName/PublisherName.
Rows that break FOCUS rules but can still be used load with `conformance_issues`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingestion.billing.files.assemble import (
    Delivery,
    Header,
    Mapper,
    currency,
    delivery_for,
    enum_value,
    finish,
    issue,
    open_export,
    usd_rate,
)
from ingestion.billing.files.tags import normalise_tags
from ingestion.billing.files.values import per_unique
from ingestion.billing.schema import CHARGE_CATEGORIES, BillingParse

SOURCE = "focus"
REQUIRED = {
    "BilledCost": ("BilledCost",),
    "BillingCurrency": ("BillingCurrency",),
    "ChargeCategory": ("ChargeCategory",),
    "BillingAccountId": ("BillingAccountId",),
    "BillingPeriodStart": ("BillingPeriodStart",),
    "BillingPeriodEnd": ("BillingPeriodEnd",),
    "ChargePeriodStart": ("ChargePeriodStart",),
    "ChargePeriodEnd": ("ChargePeriodEnd",),
}
TEXT = {
    "billing_account_name": "BillingAccountName",
    "sub_account_id": "SubAccountId",
    "sub_account_name": "SubAccountName",
    "invoice_id": "InvoiceId",
    "charge_description": "ChargeDescription",
    "pricing_unit": "PricingUnit",
    "consumed_unit": "ConsumedUnit",
    "invoice_issuer_name": "InvoiceIssuerName",
    "service_name": "ServiceName",
    "service_subcategory": "ServiceSubcategory",
    "resource_id": "ResourceId",
    "resource_name": "ResourceName",
    "resource_type": "ResourceType",
    "region_id": "RegionId",
    "region_name": "RegionName",
    "availability_zone": "AvailabilityZone",
    "sku_id": "SkuId",
    "sku_price_id": "SkuPriceId",
    "commitment_discount_id": "CommitmentDiscountId",
}
ENUMS = {
    "charge_class": ("ChargeClass", ("Correction",)),
    "charge_frequency": ("ChargeFrequency", ("One-Time", "Recurring", "Usage-Based")),
    "pricing_category": ("PricingCategory", ("Standard", "Dynamic", "Committed", "Other")),
    "commitment_discount_status": ("CommitmentDiscountStatus", ("Used", "Unused")),
    "service_category": (
        "ServiceCategory",
        (
            "AI and Machine Learning", "Analytics", "Business Applications", "Compute",
            "Databases", "Developer Tools", "Multicloud", "Identity", "Integration",
            "Internet of Things", "Management and Governance", "Media", "Migration", "Mobile",
            "Networking", "Security", "Storage", "Web", "Other",
        ),
    ),
}  # fmt: skip


def parse(path: Path, *, delivery: Delivery | None = None) -> BillingParse:
    """Parse one FOCUS export file; raises ValueError when it has no usable FOCUS header."""
    path, rows, h, m = open_export(path, "FOCUS", REQUIRED)
    currency_code = currency(m.text("BillingCurrency", h.col("BillingCurrency"), required=True))
    billed = m.money("BilledCost", h.col("BilledCost"), required=True)
    costs = {
        name: m.money(column, h.col(column))
        for name, column in (
            ("effective_cost", "EffectiveCost"),
            ("list_cost", "ListCost"),
            ("contracted_cost", "ContractedCost"),
        )
    }
    category, issues = enum_value(
        m.text("ChargeCategory", h.col("ChargeCategory"), required=True),
        CHARGE_CATEGORIES,
        "ChargeCategory",
    )
    mapped: dict[str, pl.Expr] = {
        "billing_account_id": m.text("BillingAccountId", h.col("BillingAccountId"), required=True),
        "charge_category": category,
        "billed_cost": billed,
        **costs,
        "billing_currency": currency_code,
        "usd_exchange_rate": usd_rate(currency_code, _exchange_rate(h, m)),
        "pricing_quantity": m.number("PricingQuantity", h.col("PricingQuantity")),
        "consumed_quantity": m.number("ConsumedQuantity", h.col("ConsumedQuantity")),
        "provider_name": pl.coalesce(h.col("ServiceProviderName"), h.col("ProviderName")),
        "publisher_name": pl.coalesce(h.col("PublisherName"), h.col("HostProviderName")),
        "tags": per_unique(h.col("Tags"), normalise_tags),
    }
    issues.append(issue(mapped["tags"].str.starts_with('{"_raw"'), "Tags not a JSON object"))
    for column in (
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "ChargePeriodStart",
        "ChargePeriodEnd",
    ):
        target = "_".join(("billing" if column.startswith("Billing") else "charge",
                           "period", "start" if column.endswith("Start") else "end"))  # fmt: skip
        mapped[target] = m.timestamp(column, h.col(column), required=True)
    mapped.update({name: h.col(column) for name, column in TEXT.items()})
    for name, (column, allowed) in ENUMS.items():
        mapped[name], found = enum_value(h.col(column), allowed, column)
        issues += found
    issues += _rule_issues(mapped, h)
    return finish(
        rows,
        mapped,
        delivery=delivery or delivery_for(path, SOURCE),
        header=h,
        mapper=m,
        issues=issues,
    )


def _exchange_rate(h: Header, m: Mapper) -> pl.Expr | None:
    """Azure's x_BillingExchangeRate converts pricing → billing currency; it is a USD rate only
    when the pricing currency is USD (then USD per billing unit = 1 / rate)."""
    rate_col = h.find("x_BillingExchangeRate")
    if rate_col is None:
        return None
    rate = m.number("x_BillingExchangeRate", pl.col(rate_col))
    pricing = pl.coalesce(h.peek("PricingCurrency"), h.peek("x_PricingCurrency")).str.to_uppercase()
    return pl.when((pricing == "USD") & (rate > 0)).then(1.0 / rate)


def _rule_issues(mapped: dict[str, pl.Expr], h: Header) -> list[pl.Expr]:
    """FOCUS rules seen broken in real exports: flagged, never rejected."""
    category, billed = mapped["charge_category"], mapped["billed_cost"]
    effective = mapped["effective_cost"]
    out = [
        issue(h.col("RegionId").is_null() & h.col("RegionName").is_not_null(), "RegionId missing")
        if h.find("RegionName")
        else None,
        issue(
            (category == "Usage") & (billed < 0) & mapped["charge_class"].is_null(),
            "negative Usage row without ChargeClass",
        ),
        issue(
            (category != "Purchase") & (effective == 0) & (billed > 0),
            "EffectiveCost 0 while BilledCost > 0",
        ),
        issue(
            mapped["charge_period_start"] < mapped["billing_period_start"],
            "ChargePeriodStart before BillingPeriodStart",
        ),
        issue(
            mapped["billing_currency"].str.contains(r"^[A-Z]{3}$").not_(),
            "BillingCurrency not ISO 4217",
        ),
    ]
    for name, column in (("effective_cost", "EffectiveCost"), ("list_cost", "ListCost"),
                         ("contracted_cost", "ContractedCost")):  # fmt: skip
        out.append(issue(mapped[name].is_null(), f"{column} missing"))
    if not h.find("ServiceProviderName", "ProviderName"):
        out.append(issue(pl.lit(True), "ProviderName missing"))
    return [e for e in out if e is not None]
