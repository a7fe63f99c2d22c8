"""AWS CUR 2.0 (Data Exports, `COST_AND_USAGE_REPORT`) for one billing period: the same AWS
charges as the FOCUS export, in CUR's own shape (Savings Plan negations, maps as JSON strings)."""

from __future__ import annotations

import csv
import hashlib
import io
from decimal import Decimal
from pathlib import Path

import orjson

from bimo.demo.billing.accounts import SAVINGS_PLAN
from bimo.demo.billing.cloud import PAYER, Charge, Delivery, dt, month_end
from bimo.demo.billing.focus import invoice_id
from bimo.demo.billing.truth import fmt, sums
from bimo.demo.files import write_bytes

COLUMNS = (
    "identity_line_item_id", "identity_time_interval", "bill_invoice_id",
    "bill_invoicing_entity", "bill_bill_type", "bill_billing_entity", "bill_payer_account_id",
    "bill_payer_account_name", "bill_billing_period_start_date", "bill_billing_period_end_date",
    "line_item_usage_account_id", "line_item_usage_account_name", "line_item_line_item_type",
    "line_item_usage_start_date", "line_item_usage_end_date", "line_item_product_code",
    "line_item_usage_type", "line_item_operation", "line_item_availability_zone",
    "line_item_resource_id", "line_item_usage_amount", "line_item_currency_code",
    "line_item_unblended_rate", "line_item_unblended_cost", "line_item_blended_rate",
    "line_item_blended_cost", "line_item_line_item_description", "line_item_tax_type",
    "line_item_legal_entity", "product", "product_product_family", "product_region_code",
    "product_servicecode", "product_sku", "pricing_currency", "pricing_public_on_demand_cost",
    "pricing_public_on_demand_rate", "pricing_term", "pricing_unit",
    "savings_plan_savings_plan_a_r_n", "savings_plan_savings_plan_rate",
    "savings_plan_savings_plan_effective_cost", "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment", "savings_plan_recurring_commitment_for_billing_period",
    "resource_tags", "cost_category", "discount",
)  # fmt: skip
TYPES = {
    "usage": "Usage",
    "covered": "SavingsPlanCoveredUsage",
    "purchase": "SavingsPlanRecurringFee",
    "tax": "Tax",
    "credit": "Credit",
    "refund": "Refund",
}
CODES = {
    "Amazon Elastic Compute Cloud": "AmazonEC2",
    "Amazon Simple Storage Service": "AmazonS3",
    "Amazon Relational Database Service": "AmazonRDS",
    "AWS Data Transfer": "AWSDataTransfer",
    "Amazon Bedrock": "AmazonBedrock",
    "Savings Plans for AWS Compute usage": "ComputeSavingsPlans",
}


