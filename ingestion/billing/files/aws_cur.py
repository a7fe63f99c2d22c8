"""AWS Cost and Usage Reports → canonical billing line items.

Reads legacy CUR (`lineItem/UnblendedCost` headers, one `resourceTags/user:Key` column per tag,
assembly folders with `*-Manifest.json`), its Athena/Parquet snake_case flavour, and CUR 2.0
(Data Exports: snake_case, `product`/`resource_tags`/... maps as JSON text in CSV or Parquet
maps). All spellings are matched on one key: lower case with everything but [a-z0-9] removed,
so `reservation/ReservationARN` and `reservation_reservation_a_r_n` are the same column.

Money: billed = unblended; effective = the CUDOS amortisation by line item type; list = public
on-demand cost; contracted = net unblended (else unblended), and for commitment-covered usage
the public on-demand cost (the pre-commitment price; CUR has no negotiated rate for it).
Charge categories (FOCUS): usage lines (incl. SavingsPlanNegation, which nets covered usage to
what was paid) → Usage; fees → Purchase; Tax → Tax; Credit, Refund (class Correction) and the
provider-granted discount lines (EdpDiscount, PrivateRateDiscount, BundledDiscount, ...) →
Credit; any unknown type → Adjustment, flagged in conformance_issues.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingestion.billing.files.assemble import (
    Delivery,
    Header,
    Mapper,
    alnum_key,
    currency,
    delivery_for,
    finish,
    open_export,
    unknown_value,
    usd_rate,
)
from ingestion.billing.files.tags import map_value, normalise_tags
from ingestion.billing.files.values import MONEY, json_object, next_month, per_unique
from ingestion.billing.schema import BillingParse

SOURCE = "aws-cur"
USAGE = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage", "SavingsPlanNegation")
PURCHASE = ("Fee", "RIFee", "SavingsPlanUpfrontFee", "SavingsPlanRecurringFee")
DISCOUNTS = ("BundledDiscount", "EdpDiscount", "PrivateRateDiscount", "Discount",
             "DistributorDiscount", "SppDiscount")  # fmt: skip
CATEGORY = {
    **dict.fromkeys(USAGE, "Usage"),
    **dict.fromkeys(PURCHASE, "Purchase"),
    "Tax": "Tax",
    **dict.fromkeys(("Credit", "Refund", *DISCOUNTS), "Credit"),
}
FREQUENCY = {
    **dict.fromkeys(USAGE, "Usage-Based"),
    **dict.fromkeys(("RIFee", "SavingsPlanRecurringFee"), "Recurring"),
    **dict.fromkeys(("Fee", "SavingsPlanUpfrontFee"), "One-Time"),
}
SERVICES = {  # product codes with an obvious FOCUS ServiceCategory; the rest are "Other"
    "AI and Machine Learning": (
        "AmazonBedrock", "AmazonSageMaker", "AmazonComprehend", "AmazonRekognition",
        "AmazonTextract", "AmazonTranscribe", "AmazonPolly", "AmazonTranslate", "AmazonQ",
        "AmazonKendra", "AmazonLex", "AmazonPersonalize", "AmazonForecast",
    ),
    "Compute": (
        "AmazonEC2", "AWSLambda", "AmazonECS", "AmazonEKS", "AWSFargate", "AmazonLightsail",
        "ComputeSavingsPlans", "ElasticMapReduce",
    ),
    "Storage": ("AmazonS3", "AmazonEFS", "AmazonGlacier", "AmazonFSx", "AWSBackup"),
    "Databases": (
        "AmazonRDS", "AmazonDynamoDB", "AmazonElastiCache", "AmazonRedshift", "AmazonDocDB",
    ),
    "Networking": (
        "AmazonVPC", "AmazonCloudFront", "AmazonRoute53", "AWSDataTransfer", "AWSELB",
    ),
    "Management and Governance": ("AmazonCloudWatch", "AWSConfig", "AWSCloudTrail"),
}  # fmt: skip
SERVICE_CATEGORY = {code: cat for cat, codes in SERVICES.items() for code in codes}
TOKEN_TYPES = (  # Bedrock usage types, e.g. USE1-Claude3.5Sonnet-input-tokens-cache-read
    ("cache-read", "cache_read"),
    ("cache-write", "cache_write"),
    ("input-token", "input_uncached"),
    ("output-token", "output"),
)
REQUIRED = {
    "bill/PayerAccountId": ("bill_payer_account_id",),
    "bill/BillingPeriodStartDate": ("bill_billing_period_start_date",),
    "lineItem/LineItemType": ("line_item_line_item_type",),
    "lineItem/UsageStartDate": ("line_item_usage_start_date", "identity_time_interval"),
    "lineItem/UnblendedCost": ("line_item_unblended_cost",),
    "lineItem/CurrencyCode": ("line_item_currency_code",),
}


def parse(path: Path, *, delivery: Delivery | None = None) -> BillingParse:
    """Parse one CUR file (legacy or 2.0; CSV, gzip CSV or Parquet)."""
    path, rows, h, m = open_export(path, "AWS CUR", REQUIRED, key=alnum_key)
    kind = m.text("lineItem/LineItemType", h.col("line_item_line_item_type"), required=True)
    interval = h.col("identity_time_interval").str.split("/")
    start = pl.coalesce(h.col("line_item_usage_start_date"), interval.list.get(0, null_on_oob=True))
    end = pl.coalesce(h.col("line_item_usage_end_date"), interval.list.get(1, null_on_oob=True))
    period_start = m.timestamp(
        "bill/BillingPeriodStartDate", h.col("bill_billing_period_start_date"), required=True
    )
    period_end = m.timestamp("bill/BillingPeriodEndDate", h.col("bill_billing_period_end_date"))
    code = currency(
        m.text("lineItem/CurrencyCode", h.col("line_item_currency_code"), required=True)
    )
    billed = m.money("lineItem/UnblendedCost", h.col("line_item_unblended_cost"), required=True)
    public = m.money("pricing/publicOnDemandCost", h.col("pricing_public_on_demand_cost"))
    net = m.money("lineItem/NetUnblendedCost", h.col("line_item_net_unblended_cost"))
    covered = kind.is_in(["DiscountedUsage", "SavingsPlanCoveredUsage"])
    ri_arn, sp_arn = h.col("reservation_reservation_arn"), h.col("savings_plan_savings_plan_arn")
    product_code = h.col("line_item_product_code")
    usage_type = h.col("line_item_usage_type")
    amount = m.number("lineItem/UsageAmount", h.col("line_item_usage_amount"))
    term = h.peek("pricing_term")
    mapped: dict[str, pl.Expr] = {
        "billing_account_id": m.text(
            "bill/PayerAccountId", h.col("bill_payer_account_id"), required=True
        ),
        "billing_account_name": h.col("bill_payer_account_name"),
        "sub_account_id": h.col("line_item_usage_account_id"),
        "sub_account_name": h.col("line_item_usage_account_name"),
        "billing_period_start": period_start,
        "billing_period_end": pl.coalesce(period_end, next_month(period_start)),
        "charge_period_start": m.timestamp("lineItem/UsageStartDate", start, required=True),
        "charge_period_end": m.timestamp("lineItem/UsageEndDate", end),
        "invoice_id": h.col("bill_invoice_id"),
        "charge_category": kind.replace_strict(CATEGORY, default="Adjustment"),
        "charge_class": pl.when((kind == "Refund") | (h.peek("bill_bill_type") == "Refund")).then(
            pl.lit("Correction")
        ),
        "charge_description": h.col("line_item_line_item_description"),
        "charge_frequency": kind.replace_strict(FREQUENCY, default=None),
        "pricing_category": pl.when(covered)
        .then(pl.lit("Committed"))
        .when(usage_type.str.contains("SpotUsage") | (term == "Spot"))
        .then(pl.lit("Dynamic"))
        .when(term == "OnDemand")
        .then(pl.lit("Standard"))
        .when(term == "Reserved")
        .then(pl.lit("Committed")),
        "billed_cost": billed,
        "effective_cost": _effective_cost(h, m, kind, billed),
        "list_cost": public,
        "contracted_cost": pl.when(covered).then(public).otherwise(pl.coalesce(net, billed)),
        "billing_currency": code,
        "usd_exchange_rate": usd_rate(code),
        "pricing_quantity": amount,
        "pricing_unit": h.col("pricing_unit"),
        "consumed_quantity": amount,
        "consumed_unit": h.col("pricing_unit"),
        "provider_name": pl.lit("AWS"),
        "publisher_name": pl.when(h.peek("bill_billing_entity") == "AWS Marketplace")
        .then(h.peek("line_item_legal_entity"))
        .otherwise(pl.lit("AWS")),
        "invoice_issuer_name": h.col("bill_invoicing_entity"),
        "service_name": pl.coalesce(
            h.col("product_product_name"),
            per_unique(h.peek("product"), lambda t: map_value(t, "product_name")),
            product_code,
        ),
        "service_category": product_code.replace_strict(SERVICE_CATEGORY, default="Other"),
        "resource_id": h.col("line_item_resource_id"),
        "region_id": pl.coalesce(h.col("product_region_code"), h.col("product_region")),
        "region_name": h.col("product_location"),
        "availability_zone": h.col("line_item_availability_zone"),
        "sku_id": h.col("product_sku"),
        "sku_price_id": h.col("pricing_rate_id"),
        "commitment_discount_id": pl.coalesce(sp_arn, ri_arn),
        "commitment_discount_status": pl.when(covered).then(pl.lit("Used")),
        "tags": _tags(h),
        "model": pl.coalesce(
            h.col("product_model"),
            per_unique(h.peek("product"), lambda t: map_value(t, "model")),
        ),
        "token_type": _token_type(product_code, usage_type),
    }
    issues = [unknown_value(kind, CATEGORY, "LineItemType")]
    return finish(
        rows,
        mapped,
        delivery=delivery or delivery_for(path, SOURCE),
        header=h,
        mapper=m,
        issues=issues,
    )


def _effective_cost(h: Header, m: Mapper, kind: pl.Expr, billed: pl.Expr) -> pl.Expr:
    """Amortised cost per line item type (the CUDOS formula); NULL when a needed column is
    absent from the file, an empty cell in a present column counts as 0."""

    def part(label: str, column: str) -> pl.Expr:
        if h.find(column) is None:
            return pl.lit(None, MONEY)
        return m.money(label, h.col(column)).fill_null(pl.lit(0).cast(MONEY))

    zero = pl.lit(0).cast(MONEY)
    sp_total = part("savingsPlan/TotalCommitmentToDate", "savings_plan_total_commitment_to_date")
    sp_used = part("savingsPlan/UsedCommitment", "savings_plan_used_commitment")
    ri_upfront = part(
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
        "reservation_unused_amortized_upfront_fee_for_billing_period",
    )
    ri_recurring = part("reservation/UnusedRecurringFee", "reservation_unused_recurring_fee")
    return (
        pl.when(kind == "SavingsPlanCoveredUsage")
        .then(
            part("savingsPlan/SavingsPlanEffectiveCost", "savings_plan_savings_plan_effective_cost")
        )
        .when(kind == "SavingsPlanRecurringFee")
        .then(sp_total - sp_used)
        .when(kind.is_in(["SavingsPlanNegation", "SavingsPlanUpfrontFee"]))
        .then(zero)
        .when(kind == "DiscountedUsage")
        .then(part("reservation/EffectiveCost", "reservation_effective_cost"))
        .when(kind == "RIFee")
        .then(ri_upfront + ri_recurring)
        .when((kind == "Fee") & h.col("reservation_reservation_arn").is_not_null())
        .then(zero)
        .otherwise(billed)
        .cast(MONEY)
    )


def _tags(h: Header) -> pl.Expr:
    """CUR 2.0 `resource_tags` map, or legacy one-column-per-tag (`resourceTags/user:Team`,
    Athena `resource_tags_user_team`): keys as the source spells them minus the prefix."""
    legacy = {}
    for column in h.columns:
        for prefix in ("resourceTags/", "resource_tags_"):
            if column.startswith(prefix):
                legacy[column[len(prefix) :]] = pl.col(column)
                h.used.add(column)
    if legacy:
        return json_object(legacy)
    return per_unique(h.col("resource_tags"), normalise_tags)


def _token_type(product_code: pl.Expr, usage_type: pl.Expr) -> pl.Expr:
    lowered = usage_type.str.to_lowercase()
    out = pl.lit(None, pl.String)
    for needle, token in reversed(TOKEN_TYPES):
        out = pl.when(lowered.str.contains(needle, literal=True)).then(pl.lit(token)).otherwise(out)
    return pl.when(product_code == "AmazonBedrock").then(out)
