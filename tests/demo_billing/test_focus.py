"""The FOCUS exports: valid FOCUS 1.2, each provider's dialect, and the open month's deliveries."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bimo.demo.billing.focus import FOCUS_COLUMNS
from tests.demo_billing.support import grand_total, read_csv, totals

MANDATORY = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity", "PricingUnit",
    "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart",
    "ChargePeriodEnd", "ChargeCategory", "ChargeClass", "ChargeDescription", "BillingAccountId",
    "BillingAccountName", "InvoiceIssuerName", "ProviderName", "PublisherName", "ServiceName",
    "ServiceCategory",
)  # fmt: skip
NOT_NULL = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingCurrency",
    "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "ChargeCategory", "BillingAccountId", "InvoiceIssuerName", "ProviderName", "PublisherName",
    "ServiceName", "ServiceCategory",
)  # fmt: skip
ALLOWED = {
    "ChargeCategory": {"Usage", "Purchase", "Tax", "Credit", "Adjustment"},
    "ChargeClass": {None, "Correction"},
    "ChargeFrequency": {None, "One-Time", "Recurring", "Usage-Based"},
    "PricingCategory": {None, "Standard", "Dynamic", "Committed", "Other"},
    "CommitmentDiscountStatus": {None, "Used", "Unused"},
    "CommitmentDiscountCategory": {None, "Spend", "Usage"},
    "ServiceCategory": {
        "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
        "Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things",
        "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security",
        "Storage", "Web", "Other",
    },
}  # fmt: skip
DECIMALS = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ListUnitPrice",
    "ContractedUnitPrice", "PricingQuantity", "ConsumedQuantity", "CommitmentDiscountQuantity",
    "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice",
    "PricingCurrencyContractedUnitPrice",
)  # fmt: skip
TIME_FORMAT = {
    "aws": "%Y-%m-%dT%H:%M:%SZ",
    "azure": "%Y-%m-%dT%H:%M:%SZ",
    "gcp": "%Y-%m-%d %H:%M:%S",
}
CLOUDS = ("aws", "azure", "gcp")


def deliveries(truth: dict, cloud: str) -> list[dict]:
    periods = truth["file_sets"][f"focus-{cloud}"]["periods"]
    return [d for p in sorted(periods) for d in periods[p]["deliveries"]]


def stamp(value: str, cloud: str) -> datetime:
    return datetime.strptime(value, TIME_FORMAT[cloud]).replace(tzinfo=UTC)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_delivery_is_valid_focus_1_2(demo, truth, cloud):
    for entry in deliveries(truth, cloud):
        header, rows = read_csv(demo.out_dir / entry["file"])
        assert set(MANDATORY) <= set(FOCUS_COLUMNS) <= set(header)
        assert all(c in FOCUS_COLUMNS or c.startswith("x_") for c in header)
        assert len(rows) == entry["rows"] > 0
        for r in rows:
            assert all(r[c] is not None for c in NOT_NULL), r
            for column, allowed in ALLOWED.items():
                assert r[column] in allowed, (column, r[column])
            for column in DECIMALS:
                if r[column] is not None:
                    Decimal(r[column])  # raises on anything but a decimal string
            start, end = (stamp(r[c], cloud) for c in ("ChargePeriodStart", "ChargePeriodEnd"))
            bp_start = stamp(r["BillingPeriodStart"], cloud)
            assert start < end and bp_start < stamp(r["BillingPeriodEnd"], cloud)
            assert start >= bp_start or r["ChargeClass"] == "Correction"
            if r["Tags"] is not None:
                tags = json.loads(r["Tags"])
                assert isinstance(tags, dict)
                assert all(isinstance(v, str | int | float | bool) for v in tags.values())


def test_each_provider_has_its_own_dialect(demo, truth):
    aws, azure, gcp = (deliveries(truth, c)[0]["file"] for c in CLOUDS)
    assert aws.endswith(".csv.gz")
    raw = (demo.out_dir / azure).read_bytes()
    assert raw.startswith(b'\xef\xbb\xbf"BilledCost",') and b'"",' in raw  # BOM, "" nulls
    header, rows = read_csv(demo.out_dir / gcp)
    assert header == sorted(header, key=str.casefold) and "x_ServiceId" in header
    text = (demo.out_dir / gcp).read_text()
    assert ",NULL," in text and "E-7" in text  # NULL tokens, E-notation unit prices
    assert rows[0]["ChargePeriodStart"].count(" ") == 1 and "T" not in rows[0]["ChargePeriodStart"]
    aws_rows = read_csv(demo.out_dir / aws)[1]
    assert aws_rows[0]["ChargePeriodStart"].endswith("T00:00:00Z")
    assert {r["BillingAccountId"] for r in aws_rows} == {"001234567890"}
    assert {"000987654321", "004455667788"} <= {r["SubAccountId"] for r in aws_rows}
    assert any(c.startswith("x_") for c in read_csv(demo.out_dir / aws)[0])


def test_azure_bills_eur_with_its_exchange_rate(demo, truth):
    for entry in deliveries(truth, "azure"):
        _, rows = read_csv(demo.out_dir / entry["file"])
        assert {r["BillingCurrency"] for r in rows} == {"EUR"}
        assert {r["PricingCurrency"] for r in rows} == {"USD"}
        for r in rows:
            rate = Decimal(r["x_BillingExchangeRate"])
            assert 0.85 < rate < 1  # EUR per USD
            assert abs(Decimal(r["BilledCost"]) - Decimal(r["x_BilledCostInUsd"]) * rate) < 1e-9
        month = entry["file"].split("/")[3][:6]
        assert str(rate) == truth["notes"]["eur_per_usd"][f"{month[:4]}-{month[4:]}"]


def test_charge_quirks_are_present(demo, truth):
    _, rows = read_csv(demo.out_dir / deliveries(truth, "aws")[-1]["file"])
    tax = [r for r in rows if r["ChargeCategory"] == "Tax"]
    assert tax and all(r["ChargePeriodStart"] == r["BillingPeriodStart"] for r in tax)
    assert any(r["ChargeCategory"] == "Credit" and r["ChargeClass"] is None for r in rows)
    assert any(r["ChargeClass"] == "Correction" and Decimal(r["BilledCost"]) < 0 for r in rows)
    purchase = [r for r in rows if r["ChargeCategory"] == "Purchase"]
    assert purchase and all(
        Decimal(r["EffectiveCost"]) == 0 < Decimal(r["BilledCost"]) for r in purchase
    )
    used = [r for r in rows if r["CommitmentDiscountStatus"] == "Used"]
    assert used and all(Decimal(r["BilledCost"]) == 0 < Decimal(r["EffectiveCost"]) for r in used)
    assert any(r["CommitmentDiscountStatus"] == "Unused" for r in rows)


def test_commitment_effective_cost_adds_up_to_the_fee_each_day(demo, truth):
    for entry in deliveries(truth, "aws"):
        _, rows = read_csv(demo.out_dir / entry["file"])
        fee, amortized = {}, {}
        for r in rows:
            day = r["ChargePeriodStart"]
            if r["ChargeCategory"] == "Purchase":
                fee[day] = fee.get(day, 0) + Decimal(r["BilledCost"])
            elif r["CommitmentDiscountStatus"] in ("Used", "Unused"):
                amortized[day] = amortized.get(day, 0) + Decimal(r["EffectiveCost"])
        assert fee and fee == amortized


@pytest.mark.parametrize("cloud", CLOUDS)
def test_open_month_has_mtd_then_restated_delivery(demo, truth, cloud):
    periods = truth["file_sets"][f"focus-{cloud}"]["periods"]
    open_month = periods[max(periods)]
    mtd, restated = open_month["deliveries"]
    assert (mtd["kind"], restated["kind"]) == ("mtd", "restated")
    assert open_month["final"] == restated["file"] != mtd["file"]
    times = [os.stat(demo.out_dir / d["file"]).st_mtime_ns // 10**9 for d in (mtd, restated)]
    assert times == [mtd["mtime"], restated["mtime"]] and times[0] < times[1]
    assert mtd["partial_day"] and restated["partial_day"] is None
    (mtd_total, final_total) = (
        grand_total(totals(read_csv(demo.out_dir / d["file"])[1], "BillingCurrency",
                           "ChargeCategory", "BilledCost"))
        for d in (mtd, restated)
    )  # fmt: skip
    assert mtd_total != final_total and final_total == grand_total(restated["billed_cost"])
    _, mtd_rows = read_csv(demo.out_dir / mtd["file"])
    assert {r["InvoiceId"] for r in mtd_rows} == {None}  # the open month is not invoiced yet
    closed = periods[min(periods)]["deliveries"][0]
    assert {r["InvoiceId"] for r in read_csv(demo.out_dir / closed["file"])[1]} != {None}