def _ts(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _lines(c: Charge, d: Delivery) -> list[dict[str, str]]:
    """The CUR line(s) of one charge: covered usage comes with its negation."""
    cloud, res = d.cloud, c.res
    if c.kind == "unused":
        return []  # in CUR the unused commitment is the fee minus the used commitment
    account = (cloud.account_id, cloud.account_name) if c.sub == PAYER else cloud.subs[c.sub]
    code = res.code if res else CODES[c.service[0]]
    instance = bool(res and res.resource_type == "Instance")
    plan = c.kind == "purchase"
    resource_id = (res.resource or "") if res else (SAVINGS_PLAN["id"] if plan else "")
    tags = {
        f"user_{k.replace('-', '_')}": v for k, v in ((res.tags if res else None) or {}).items()
    }
    base = {
        "identity_time_interval": f"{_ts(c.start)[:19]}Z/{_ts(c.end)[:19]}Z",
        "bill_invoice_id": invoice_id("aws", d.period) if d.closed else "",
        "bill_invoicing_entity": cloud.invoice_issuer,
        "bill_bill_type": "Anniversary",
        "bill_billing_entity": "AWS",
        "bill_payer_account_id": cloud.account_id,
        "bill_payer_account_name": cloud.account_name,
        "bill_billing_period_start_date": _ts(dt(d.period)),
        "bill_billing_period_end_date": _ts(dt(month_end(d.period))),
        "line_item_usage_account_id": account[0],
        "line_item_usage_account_name": account[1],
        "line_item_line_item_type": TYPES[c.kind],
        "line_item_usage_start_date": _ts(c.start),
        "line_item_usage_end_date": _ts(c.end),
        "line_item_product_code": code,
        "line_item_usage_type": res.meter if res else ("ComputeSP:1yrNoUpfront" if plan else ""),
        "line_item_operation": res.operation if res else "",
        "line_item_availability_zone": "us-east-1a" if instance else "",
        "line_item_resource_id": resource_id,
        "line_item_usage_amount": fmt(c.qty) if c.qty is not None else "",
        "line_item_currency_code": "USD",
        "line_item_unblended_cost": fmt(c.billed),
        "line_item_line_item_description": c.description,
        "line_item_tax_type": "USSalesTax" if c.kind == "tax" else "",
        "line_item_legal_entity": cloud.invoice_issuer,
        "product": orjson.dumps(_product(c, code)).decode(),
        "product_product_family": "Compute Instance" if instance else "",
        "product_region_code": res.region if res else "",
        "product_servicecode": code,
        "product_sku": res.sku if res else "",
        "pricing_currency": "USD",
        "pricing_unit": res.unit if res else "",
        "resource_tags": orjson.dumps(tags).decode(),
        "cost_category": "{}",
        "discount": "{}",
    }  # fmt: skip
    if res:
        price = Decimal(str(res.price))
        base |= {
            "line_item_unblended_rate": fmt(price),
            "pricing_public_on_demand_rate": fmt(price),
            "pricing_public_on_demand_cost": fmt(c.list_cost),
            "pricing_term": "OnDemand" if c.kind == "usage" else "Savings Plans",
        }
    if c.kind == "purchase":
        base |= {
            "savings_plan_savings_plan_a_r_n": SAVINGS_PLAN["id"],
            "savings_plan_total_commitment_to_date": fmt(c.billed),
            "savings_plan_used_commitment": fmt(c.used or Decimal(0)),
            "savings_plan_recurring_commitment_for_billing_period": fmt(c.billed),
        }
    if c.kind != "covered":
        return [base]
    base |= {
        "line_item_unblended_cost": fmt(c.list_cost),  # covered usage shows its on-demand cost
        "savings_plan_savings_plan_a_r_n": SAVINGS_PLAN["id"],
        "savings_plan_savings_plan_rate": fmt(c.sp_rate or Decimal(0)),
        "savings_plan_savings_plan_effective_cost": fmt(c.effective),
    }
    negation = base | {
        "line_item_line_item_type": "SavingsPlanNegation",
        "line_item_unblended_cost": fmt(-c.list_cost),
        "line_item_usage_amount": "0",
        "line_item_line_item_description": f"SavingsPlanNegation used by {SAVINGS_PLAN['id']}",
        "savings_plan_savings_plan_effective_cost": "",
        "pricing_public_on_demand_cost": "0",
    }
    return [base, negation]


def _product(c: Charge, code: str) -> dict[str, str]:
    out = {"product_name": c.service[0], "servicecode": code}
    if c.res:
        out |= {"region": c.res.region, "usagetype": c.res.meter}
        if c.res.details and "InstanceType" in c.res.details:
            out["instance_type"] = str(c.res.details["InstanceType"])
    return out


def amortized(line: dict[str, str]) -> Decimal:
    """The usual amortized-cost formula over CUR 2.0 line types (as CUDOS computes it)."""
    kind = line["line_item_line_item_type"]
    if kind == "SavingsPlanCoveredUsage":
        return Decimal(line["savings_plan_savings_plan_effective_cost"])
    if kind == "SavingsPlanRecurringFee":
        used = Decimal(line["savings_plan_used_commitment"])
        return Decimal(line["savings_plan_total_commitment_to_date"]) - used
    if kind in ("SavingsPlanNegation", "SavingsPlanUpfrontFee"):
        return Decimal(0)
    return Decimal(line["line_item_unblended_cost"])


def write_cur(out: Path, d: Delivery, lines: list[Charge]) -> dict:
    """Write the period's CUR 2.0 file (gzip CSV); return its truth entry."""
    rows = [line for c in lines for line in _lines(c, d)]
    for i, r in enumerate(rows):
        h = hashlib.sha256(f"{d.period}:{i}:{r['line_item_usage_type']}".encode()).hexdigest()
        r["identity_line_item_id"] = h[:52]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([r.get(c, "") for c in COLUMNS] for r in rows)
    folder = out / f"billing/aws-cur/acme-cur2/data/BILLING_PERIOD={d.period:%Y-%m}"
    path = folder / "acme-cur2-00001.csv.gz"
    write_bytes(path, buf.getvalue().encode(), mtime=d.delivered_at)
    entry = {
        "file": path.relative_to(out).as_posix(),
        "kind": d.kind,
        "delivered_at": d.delivered_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mtime": int(d.delivered_at.timestamp()),
        "rows": len(rows),
        "amortized_cost": {"USD": fmt(sum((amortized(r) for r in rows), Decimal(0)))},
    }
    totals = sums(
        rows, "line_item_currency_code", "line_item_line_item_type", ("line_item_unblended_cost",)
    )
    return entry | totals
