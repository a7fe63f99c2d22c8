"""Billing loads replace whole deliveries: a restated month leaves exactly the restated totals."""

import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from bimo.settings import get_settings
from ingestion.billing.files import azure
from ingestion.billing.load import load_billing
from ingestion.billing.schema import LINE_ITEM_SCHEMA, BillingParse

PERIOD = datetime(2026, 10, 1, tzinfo=UTC)


def items(rows: list[dict]) -> pa.Table:
    base = {
        "source_system": "focus",
        "billing_account_id": "0012345678901",
        "billing_period_start": PERIOD,
        "charge_category": "Usage",
        "billing_currency": "USD",
    }
    full = []
    for r in rows:
        period = r.pop("period", "2026-10")
        full.append({**base, **r, "delivery_key": f"focus|0012345678901|{period}"})
    return pa.Table.from_pylist(full, schema=LINE_ITEM_SCHEMA)


def totals(settings) -> dict:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return dict(
            con.sql(
                "select delivery_key, sum(billed_cost) from raw_billing.line_items group by 1"
            ).fetchall()
        )
    finally:
        con.close()


def test_restated_delivery_replaces_the_month_to_date_one(tmp_path):
    settings = get_settings(tmp_path / "w.duckdb")
    mtd = items([
        {"billed_cost": Decimal("10.5"), "delivery_rank": 1},
        {"billed_cost": Decimal("0.000000002323760000"), "delivery_rank": 1},
        {"billed_cost": Decimal("3"), "delivery_rank": 1, "period": "2026-09"},
    ])  # fmt: skip
    first = load_billing([BillingParse(line_items=mtd, rows_in=3)], settings=settings)
    assert first.line_items == 3 and first.replaced_deliveries == 0
    assert totals(settings)["focus|0012345678901|2026-10"] == Decimal("10.500000002323760000")
    restated = items([
        {"billed_cost": Decimal("12"), "delivery_rank": 2},
        {"billed_cost": Decimal("-1.25"), "delivery_rank": 2, "charge_category": "Credit"},
    ])  # fmt: skip
    second = load_billing([BillingParse(line_items=restated, rows_in=2)], settings=settings)
    assert second.replaced_deliveries == 1
    assert totals(settings) == {
        "focus|0012345678901|2026-10": Decimal("10.75"),
        "focus|0012345678901|2026-09": Decimal("3"),
    }


def test_two_deliveries_in_one_load_keep_only_the_later(tmp_path):
    settings = get_settings(tmp_path / "w.duckdb")
    old = items([{"billed_cost": Decimal("5"), "delivery_rank": 10, "delivery_id": "mtd.csv"}])
    new = items([{"billed_cost": Decimal("7"), "delivery_rank": 20, "delivery_id": "final.csv"}])
    summary = load_billing(
        [BillingParse(line_items=new, rows_in=1), BillingParse(line_items=old, rows_in=1)],
        settings=settings,
    )
    assert summary.superseded_in_load == 1 and summary.line_items == 1
    assert totals(settings) == {"focus|0012345678901|2026-10": Decimal("7")}


def test_parts_of_one_delivery_are_all_kept_whatever_their_mtimes(tmp_path):
    """A multi-part export without a manifest: parts written a little apart are one delivery
    (ranked by the newest part), and a later delivery in another folder still replaces it."""
    settings = get_settings(tmp_path / "w.duckdb")
    header = (
        "BillingAccountId,BillingPeriodStartDate,BillingPeriodEndDate,Date,MeterCategory,"
        "Quantity,Cost,BillingCurrency,ChargeType,PricingModel\n"
    )

    def part(folder: str, name: str, cost: str, mtime: int) -> Path:
        path = tmp_path / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + f"0012345678,10/1/2026,10/31/2026,10/2/2026,Storage,1,{cost},"
                        "USD,Usage,OnDemand\n")  # fmt: skip
        os.utime(path, (mtime, mtime))
        return path

    run1 = [
        part("run1", "part_0_0001.csv", "1", 1_000),
        part("run1", "part_1_0001.csv", "2", 1_060),
    ]
    summary = load_billing([azure.parse(p) for p in run1], settings=settings)
    assert summary.superseded_in_load == 0
    assert totals(settings) == {"azure|0012345678|2026-10|actual": Decimal("3")}
    run2 = [
        part("run2", "part_0_0001.csv", "4", 2_000),
        part("run2", "part_1_0001.csv", "5", 1_990),
    ]
    load_billing([azure.parse(p) for p in run1 + run2], settings=settings)
    assert totals(settings) == {"azure|0012345678|2026-10|actual": Decimal("9")}


