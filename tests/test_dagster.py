"""Dagster: the asset-key contract between dlt and dbt, and the whole graph materialised."""

import shutil

import dagster as dg
import duckdb
import pytest

from bimo.dbt_runner import target_path
from bimo.settings import PROJECT_ROOT, get_settings
from orchestration.definitions import defs
from orchestration.defs.analytics import cost_anomalies, cost_forecast
from orchestration.defs.dbt import bimo_dbt_assets
from orchestration.defs.ingestion import gateway_log_assets
from orchestration.defs.publishing import READ_COPY
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
    targets = PROJECT_ROOT / "dbt_project" / "target"
    per_run_folders = set(targets.glob("bimo_dbt_assets-*"))
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
    # dbt ran in the warehouse's own target folder, not in a new folder per run (never removed)
    assert (target_path(get_settings(warehouse)) / "manifest.json").exists()
    assert set(targets.glob("bimo_dbt_assets-*")) == per_run_folders


ANALYTICS = ("cost_anomalies", "cost_forecast", "cost_projections", "forecast_accuracy")
ANALYTICS += ("insights", "budget_status", "alerts")
DAY_TAGS = {PARTITION_RANGE_START: END.isoformat(), PARTITION_RANGE_END: END.isoformat()}


@pytest.fixture
def counted_publishes(built, tmp_path, monkeypatch):
    """(warehouse of a copy of `built`, the list that gets an item per publish)."""
    import bimo.warehouse

    warehouse = built_copy(built, tmp_path).warehouse
    monkeypatch.setenv("BIMO_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("BIMO_BUDGETS", str(PROJECT_ROOT / "config" / "budgets.example.yml"))
    publish, calls = bimo.warehouse.publish_snapshot, []
    monkeypatch.setattr(
        bimo.warehouse, "publish_snapshot", lambda *a, **k: calls.append(1) or publish(*a, **k)
    )
    return warehouse, calls


def _run(names: list[str], *, read_copy: bool = True) -> dg.ExecuteInProcessResult:
    keys = [dg.AssetKey(["analytics", name]) for name in names]
    return defs.resolve_job_def("bimo_daily").execute_in_process(
        asset_selection=keys + ([READ_COPY] if read_copy else []),
        tags=DAY_TAGS,
        raise_on_error=False,
    )


def _stale_in_read_copy(warehouse, names) -> dict[str, int]:
    """Per analytics table: the rows that differ between the warehouse and its read copy."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute(f"attach '{warehouse.with_name('warehouse.read.duckdb')}' as copy (read_only)")
        stale = {}
        for name in names:
            live, copy = f"analytics.{name}", f"copy.analytics.{name}"
            stale[name] = con.execute(
                f"select count(*) from ((from {live} except all from {copy}) "
                f"union all (from {copy} except all from {live}))"
            ).fetchone()[0]
        return stale
    finally:
        con.close()


def test_a_run_publishes_the_read_copy_once_at_its_end(counted_publishes):
    """Each publish copies the whole warehouse: a run of every analytics asset publishes once,
    in its read_copy step, and the read copy then holds every write."""
    warehouse, calls = counted_publishes
    result = _run(list(ANALYTICS))
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert len(calls) == 1
    assert READ_COPY in {e.asset_key for e in result.get_asset_materialization_events()}
    assert _stale_in_read_copy(warehouse, ANALYTICS) == dict.fromkeys(ANALYTICS, 0)
    calls.clear()  # without read_copy, the steps with no child in the run publish (4 of 7)
    assert _run(list(ANALYTICS), read_copy=False).success and len(calls) == 4
    calls.clear()  # an asset run alone publishes its own write
    assert _run(["cost_anomalies"], read_copy=False).success and len(calls) == 1


def test_a_failed_step_does_not_strand_the_writes_of_its_run(counted_publishes, monkeypatch):
    """read_copy is skipped when a step before it fails: the writes that left their publish to
    it still reach the read copy — the failing step publishes the run's earlier writes, and a
    step that succeeds after a failure publishes its own."""
    import orchestration.defs.analytics

    warehouse, calls = counted_publishes  # the built warehouse has no analytics tables yet

    def broken(_con):
        raise RuntimeError("accuracy is broken")

    monkeypatch.setattr(orchestration.defs.analytics, "compute_accuracy", broken)
    # forecast_accuracy fails, whenever it runs; cost_forecast defers to its child
    # cost_projections, which may run before or after the failure; read_copy never runs.
    result = _run(["cost_forecast", "cost_projections", "forecast_accuracy"])
    assert not result.success
    assert READ_COPY not in {e.asset_key for e in result.get_asset_materialization_events()}
    assert calls
    stale = _stale_in_read_copy(warehouse, ["cost_forecast", "cost_projections"])
    assert stale == {"cost_forecast": 0, "cost_projections": 0}
    con = duckdb.connect(str(warehouse.with_name("warehouse.read.duckdb")), read_only=True)
    assert con.execute("select count(*) from analytics.cost_forecast").fetchone()[0] > 0
    con.close()
