"""FOCUS 1.2 CSV exports, one file per delivery, each in its provider's dialect: AWS gzipped
with ISO `Z` times; Azure in EUR with a BOM, every field quoted and FX `x_` columns; GCP with
alphabetical columns, `YYYY-MM-DD HH:MM:SS` times, `NULL` tokens and E-notation for tiny values."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import orjson

from bimo.demo.billing.accounts import SAVINGS_PLAN
from bimo.demo.billing.cloud import MONEY, PAYER, Charge, Delivery, month_end
from bimo.demo.billing.truth import fmt, sums
from bimo.demo.files import write_bytes

# FOCUS 1.2: the 57 columns, grouped as the specification groups them.
FOCUS_COLUMNS = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ListUnitPrice",
    "ContractedUnitPrice", "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice",
    "PricingCurrencyContractedUnitPrice", "PricingQuantity", "PricingUnit", "PricingCategory",
    "PricingCurrency", "ConsumedQuantity", "ConsumedUnit", "BillingCurrency",
    "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "BillingAccountId", "BillingAccountName", "BillingAccountType", "SubAccountId",
    "SubAccountName", "SubAccountType", "InvoiceId", "InvoiceIssuerName",
    "ProviderName", "PublisherName", "ServiceName", "ServiceCategory", "ServiceSubcategory",
    "SkuId", "SkuPriceId", "SkuMeter", "SkuPriceDetails",
    "ResourceId", "ResourceName", "ResourceType", "RegionId", "RegionName", "AvailabilityZone",
    "Tags",
    "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountCategory",
    "CommitmentDiscountType", "CommitmentDiscountStatus", "CommitmentDiscountQuantity",
    "CommitmentDiscountUnit", "CapacityReservationId", "CapacityReservationStatus",
)  # fmt: skip
X_COLUMNS = {
    "aws": ("x_ServiceCode", "x_UsageType", "x_Operation"),
    "azure": ("x_BillingProfileId", "x_BillingExchangeRate", "x_BilledCostInUsd",
              "x_EffectiveCostInUsd", "x_ResourceGroupName", "x_SkuMeterCategory"),
    "gcp": ("x_ServiceId", "x_ExportTime"),
}  # fmt: skip
FREQUENCY = {"purchase": "Recurring", "usage": "Usage-Based", "covered": "Usage-Based",
             "unused": "Usage-Based"}  # fmt: skip
PRICING = {
    "usage": "Standard",
    "covered": "Committed",
    "unused": "Committed",
    "purchase": "Standard",
}


def invoice_id(cloud: str, period: date) -> str:
    h = int(hashlib.sha256(f"{cloud}:{period}".encode()).hexdigest(), 16)
    return {"aws": f"{h % 10**10:010d}", "azure": f"E0600{h % 36**5:07X}"[:12]}.get(
        cloud, f"5{h % 10**9:09d}"
    )


def _stamp(value: datetime, cloud: str) -> str:
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    return text if cloud == "gcp" else text.replace(" ", "T") + "Z"


def _num(value: Decimal | None, cloud: str) -> str | None:
    if value is None:
        return None
    if cloud == "gcp" and value and abs(value) < Decimal("0.0001"):
        return f"{value.normalize():E}"  # what BigQuery-to-CSV dumps do to tiny numbers
    return fmt(value)


def row(c: Charge, d: Delivery) -> dict[str, str | None]:
    """One FOCUS row (values as the file will hold them, None for NULL)."""
    cloud, res, rate = d.cloud, c.res, c.rate

    def bill(x: Decimal | None) -> str | None:
        return None if x is None else _num((x * rate).quantize(MONEY), cloud.key)

    sub = (cloud.account_id, cloud.account_name) if c.sub == PAYER else cloud.subs[c.sub]
    unit_price = Decimal(str(res.price)) if res else None
    contracted_price = (
        (unit_price * Decimal(str(1 - cloud.contract_discount))).quantize(MONEY)
        if res and c.kind == "usage"
        else unit_price
    )
    if c.kind == "purchase":
        unit_price = contracted_price = Decimal(str(SAVINGS_PLAN["hourly"]))
    commitment = c.kind in ("covered", "unused", "purchase")
    resource_id = SAVINGS_PLAN["id"] if c.kind == "purchase" else (res.resource if res else None)
    resource_type = "Savings Plan" if c.kind == "purchase" else (res.resource_type if res else None)
    committed = c.billed if c.kind == "purchase" else c.effective
    out = {
        "BilledCost": bill(c.billed),
        "EffectiveCost": bill(c.effective),
        "ListCost": bill(c.list_cost),
        "ContractedCost": bill(c.contracted),
        "ListUnitPrice": bill(unit_price),
        "ContractedUnitPrice": bill(contracted_price),
        "PricingQuantity": _num(c.qty, cloud.key),
        "PricingUnit": res.unit if res and c.qty is not None else ("Hours" if c.qty else None),
        "PricingCategory": PRICING.get(c.kind),
        "ConsumedQuantity": _num(c.qty * res.per_unit, cloud.key) if res and c.qty else None,
        "ConsumedUnit": res.consumed_unit if res and c.qty else None,
        "BillingCurrency": cloud.currency,
        "BillingPeriodStart": _stamp(datetime.combine(d.period, datetime.min.time()), cloud.key),
        "BillingPeriodEnd": _stamp(
            datetime.combine(month_end(d.period), datetime.min.time()), cloud.key
        ),
        "ChargePeriodStart": _stamp(c.start, cloud.key),
        "ChargePeriodEnd": _stamp(c.end, cloud.key),
        "ChargeCategory": c.category,
        "ChargeClass": "Correction" if c.kind == "refund" else None,
        "ChargeDescription": c.description,
        "ChargeFrequency": FREQUENCY.get(c.kind, "One-Time"),
        "BillingAccountId": cloud.account_id,
        "BillingAccountName": cloud.account_name,
        "BillingAccountType": cloud.account_type,
        "SubAccountId": sub[0],
        "SubAccountName": sub[1],
        "SubAccountType": cloud.sub_type,
        "InvoiceId": invoice_id(cloud.key, d.period) if d.closed else None,
        "InvoiceIssuerName": cloud.invoice_issuer,
        "ProviderName": cloud.provider,
        "PublisherName": cloud.provider,
        "ServiceName": c.service[0],
        "ServiceCategory": c.service[1],
        "ServiceSubcategory": c.service[2],
        "SkuId": res.sku if res else None,
        "SkuPriceId": f"{res.sku}.{res.region}.{len(res.meter):02d}" if res else None,
        "SkuMeter": res.meter if res else None,
        "SkuPriceDetails": orjson.dumps(res.details).decode() if res and res.details else None,
        "ResourceId": resource_id,
        "ResourceName": resource_id.rsplit("/", 1)[-1] if resource_id else None,
        "ResourceType": resource_type,
        "RegionId": res.region if res else None,
        "RegionName": cloud.region_names.get(res.region) if res else None,
        "AvailabilityZone": "us-east-1a" if res and res.resource_type == "Instance" else None,
        "Tags": orjson.dumps(res.tags).decode() if res and res.tags else None,
        "CommitmentDiscountId": SAVINGS_PLAN["id"] if commitment else None,
        "CommitmentDiscountName": SAVINGS_PLAN["name"] if commitment else None,
        "CommitmentDiscountCategory": "Spend" if commitment else None,
        "CommitmentDiscountType": "Compute Savings Plan" if commitment else None,
        "CommitmentDiscountStatus": {"covered": "Used", "unused": "Unused"}.get(c.kind),
        "CommitmentDiscountQuantity": _num(committed, cloud.key) if commitment else None,
        "CommitmentDiscountUnit": "USD" if commitment else None,
    }  # fmt: skip
    if cloud.currency != "USD":
        out |= {
            "PricingCurrency": "USD",
            "PricingCurrencyEffectiveCost": fmt(c.effective),
            "PricingCurrencyListUnitPrice": fmt(unit_price) if unit_price else None,
            "PricingCurrencyContractedUnitPrice": fmt(contracted_price) if res else None,
        }
    out |= _extra(c, d)
    return out


def _extra(c: Charge, d: Delivery) -> dict[str, str | None]:
    res, key = c.res, d.cloud.key
    if key == "aws":
        return {
            "x_ServiceCode": res.code if res else "ComputeSavingsPlans",
            "x_UsageType": res.meter if res else None,
            "x_Operation": res.operation if res else None,
        }
    if key == "azure":
        group = (
            res.resource.split("/resourceGroups/")[1].split("/")[0]
            if res and res.resource
            else None
        )
        return {
            "x_BillingProfileId": d.cloud.account_id.rsplit(":", 1)[-1],
            "x_BillingExchangeRate": fmt(c.rate),
            "x_BilledCostInUsd": fmt(c.billed),
            "x_EffectiveCostInUsd": fmt(c.effective),
            "x_ResourceGroupName": group,
            "x_SkuMeterCategory": res.code if res else None,
        }
    return {"x_ServiceId": res.code if res else None, "x_ExportTime": _stamp(d.delivered_at, key)}


def path_for(out: Path, d: Delivery) -> Path:
    stamp = d.delivered_at.strftime("%Y%m%dT%H%M%SZ")
    if d.cloud.key == "aws":
        folder = f"billing/focus-aws/acme-focus/data/BILLING_PERIOD={d.period:%Y-%m}"
        return out / folder / f"acme-focus-{stamp}-00001.csv.gz"
    if d.cloud.key == "azure":
        run = hashlib.sha256(f"azure-run:{d.delivered_at}".encode()).hexdigest()
        guid = f"{run[:8]}-{run[8:12]}-{run[12:16]}-{run[16:20]}-{run[20:32]}"
        span = f"{d.period:%Y%m%d}-{month_end(d.period):%Y%m%d}"
        return out / "billing/focus-azure/acme-focus-eur" / span / guid / "part_0_0001.csv"
    return out / "billing/focus-gcp" / f"acme_focus_{d.period:%Y%m}_{stamp}.csv"


def write_delivery(out: Path, d: Delivery, lines: list[Charge]) -> dict:
    """Write one delivery file, set its mtime to the delivery time; return its truth entry."""
    key = d.cloud.key
    columns = [*FOCUS_COLUMNS, *X_COLUMNS[key]]
    if key == "gcp":
        columns.sort(key=str.casefold)
    rows = [row(c, d) for c in lines]
    buf = io.StringIO()
    quoting = csv.QUOTE_ALL if key == "azure" else csv.QUOTE_MINIMAL
    writer = csv.writer(buf, quoting=quoting, lineterminator="\r\n" if key == "azure" else "\n")
    writer.writerow(columns)
    null = "NULL" if key == "gcp" else None
    for r in rows:
        writer.writerow([null if r.get(c) is None else r[c] for c in columns])
    data = (("\ufeff" if key == "azure" else "") + buf.getvalue()).encode()
    path = path_for(out, d)
    write_bytes(path, data, mtime=d.delivered_at)
    entry = {
        "file": path.relative_to(out).as_posix(),
        "kind": d.kind,
        "delivered_at": d.delivered_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mtime": int(d.delivered_at.timestamp()),
        "days": [d.days[0].isoformat(), d.days[-1].isoformat()] if d.days else [],
        "partial_day": d.partial.isoformat() if d.partial else None,
        "rows": len(rows),
    }
    entry |= sums(rows, "BillingCurrency", "ChargeCategory", ("BilledCost", "EffectiveCost"))
    by_service = sums(rows, "BillingCurrency", "ServiceCategory", ("BilledCost",))
    entry["billed_cost_by_service_category"] = by_service["billed_cost"]
    if key == "azure":
        usd = sums(rows, "PricingCurrency", "ChargeCategory", ("x_BilledCostInUsd",))
        entry["billed_cost_usd"] = usd["x_billed_cost_in_usd"]
    return entry