def test_quarantine_and_empty_tables_exist(tmp_path):
    settings = get_settings(tmp_path / "w.duckdb")
    parse = BillingParse(
        line_items=LINE_ITEM_SCHEMA.empty_table(),
        quarantine=[{"source": "focus", "file": "x.csv", "line": 4, "reason": "BilledCost: 'abc'"}],
        rows_in=1,
    )
    summary = load_billing([parse], settings=settings)
    assert summary.quarantined == 1 and summary.quarantine_reasons == {"BilledCost": 1}
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        assert con.sql("select count(*) from raw_billing.line_items").fetchall() == [(0,)]
        assert con.sql("select count(*) from raw_billing.ai_usage").fetchall() == [(0,)]
        assert con.sql("select line, reason from raw_billing.quarantine").fetchall() == [
            (4, "BilledCost: 'abc'")
        ]
    finally:
        con.close()


def _leave_pending(settings, line_items: pa.Table) -> Path:
    """What a run stopped mid-load leaves: a load package extracted and normalized, not loaded.
    Returns its folder."""
    from ingestion.billing.load import DATASET, PIPELINE_NAME, billing_source
    from ingestion.billing.schema import AI_USAGE_SCHEMA, COVERAGE_SCHEMA
    from ingestion.load import make_pipeline
    from ingestion.quarantine import QUARANTINE_SCHEMA

    pipeline = make_pipeline(settings, name=PIPELINE_NAME, dataset=DATASET)
    empty = (AI_USAGE_SCHEMA, COVERAGE_SCHEMA, QUARANTINE_SCHEMA)
    pipeline.extract(billing_source(line_items, *(s.empty_table() for s in empty)))
    pipeline.normalize()
    (package,) = (settings.dlt_dir / PIPELINE_NAME / "load" / "normalized").iterdir()
    return package


def test_a_load_a_stopped_run_left_is_finished_and_the_new_load_still_happens(tmp_path):
    settings = get_settings(tmp_path / "w.duckdb")
    september = items([{"billed_cost": Decimal("3"), "delivery_rank": 1, "period": "2026-09"}])
    load_billing([BillingParse(line_items=items([]), rows_in=0)], settings=settings)
    _leave_pending(settings, september)
    october = items([{"billed_cost": Decimal("10"), "delivery_rank": 1}])
    summary = load_billing([BillingParse(line_items=october, rows_in=1)], settings=settings)
    # dlt's run() given new data while a package is pending loads only that package
    assert summary.interrupted_loads == 1
    assert totals(settings) == {
        "focus|0012345678901|2026-09": Decimal("3"),
        "focus|0012345678901|2026-10": Decimal("10"),
    }


def test_a_staging_copy_run_twice_by_a_resumed_load_stores_each_row_once(tmp_path):
    """A run stopped after dlt's copy of a file into the staging table committed, and before dlt
    recorded it, copies the file again when the load resumes: two copy jobs of the same rows."""
    settings = get_settings(tmp_path / "w.duckdb")
    load_billing([BillingParse(line_items=items([]), rows_in=0)], settings=settings)
    month = items([
        {"billed_cost": Decimal("4"), "delivery_rank": 1, "_source_line": 2},
        {"billed_cost": Decimal("4"), "delivery_rank": 1, "_source_line": 2},  # a true twin
        {"billed_cost": Decimal("1.5"), "delivery_rank": 1, "_source_line": 3},
    ])  # fmt: skip
    package = _leave_pending(settings, month)
    (job,) = package.glob("new_jobs/line_items.*.parquet")
    table, _file_id, retry, fmt = job.name.split(".")
    (job.parent / f"{table}.0123456789.{retry}.{fmt}").write_bytes(job.read_bytes())
    summary = load_billing([], settings=settings)
    assert summary.interrupted_loads == 1
    assert totals(settings) == {"focus|0012345678901|2026-10": Decimal("9.5")}


