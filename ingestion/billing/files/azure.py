"""Azure Cost Management cost-details exports (EA and MCA, actual and amortized) → line items.

Header dialects are matched on one key (lower case, only [a-z0-9]): 2019 camelCase
(`usageDateTime`, `preTaxCost`), PascalCase EA (`Date`, `Cost`), v2 (`CostInBillingCurrency`,
`BillingCurrencyCode`) and v2 camelCase all land on the same columns.

Actual and amortized cost are two measures of the same charges and are never unioned: each file
is one `dataset` (from an `amortized`/`actual` word in its path, else amortized when it holds
UnusedReservation/UnusedSavingsPlan rows, else actual), recorded in `extra` and in the delivery
key `azure|{billing account}|{YYYY-MM}|{dataset}`. In both, billed_cost and effective_cost are
the file's cost column; use the amortized dataset for effective views, the actual one to
reconcile invoices. Charge categories follow Microsoft's own FOCUS conversion: Purchase and
Refund (class Correction) → Purchase, Usage/UnusedReservation/UnusedSavingsPlan → Usage,
RoundingAdjustment → Adjustment, Tax → Tax.
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
from ingestion.billing.files.tags import normalise_tags
from ingestion.billing.files.values import MONEY, month_start, next_month, per_unique
from ingestion.billing.schema import BillingParse

SOURCE = "azure"
COST = ("CostInBillingCurrency", "Cost", "PreTaxCost", "ExtendedCost")
DATE = ("Date", "UsageDateTime", "UsageDate")
CURRENCY = ("BillingCurrency", "BillingCurrencyCode", "Currency", "CurrencyCode")
ACCOUNT = ("BillingAccountId", "EnrollmentNumber", "BillingProfileId", "SubscriptionId",
           "SubscriptionGuid")  # fmt: skip
REQUIRED = {"Cost": COST, "Date": DATE, "BillingCurrency": CURRENCY, "BillingAccountId": ACCOUNT}
CATEGORY = {
    "Usage": "Usage",
    "UnusedReservation": "Usage",
    "UnusedSavingsPlan": "Usage",
    "Purchase": "Purchase",
    "Refund": "Purchase",
    "RoundingAdjustment": "Adjustment",
    "Tax": "Tax",
    "Credit": "Credit",
}
FREQUENCY = {"UsageBased": "Usage-Based", "OneTime": "One-Time", "Recurring": "Recurring"}
PRICING = {"OnDemand": "Standard", "Reservation": "Committed", "SavingsPlan": "Committed",
           "Spot": "Dynamic"}  # fmt: skip
AI_METERS = ("Cognitive Services", "Azure OpenAI", "Azure OpenAI Service", "Azure AI Services",
             "Azure Machine Learning", "Machine Learning", "Foundry Models")  # fmt: skip
SERVICES = {
    "Compute": ("Virtual Machines", "Virtual Machines Licenses", "Functions",
                "Container Instances", "Azure Kubernetes Service", "Azure Container Apps"),
    "Storage": ("Storage", "Backup"),
    "Databases": ("SQL Database", "Azure Cosmos DB", "Azure Database for PostgreSQL",
                  "Azure Database for MySQL", "Redis Cache"),
    "Networking": ("Bandwidth", "Virtual Network", "Load Balancer", "Azure DNS",
                   "Content Delivery Network", "Application Gateway"),
}  # fmt: skip
SERVICE_CATEGORY = {m: cat for cat, meters in SERVICES.items() for m in meters}


def parse(path: Path, *, delivery: Delivery | None = None) -> BillingParse:
    """Parse one Azure cost-details export file (CSV or gzip CSV, any header dialect)."""
    path, rows, h, m = open_export(path, "Azure cost details", REQUIRED, key=alnum_key)
    charge_type = h.col("ChargeType")
    dataset = _dataset(path, rows.frame, h.find("ChargeType"))
    code = currency(m.text("BillingCurrency", h.col(*CURRENCY), required=True))
    cost = m.money("Cost", h.col(*COST), required=True)
    day = m.timestamp("Date", h.col(*DATE), required=True)
    quantity = m.number("Quantity", h.col("Quantity", "UsageQuantity", "ConsumedQuantity"))
    period_start = m.timestamp("BillingPeriodStartDate", h.col("BillingPeriodStartDate"))
    period_end = m.timestamp("BillingPeriodEndDate", h.col("BillingPeriodEndDate"))
    pricing_model = h.col("PricingModel")
    meter_category = h.col("MeterCategory")
    meter_sub = h.col("MeterSubCategory")
    meter_name = h.col("MeterName")
    committed = pricing_model.is_in(["Reservation", "SavingsPlan"])
    unused = charge_type.is_in(["UnusedReservation", "UnusedSavingsPlan"])
    is_ai = (
        meter_category.is_in(AI_METERS)
        | meter_category.str.contains("OpenAI")
        | meter_sub.str.contains("OpenAI")
    ).fill_null(False)
    mapped: dict[str, pl.Expr] = {
        "billing_account_id": m.text("BillingAccountId", h.col(*ACCOUNT), required=True),
        "billing_account_name": h.col("BillingAccountName"),
        "sub_account_id": h.col("SubscriptionId", "SubscriptionGuid"),
        "sub_account_name": h.col("SubscriptionName"),
        # exports without billing-period columns (2019 dialect): the calendar month of the charge
        "billing_period_start": pl.coalesce(period_start, month_start(day)),
        # Azure writes the period's last day (inclusive); FOCUS ends are exclusive
        "billing_period_end": pl.coalesce(
            period_end.dt.offset_by("1d"), next_month(pl.coalesce(period_start, month_start(day)))
        ),
        "charge_period_start": day,
        "charge_period_end": day.dt.offset_by("1d"),
        "invoice_id": h.col("InvoiceId"),
        "charge_category": (
            pl.lit("Usage")
            if h.find("ChargeType") is None
            else charge_type.replace_strict(CATEGORY, default="Adjustment")
        ),
        "charge_class": pl.when(charge_type == "Refund").then(pl.lit("Correction")),
        "charge_description": pl.coalesce(h.col("ProductName", "Product"), meter_name),
        "charge_frequency": h.col("Frequency").replace_strict(FREQUENCY, default=None),
        "pricing_category": pricing_model.replace_strict(PRICING, default=None),
        "billed_cost": cost,
        "effective_cost": cost,
        "list_cost": pl.coalesce(
            m.money("PaygCostInBillingCurrency", h.col("PaygCostInBillingCurrency")),
            (m.money("PayGPrice", h.col("PayGPrice", "PayGPriceInBillingCurrency")) * _q(quantity)),
        ).cast(MONEY),
        "contracted_cost": (
            m.money("UnitPrice", h.col("UnitPrice", "ResourceRate")) * _q(quantity)
        ).cast(MONEY),
        "billing_currency": code,
        "usd_exchange_rate": usd_rate(code, _exchange_rate(h, m)),
        "pricing_quantity": quantity,
        "pricing_unit": h.col("UnitOfMeasure").str.strip_chars(),
        "consumed_quantity": quantity,
        "provider_name": pl.lit("Microsoft"),
        "publisher_name": pl.coalesce(h.col("PublisherName"), pl.lit("Microsoft")),
        "invoice_issuer_name": pl.lit("Microsoft"),
        "service_name": pl.coalesce(meter_category, h.col("ConsumedService")),
        "service_category": pl.when(is_ai)
        .then(pl.lit("AI and Machine Learning"))
        .otherwise(meter_category.replace_strict(SERVICE_CATEGORY, default="Other")),
        "service_subcategory": meter_sub,
        "resource_id": h.col("ResourceId", "InstanceId"),
        "resource_name": h.col("ResourceName"),
        "region_name": h.col("ResourceLocation", "MeterRegion"),
        "availability_zone": h.col("AvailabilityZone"),
        "sku_id": h.col("MeterId"),
        "sku_price_id": h.col("PartNumber"),
        "commitment_discount_id": h.col("BenefitId", "ReservationId"),
        "commitment_discount_status": pl.when(unused)
        .then(pl.lit("Unused"))
        .when(committed & (charge_type == "Usage"))
        .then(pl.lit("Used")),
        "tags": per_unique(h.col("Tags"), normalise_tags),
        "token_type": pl.when(is_ai).then(_token_type(meter_name)),
    }
    issues = [unknown_value(charge_type, CATEGORY, "ChargeType")]
    return finish(
        rows,
        mapped,
        delivery=delivery or delivery_for(path, SOURCE),
        header=h,
        mapper=m,
        issues=issues,
        extra={"dataset": pl.lit(dataset)},
        key_suffix=[pl.lit(dataset)],
    )


def _q(quantity: pl.Expr) -> pl.Expr:
    # Quantity is a float measure; prices × quantity are estimates, not invoice amounts
    return quantity.cast(pl.String).cast(MONEY, strict=False)


def _dataset(path: Path, frame: pl.DataFrame, charge_type: str | None) -> str:
    where = "/".join(path.parts[-4:]).lower()  # file, run, period and export folder names
    if "amortized" in where or "amortised" in where:
        return "amortized"
    if "actual" in where:
        return "actual"
    if charge_type is not None:
        kinds = frame.get_column(charge_type)
        if kinds.is_in(["UnusedReservation", "UnusedSavingsPlan"]).any():
            return "amortized"
    return "actual"


def _exchange_rate(h: Header, m: Mapper) -> pl.Expr | None:
    """v2 `ExchangeRatePricingToBilling` is billing units per pricing unit: a USD rate only when
    the pricing currency is USD (then USD per billing unit = 1 / rate)."""
    column = h.find("ExchangeRatePricingToBilling")
    if column is None:
        return None
    rate = m.number("ExchangeRatePricingToBilling", pl.col(column))
    pricing = h.peek("PricingCurrency", "PricingCurrencyCode").str.to_uppercase()
    return pl.when((pricing == "USD") & (rate > 0)).then(1.0 / rate)


def _token_type(meter_name: pl.Expr) -> pl.Expr:
    """Azure OpenAI meters, e.g. `gpt-4o-0806-Inp-glbl Tokens`, `... cached Inp ...`."""
    name = meter_name.str.to_lowercase()
    return (
        pl.when(~name.str.contains("token"))
        .then(None)
        .when(name.str.contains("cached|cchd"))
        .then(pl.lit("cache_read"))
        .when(name.str.contains(r"\binp|input"))
        .then(pl.lit("input_uncached"))
        .when(name.str.contains(r"\boutp|output"))
        .then(pl.lit("output"))
        .otherwise(pl.lit("other"))
    )
