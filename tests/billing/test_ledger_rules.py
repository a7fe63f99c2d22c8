"""Ledger rules that span rows or deliveries, checked through the real parsers, loader and dbt:
Azure actual + amortized combined (never summed), OCI corrections, API days re-pulled empty or
with a different response shape, and an older delivery loaded after a newer one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bimo.dbt_runner import dbt_build
from bimo.settings import get_settings
from bimo.warehouse import writer_lock
from ingestion.billing.apis import parse_saved
from ingestion.billing.files import azure, oci
from ingestion.billing.load import load_billing
from ingestion.tables import ensure_raw_tables
from tests.conftest import query

pytestmark = pytest.mark.slow
MODELS = "+int_billing_line_items_usd stg_billing__ai_usage"

AZURE_HEADER = (
    "BillingAccountId,BillingPeriodStartDate,BillingPeriodEndDate,Date,MeterCategory,Quantity,"
    "Cost,BillingCurrency,ChargeType,PricingModel,ReservationId\n"
)
# (meter, cost, charge type, pricing model): a 1-year reservation bought this month for 120,
# amortized at 10 a month: 7 used, 3 unused; plus 5 of on-demand usage and a Marketplace buy.
ACTUAL = [
    ("Virtual Machines", "5", "Usage", "OnDemand"),
    ("Virtual Machines", "0", "Usage", "Reservation"),
    ("Virtual Machines", "120", "Purchase", "Reservation"),
    ("Marketplace", "2", "Purchase", "OnDemand"),
]
AMORTIZED = [
    ("Virtual Machines", "5", "Usage", "OnDemand"),
    ("Virtual Machines", "7", "Usage", "Reservation"),
    ("Virtual Machines", "3", "UnusedReservation", "Reservation"),
    ("Marketplace", "2", "Purchase", "OnDemand"),
]


def azure_file(path: Path, rows, month: int = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"0012345678,{month}/1/2026,{month}/28/2026,{month}/2/2026,{meter},1,{cost},USD,{kind},"
        f"{model},{'res-1' if model == 'Reservation' else ''}\n"
        for meter, cost, kind, model in rows
    ]
    path.write_text(AZURE_HEADER + "".join(lines))
    return path


OCI_HEADER = (
    "lineItem/referenceNo,lineItem/tenantId,lineItem/intervalUsageStart,"
    "lineItem/intervalUsageEnd,product/service,cost/myCost,cost/currencyCode,"
    "lineItem/isCorrection,lineItem/backreferenceNo\n"
)


def oci_file(folder: Path, name: str, rows: list[str]) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OCI_HEADER + "".join(f"{r}\n" for r in rows))
    return path


def openai_costs(folder: Path, name: str, results: list[dict], mtime: int) -> Path:
    """A saved `/v1/organization/costs` page with one bucket for 2026-10-05."""
    start = 1791158400  # 2026-10-05T00:00:00Z
    page = {
        "object": "page",
        "data": [
            {"object": "bucket", "start_time": start, "end_time": start + 86400, "results": results}
        ],
        "has_more": False,
        "next_page": None,
    }
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(page))
    os.utime(path, (mtime, mtime))
    return path


def cost(value: float, line_item: str, **more) -> dict:
    return {
        "object": "organization.costs.result",
        "amount": {"value": value, "currency": "usd"},
        "line_item": line_item,
        "project_id": "proj_a",
        **more,
    }


def build_ledger(settings) -> None:
    with writer_lock(settings):
        ensure_raw_tables(settings)
        result = dbt_build(settings, "--select", MODELS)
    assert result.ok, result.failures or result.output_tail


def ledger(settings, where: str) -> list[tuple]:
    return query(
        settings,
        "select coalesce(json_extract_string(extra, '$.dataset'), "
        "json_extract_string(extra, '$.\"lineItem/referenceNo\"'), charge_description), "
        "billed_cost::double, effective_cost::double "
        f"from intermediate.int_billing_line_items_usd where {where} order by all",
    )


def test_azure_datasets_combine_and_oci_corrections_override(tmp_path):
    settings = get_settings(tmp_path / "w.duckdb")
    exports = tmp_path / "exports"
    parses = [
        azure.parse(azure_file(exports / "actual" / "october.csv", ACTUAL)),
        azure.parse(azure_file(exports / "amortized" / "october.csv", AMORTIZED)),
        azure.parse(azure_file(exports / "actual" / "september.csv", ACTUAL[:1], month=9)),
    ]
    # r1 replaced by a corrected charge (r3 → r1); r2 reversed by a negative correction (r4);
    # r5 corrected twice (r6 → r5, then r7 → r6).
    tenant, hour = "ocid1.tenancy.oc1..t1", "2026-10-02T10:00Z,2026-10-02T11:00Z"
    first = [("r1", "5", "false", ""), ("r2", "0.025", "false", ""), ("r5", "9", "false", "")]
    later = [
        ("r3", "4", "true", "r1"),
        ("r4", "-0.025", "true", "r2"),
        ("r6", "8", "true", "r5"),
        ("r7", "7.5", "true", "r6"),
    ]
    for name, rows in (("0001.csv", first), ("0002.csv", later)):
        lines = [
            f"{ref},{tenant},{hour},COMPUTE,{c},USD,{fix},{back}" for ref, c, fix, back in rows
        ]
        parses.append(oci.parse(oci_file(exports / "oci", name, lines)))
    summary = load_billing(parses, settings=settings)
    assert summary.line_items == 4 + 4 + 1 + 7 and summary.quarantined == 0
    build_ledger(settings)

    october = ledger(settings, "source_system = 'azure' and billing_period_start >= '2026-10-01'")
    # billed sums to the actual dataset's 127, effective to the amortized dataset's 17
    assert sorted(october) == sorted(
        [
            ("amortized", 5.0, 5.0),
            ("amortized", 0.0, 7.0),
            ("amortized", 0.0, 3.0),
            ("amortized", 2.0, 2.0),
            ("actual", 120.0, 0.0),
        ]
    )
    assert ledger(settings, "source_system = 'azure' and billing_period_start < '2026-10-01'") == [
        ("actual", 5.0, 5.0)  # one dataset only: left as it is
    ]
    assert ledger(settings, "source_system = 'oci'") == [
        ("r2", 0.025, 0.025),
        ("r3", 4.0, 4.0),
        ("r4", -0.025, -0.025),
        ("r7", 7.5, 7.5),
    ]


def test_api_days_are_replaced_whole_and_never_by_an_older_pull(tmp_path):
    settings = get_settings(tmp_path / "w.duckdb")
    api = tmp_path / "api"
    # The first pull reports organization_id, the re-pull (another API version) does not and
    # has one line item fewer; a later re-pull finds the day empty.
    first = openai_costs(
        api,
        "pull-1.json",
        [cost(1.5, "gpt-4o, input", organization_id="org-1"), cost(0.5, "gpt-4o, output")],
        1_800_000_000,
    )
    second = openai_costs(api, "pull-2.json", [cost(1.25, "gpt-4o, input")], 1_800_000_100)
    load_billing([parse_saved("openai-costs", first)], settings=settings)
    summary = load_billing([parse_saved("openai-costs", second)], settings=settings)
    assert (summary.replaced_deliveries, summary.line_items) == (1, 1)
    stale = load_billing([parse_saved("openai-costs", first)], settings=settings)
    assert (stale.stale_skipped, stale.line_items, stale.deliveries) == (2, 0, 0)
    build_ledger(settings)
    assert ledger(settings, "source_system = 'openai-costs'") == [("gpt-4o, input", 1.25, 1.25)]

    empty = openai_costs(api, "pull-3.json", [], 1_800_000_200)
    parse = parse_saved("openai-costs", empty)
    assert [c["result_rows"] for c in parse.coverage] == [0]
    load_billing([parse], settings=settings)
    build_ledger(settings)
    assert ledger(settings, "source_system = 'openai-costs'") == []
    coverage = query(settings, "select delivery_id, result_rows from raw_billing.api_coverage")
    assert coverage == [("pull-3.json", 0)]