def test_a_build_first_finishes_a_load_a_stopped_run_left(tmp_path):
    """`bimo build` and the Dagster dbt step call `ensure_raw_tables` before dbt reads raw."""
    from bimo.warehouse import writer_lock
    from ingestion.tables import ensure_raw_tables, interrupted_datasets

    settings = get_settings(tmp_path / "w.duckdb")
    load_billing([BillingParse(line_items=items([]), rows_in=0)], settings=settings)
    with writer_lock(settings):
        ensure_raw_tables(settings)
    assert interrupted_datasets(settings) == set()
    _leave_pending(settings, items([{"billed_cost": Decimal("3"), "delivery_rank": 1}]))
    assert interrupted_datasets(settings) == {"raw_billing"}
    with writer_lock(settings):
        assert "raw_billing" in ensure_raw_tables(settings)
    assert interrupted_datasets(settings) == set()
    assert totals(settings) == {"focus|0012345678901|2026-10": Decimal("3")}


def test_a_temp_file_a_killed_save_left_is_no_stopped_load_and_the_next_load_removes_it(
    tmp_path,
):
    """dlt saves a package's files through a temp file at the root of its packages' folder and
    renames it when written; a SIGKILL between leaves the file (seen in the crash suite)."""
    from dlt.common.utils import uniq_id

    from ingestion.billing.load import PIPELINE_NAME
    from ingestion.tables import PENDING_FOLDERS, interrupted_datasets

    settings = get_settings(tmp_path / "w.duckdb")
    month = items([{"billed_cost": Decimal("4"), "delivery_rank": 1}])
    load_billing([BillingParse(line_items=month, rows_in=1)], settings=settings)
    strays = []
    for parts in PENDING_FOLDERS:
        folder = (settings.dlt_dir / PIPELINE_NAME).joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        strays.append(folder / uniq_id(8))
        strays[-1].write_text('{"state": "comp')  # cut short
    assert interrupted_datasets(settings) == set()  # a build runs no empty load for it
    summary = load_billing([], settings=settings)
    assert summary.interrupted_loads == 0
    assert [s for s in strays if s.exists()] == []
    assert totals(settings) == {"focus|0012345678901|2026-10": Decimal("4")}


def test_the_pipelines_checked_for_stopped_loads_are_the_loaders_own():
    from ingestion import load
    from ingestion.billing import load as billing
    from ingestion.saas import load as saas
    from ingestion.tables import PIPELINES

    assert PIPELINES == {
        load.PIPELINE_NAME: load.DATASET,
        billing.PIPELINE_NAME: billing.DATASET,
        saas.PIPELINE_NAME: saas.DATASET,
    }


def test_a_stop_after_the_package_finished_and_before_the_dedup_is_resumed(tmp_path):
    """`finish_interrupted` leaves a marker in dlt's folder until its dedup is done: a run
    stopped in between leaves the marker, and the next load (or build) dedups."""
    from ingestion.billing.load import PIPELINE_NAME
    from ingestion.tables import FINISHING, interrupted_datasets

    settings = get_settings(tmp_path / "w.duckdb")
    month = items([{"billed_cost": Decimal("4"), "delivery_rank": 1, "_source_line": 2}])
    load_billing([BillingParse(line_items=month, rows_in=1)], settings=settings)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("insert into raw_billing.line_items select * from raw_billing.line_items")
    con.close()
    (settings.dlt_dir / PIPELINE_NAME / FINISHING).touch()
    assert interrupted_datasets(settings) == {"raw_billing"}
    load_billing([], settings=settings)
    assert totals(settings) == {"focus|0012345678901|2026-10": Decimal("4")}
    assert interrupted_datasets(settings) == set()
