"""Dagster: the asset-key contract between dlt and dbt, and the whole graph materialised."""

import shutil

import dagster as dg
import duckdb
import pytest

from bimo.settings import PROJECT_ROOT
from orchestration.definitions import defs
from orchestration.defs.analytics import cost_anomalies, cost_forecast
from orchestration.defs.dbt import bimo_dbt_assets
from orchestration.defs.ingestion import gateway_log_assets
from orchestration.defs.saas import saas_assets
from orchestration.run import PARTITION_RANGE_END, PARTITION_RANGE_START
from tests.conftest import END, built_copy

pytestmark = pytest.mark.slow


def test_dlt_asset_keys_are_the_dbt_source_keys():
    graph = defs.resolve_asset_graph()
    dlt_keys = {
        k
        for k in graph.get_all_asset_keys()
        if k.path[0] in ("raw_gateway", "raw_billing", "raw_saas")
    }
    staging = [k for k in graph.get_all_asset_keys() if k.path[0] == "staging"]
    staging_parents = {p for k in staging for p in graph.get(k).parent_keys}
    assert len(dlt_keys) == 7 + 7  # gateway and billing; SaaS
    assert staging_parents - {k for k in staging_parents if k.path[0] == "reference"} == dlt_keys
    assert all(graph.get(k).is_materializable for k in dlt_keys)
    for key in dlt_keys:
        assert "dlt" in graph.get(key).kinds and graph.get(key).group_name == "ingestion"


def test_every_asset_is_described_owned_and_grouped():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name in {"ingestion", "warehouse", "analytics"}, key
        assert node.owners, key
        assert node.kinds, key


def test_daily_schedule_targets_the_partitioned_job():
    schedule = defs.resolve_schedule_def("bimo_daily_schedule")
    assert schedule.job_name == "bimo_daily"


def test_materialize_whole_graph_on_generated_data(tmp_path, monkeypatch, demo_dir):
    landing = tmp_path / "landing"
    shutil.copytree(demo_dir, landing)
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("BIMO_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("BIMO_LANDING_DIR", str(landing))
    result = dg.materialize(
        [gateway_log_assets, saas_assets, bimo_dbt_assets, cost_anomalies, cost_forecast],
        resources=defs.resources,
        tags={PARTITION_RANGE_START: "2026-09-27", PARTITION_RANGE_END: END.isoformat()},
        raise_on_error=False,
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["analytics", "cost_anomalies"]) in materialized
    assert dg.AssetKey(["marts", "fct_daily_cost"]) in materialized
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        requests, days = con.sql(
            "select count(*), count(distinct request_date) from marts.fct_llm_requests"
        ).fetchall()[0]
        forecast_days = con.sql(
            "select count(distinct forecast_date) from analytics.cost_forecast "
            "where source_tag = 'prod' and series_level = 'total'"
        ).fetchall()[0][0]
        anomalies = con.sql("select count(*) from analytics.cost_anomalies").fetchall()[0][0]
        seat_days = con.sql(
            "select count(distinct date) from marts.fct_saas_seats_daily"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert requests > 5000 and days == 35
    assert forecast_days >= 90  # 90 days, or to the quarter end when further
    assert anomalies > 0
    assert seat_days == 35  # the saved SaaS snapshots of every day of the range
    assert warehouse.with_name("warehouse.read.duckdb").exists()


ANALYTICS = ("cost_anomalies", "cost_forecast", "cost_projections", "forecast_accuracy")
ANALYTICS += ("insights", "budget_status", "alerts")


def test_analytics_publish_the_read_copy_once_per_branch(built, tmp_path, monkeypatch):
    """Each publish copies the whole warehouse: in a run of every analytics asset only those
    with no child in the run publish (4 of 7), and the read copy then holds every write; an
    asset run alone publishes its own."""
    import bimo.warehouse

    warehouse = built_copy(built, tmp_path).warehouse
    monkeypatch.setenv("BIMO_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("BIMO_BUDGETS", str(PROJECT_ROOT / "config" / "budgets.example.yml"))
    publish, calls = bimo.warehouse.publish_snapshot, []
    monkeypatch.setattr(
        bimo.warehouse, "publish_snapshot", lambda *a, **k: calls.append(1) or publish(*a, **k)
    )
    job = defs.resolve_job_def("bimo_daily")
    keys = [dg.AssetKey(["analytics", name]) for name in ANALYTICS]
    result = job.execute_in_process(
        asset_selection=keys,
        tags={PARTITION_RANGE_START: END.isoformat(), PARTITION_RANGE_END: END.isoformat()},
        raise_on_error=False,
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert len(calls) == 4
    tables = [f"analytics.{name}" for name in ANALYTICS]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute(f"attach '{warehouse.with_name('warehouse.read.duckdb')}' as copy (read_only)")
        for table in tables:
            rows = con.execute(f"select count(*) from {table}").fetchone()[0]
            differ = con.execute(
                f"select count(*) from ((from {table} except all from copy.{table}) "
                f"union all (from copy.{table} except all from {table}))"
            ).fetchone()[0]
            assert differ == 0, f"{table}: {differ} of {rows} rows differ in the read copy"
    finally:
        con.close()
    calls.clear()
    result = job.execute_in_process(
        asset_selection=keys[:1],
        tags={PARTITION_RANGE_START: END.isoformat(), PARTITION_RANGE_END: END.isoformat()},
        raise_on_error=False,
    )
    assert result.success and len(calls) == 1
