"""Operating Bimo in Dagster: the asset graph snapshot, jobs, schedules and the landing sensor
(raw-table checks and metadata: test_orchestration_checks.py; readers and writers at once:
test_orchestration_concurrency.py)."""

import json
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.defs import automation, sensors
from orchestration.defs.dbt_project import dbt_project
from orchestration.defs.publishing import READ_COPY

BIMO = str(Path(sys.executable).parent / "bimo")

# (key, group, kinds, partitions): change it only with the graph, on purpose.
EXPECTED_GRAPH = [
    ("analytics/alerts", "analytics", "duckdb,polars", None),
    ("analytics/budget_status", "analytics", "duckdb,polars", None),
    ("analytics/cost_anomalies", "analytics", "duckdb,polars,statsforecast", None),
    ("analytics/cost_forecast", "analytics", "duckdb,polars,statsforecast", None),
    ("analytics/cost_projections", "analytics", "duckdb,polars", None),
    ("analytics/forecast_accuracy", "analytics", "duckdb,polars,statsforecast", None),
    ("analytics/insights", "analytics", "duckdb,polars", None),
    ("intermediate/int_billing_line_items_usd", "warehouse", "dbt,duckdb", None),
    ("intermediate/int_llm_prices", "warehouse", "dbt,duckdb", None),
    ("intermediate/int_llm_requests_priced", "warehouse", "dbt,duckdb", None),
    ("intermediate/int_llm_requests_unioned", "warehouse", "dbt,duckdb", None),
    ("intermediate/int_model_catalogue_ids", "warehouse", "dbt,duckdb", None),
    ("intermediate/int_model_prices", "warehouse", "dbt,duckdb,python", None),
    ("intermediate/int_priced_model_keys", "warehouse", "dbt,duckdb", None),
    ("intermediate/int_saas_seat_prices", "warehouse", "dbt,duckdb", None),
    ("marts/fct_cost_line_items", "warehouse", "dbt,duckdb", None),
    ("marts/fct_daily_cost", "warehouse", "dbt,duckdb", None),
    ("marts/fct_llm_cost_daily", "warehouse", "dbt,duckdb", None),
    ("marts/fct_llm_errors_daily", "warehouse", "dbt,duckdb", None),
    ("marts/fct_llm_latency_daily", "warehouse", "dbt,duckdb", None),
    ("marts/fct_llm_requests", "warehouse", "dbt,duckdb", None),
    ("marts/fct_llm_usage_daily", "warehouse", "dbt,duckdb", None),
    ("marts/fct_reconciliation", "warehouse", "dbt,duckdb", None),
    ("marts/fct_saas_idle_seats", "warehouse", "dbt,duckdb", None),
    ("marts/fct_saas_seats_daily", "warehouse", "dbt,duckdb", None),
    ("raw_billing/ai_usage", "ingestion", "dlt,duckdb", "monthly"),
    ("raw_billing/api_coverage", "ingestion", "dlt,duckdb", "monthly"),
    ("raw_billing/line_items", "ingestion", "dlt,duckdb", "monthly"),
    ("raw_gateway/bimo_gateway_requests", "ingestion", "dlt,duckdb", "daily"),
    ("raw_gateway/cli_log_usage", "ingestion", "dlt,duckdb", "daily"),
    ("raw_gateway/litellm_spend_logs", "ingestion", "dlt,duckdb", "daily"),
    ("raw_gateway/otel_genai_spans", "ingestion", "dlt,duckdb", "daily"),
    ("raw_saas/copilot_billing", "ingestion", "dlt,duckdb", "daily"),
    ("raw_saas/copilot_seats", "ingestion", "dlt,duckdb", "daily"),
    ("raw_saas/github_billing_usage", "ingestion", "dlt,duckdb", "daily"),
    ("raw_saas/invoices", "ingestion", "dlt,duckdb", "daily"),
    ("raw_saas/slack_billable", "ingestion", "dlt,duckdb", "daily"),
    ("raw_saas/zoom_daily_report", "ingestion", "dlt,duckdb", "daily"),
    ("raw_saas/zoom_users", "ingestion", "dlt,duckdb", "daily"),
    ("read_copy", "warehouse", "duckdb", None),
    ("reference/fx_rates", "warehouse", "dbt,duckdb", None),
    ("reference/price_overrides", "warehouse", "dbt,duckdb", None),
    ("reference/provider_aliases", "warehouse", "dbt,duckdb", None),
    ("reference/saas_seat_prices", "warehouse", "dbt,duckdb", None),
    ("reference/saas_vendor_aliases", "warehouse", "dbt,duckdb", None),
    ("staging/stg_billing__ai_usage", "warehouse", "dbt,duckdb", None),
    ("staging/stg_billing__line_items", "warehouse", "dbt,duckdb", None),
    ("staging/stg_gateway__bimo_requests", "warehouse", "dbt,duckdb", None),
    ("staging/stg_gateway__cli_usage", "warehouse", "dbt,duckdb", None),
    ("staging/stg_gateway__litellm_spend_logs", "warehouse", "dbt,duckdb", None),
    ("staging/stg_gateway__otel_spans", "warehouse", "dbt,duckdb", None),
    ("staging/stg_saas__copilot_billing", "warehouse", "dbt,duckdb", None),
    ("staging/stg_saas__github_billing_usage", "warehouse", "dbt,duckdb", None),
    ("staging/stg_saas__invoices", "warehouse", "dbt,duckdb", None),
    ("staging/stg_saas__seats", "warehouse", "dbt,duckdb", None),
    ("staging/stg_saas__zoom_daily_report", "warehouse", "dbt,duckdb", None),
]
VOLUME, FRESH, QUAR = "row_volume", "data_freshness", "quarantined_rows"
EXPECTED_CHECKS = {  # the checks that are not dbt tests
    "marts/fct_reconciliation": {"reconciliation_variance"},
    "raw_billing/ai_usage": {FRESH, VOLUME},
    "raw_billing/line_items": {FRESH, QUAR, VOLUME},
    "raw_gateway/bimo_gateway_requests": {FRESH, QUAR, VOLUME},
    "raw_gateway/cli_log_usage": {FRESH, QUAR, VOLUME},
    "raw_gateway/litellm_spend_logs": {FRESH, QUAR, VOLUME},
    "raw_gateway/otel_genai_spans": {FRESH, QUAR, VOLUME},
    "raw_saas/copilot_billing": {FRESH, QUAR, VOLUME},
    "raw_saas/copilot_seats": {FRESH, QUAR, VOLUME},
    "raw_saas/github_billing_usage": {FRESH, QUAR, VOLUME},
    "raw_saas/invoices": {FRESH, QUAR},
    "raw_saas/slack_billable": {FRESH, QUAR, VOLUME},
    "raw_saas/zoom_daily_report": {FRESH, QUAR},
    "raw_saas/zoom_users": {FRESH, QUAR, VOLUME},
}


def _partitions(node) -> str | None:
    if node.partitions_def is None:
        return None
    return type(node.partitions_def).__name__.removesuffix("PartitionsDefinition").lower()


# -- the graph -------------------------------------------------------------------------------


def test_asset_graph_snapshot():
    graph = defs.resolve_asset_graph()
    actual = [
        (k.to_user_string(), n.group_name, ",".join(sorted(n.kinds)), _partitions(n))
        for k in sorted(graph.get_all_asset_keys())
        for n in [graph.get(k)]
    ]
    assert actual == EXPECTED_GRAPH
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners and (node.description or "").strip(), key
        assert not (node.description or "").startswith("dbt model "), key  # always described
        assert (node.freshness_policy is not None) == (key.path[0].startswith("raw_")), key


def test_checks_snapshot_and_every_dbt_test_is_a_check():
    graph = defs.resolve_asset_graph()
    manifest = json.loads(dbt_project.manifest_path.read_text())
    dbt_tests = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "test"}
    found: dict[str, set[str]] = {}
    for check in graph.asset_check_keys:
        if check.name not in dbt_tests:
            found.setdefault(check.asset_key.to_user_string(), set()).add(check.name)
    assert found == EXPECTED_CHECKS
    assert dbt_tests and dbt_tests <= {c.name for c in graph.asset_check_keys}


def test_jobs_schedules_and_sensors_are_registered():
    dg.Definitions.validate_loadable(defs)
    assert {j.name for j in defs.jobs} >= {"bimo_daily", "bimo_gateway", "bimo_billing"}
    assert {s.name for s in defs.schedules} == {
        "bimo_daily_schedule",
        "bimo_gateway_hourly",
        "billing_schedule",
    }
    assert {s.name for s in defs.sensors} >= {
        "bimo_landing",
        "bimo_marts_after_billing",
        "bimo_dead_runs",
    }
    gateway = defs.resolve_job_def("bimo_gateway").asset_layer.selected_asset_keys
    paths = {k.to_user_string() for k in gateway}
    assert "marts/fct_llm_requests" in paths and "analytics/alerts" in paths
    assert not any(p.startswith(("raw_saas", "raw_billing")) for p in paths)
    assert "analytics/cost_forecast" not in paths  # forecasts read complete days: nightly
    daily = defs.resolve_job_def("bimo_daily").asset_layer.selected_asset_keys
    assert not any(k.path[0] == "raw_billing" for k in daily)
    marts = defs.resolve_job_def("bimo_marts").asset_layer.selected_asset_keys
    assert {k.path[0] for k in marts} == {"reference", "staging", "intermediate", "marts"} | {
        "analytics",
        "read_copy",
    }
    billing = defs.resolve_job_def("bimo_billing").asset_layer.selected_asset_keys
    # every job that builds marts publishes once, at its end; a billing load publishes nothing
    assert "read_copy" in paths and READ_COPY in daily and READ_COPY not in billing


def test_source_loads_retry_with_exponential_backoff():
    graph = defs.resolve_asset_graph()
    for dataset in ("raw_gateway", "raw_billing", "raw_saas"):
        key = next(k for k in graph.get_all_asset_keys() if k.path[0] == dataset)
        policy = graph.assets_def_for_key(key).node_def.retry_policy
        assert policy is not None and policy.max_retries == 3, dataset
        assert policy.backoff == dg.Backoff.EXPONENTIAL and policy.delay == 30, dataset


# -- schedules -------------------------------------------------------------------------------


def _tick(schedule, when: datetime, instance=None) -> list[dg.RunRequest] | dg.SkipReason:
    result = schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))
    return [result] if isinstance(result, dg.RunRequest) else result


def test_nightly_run_loads_yesterday_as_a_complete_day():
    (request,) = _tick(automation.daily_schedule, datetime(2026, 11, 3, 2, tzinfo=UTC))
    assert request.partition_key == "2026-11-02"


def test_hourly_gateway_run_loads_today_and_never_piles_up():
    when = datetime(2026, 11, 3, 9, 15, tzinfo=UTC)
    with dg.instance_for_test() as instance:
        (request,) = _tick(automation.gateway_schedule, when, instance)
        assert request.partition_key == "2026-11-03"
        instance.add_run(
            dg.DagsterRun(
                job_name="bimo_gateway", run_id="running-run", status=dg.DagsterRunStatus.STARTED
            )
        )
        skipped = _tick(automation.gateway_schedule, when, instance)
    assert isinstance(skipped, dg.SkipReason) and "running-run" in skipped.skip_message


def test_billing_run_reloads_last_month_in_a_months_first_days():
    (early,) = _tick(automation.billing_schedule, datetime(2026, 11, 3, 1, tzinfo=UTC))
    assert early.partition_key_range == dg.PartitionKeyRange("2026-10-01", "2026-11-01")
    (late,) = _tick(automation.billing_schedule, datetime(2026, 11, 9, 1, tzinfo=UTC))
    assert late.partition_key == "2026-11-01"


# -- the landing sensor ----------------------------------------------------------------------


@pytest.fixture
def landing(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    monkeypatch.setenv("BIMO_LANDING_DIR", str(folder))
    monkeypatch.setenv("BIMO_LANDING_SETTLE_SECONDS", "0")
    return folder


@pytest.fixture(scope="module")
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def _write(path: Path, text: str = "{}\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _sense(
    instance, cursor: str | None = None
) -> tuple[list[dg.RunRequest], str | None, str | None]:
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    result = sensors.landing_sensor(context)
    if isinstance(result, dg.SkipReason):
        return [], cursor, result.skip_message
    return list(result.run_requests), result.cursor, None


def _ranges(requests: list[dg.RunRequest]) -> dict[str, tuple[str, str]]:
    out = {}
    for r in requests:
        keys = r.partition_key_range or dg.PartitionKeyRange(r.partition_key, r.partition_key)
        out[r.job_name] = (keys.start, keys.end)
    return out


def test_landing_sensor_launches_the_right_job_for_new_files(landing, instance):
    _write(landing / "bimo-gateway" / "requests-2026-10-30.jsonl")
    _write(landing / "litellm" / "nested" / "spend-logs-2026-10-28.json")
    _write(landing / "bimo-gateway" / "README.md")  # not a log file
    _write(landing / ".remote" / "bimo-gateway" / "x-2026-01-01.jsonl")  # the CLI's URL cache
    requests, cursor, _ = _sense(instance)
    assert _ranges(requests) == {"bimo_gateway": ("2026-10-27", "2026-10-30")}
    assert requests[0].tags["bimo/trigger"] == "landing"

    assert _sense(instance, cursor)[0] == []  # nothing new: no run

    _write(landing / "billing" / "aws-cur" / "cur" / "BILLING_PERIOD=2026-09" / "part-1.csv.gz")
    _write(landing / "billing" / "focus-gcp" / "acme_focus_202610_20261101T070000Z.csv")
    _write(landing / "billing" / "unknown-tool" / "2026-01.csv")  # not a billing source
    requests, cursor, _ = _sense(instance, cursor)
    assert _ranges(requests) == {"bimo_billing": ("2026-09-01", "2026-10-01")}

    # SaaS snapshots: the whole day (bimo_daily), which also covers new logs of those days
    _write(landing / "saas" / "slack-billable" / "2026-11-02.jsonl")
    _write(landing / "cli-log" / "usage-2026-11-01.jsonl")
    requests, cursor, _ = _sense(instance, cursor)
    assert _ranges(requests) == {"bimo_daily": ("2026-10-31", "2026-11-02")}
    assert len({r.run_key for r in requests}) == len(requests)


def test_landing_sensor_sees_copies_that_keep_an_old_mtime(landing, instance):
    _write(landing / "otel-genai" / "traces-2026-10-01.jsonl")
    _, cursor, _ = _sense(instance)
    copied = _write(landing / "otel-genai" / "traces-2026-09-15.jsonl")
    os.utime(copied, (1_600_000_000, 1_600_000_000))  # `cp -p`: mtime from 2020
    requests, _, _ = _sense(instance, cursor)
    assert _ranges(requests) == {"bimo_gateway": ("2026-09-14", "2026-09-15")}


def test_landing_sensor_waits_for_files_to_settle(landing, instance, monkeypatch):
    _write(landing / "bimo-gateway" / "requests-2026-10-30.jsonl")
    monkeypatch.setenv("BIMO_LANDING_SETTLE_SECONDS", "3600")
    requests, cursor, skipped = _sense(instance)
    assert requests == [] and cursor is None and "no new files" in skipped
    monkeypatch.setenv("BIMO_LANDING_SETTLE_SECONDS", "0")
    assert _ranges(_sense(instance)[0]) == {"bimo_gateway": ("2026-10-29", "2026-10-30")}


def test_landing_sensor_clips_to_existing_partitions(landing, instance):
    _write(landing / "litellm" / "spend-logs-2019-05-01.json")  # before BIMO_START_DATE
    requests, cursor, _ = _sense(instance)
    assert requests == [] and cursor is not None  # seen, nothing to load


def test_landing_sensor_waits_while_the_run_it_would_start_is_active(landing):
    _write(landing / "bimo-gateway" / "requests-2026-10-30.jsonl")
    with dg.instance_for_test() as instance:
        instance.add_run(
            dg.DagsterRun(
                job_name="bimo_gateway", run_id="busy", status=dg.DagsterRunStatus.STARTED
            )
        )
        requests, cursor, skipped = _sense(instance)
        assert requests == [] and cursor is None and "wait for run busy" in skipped
        instance.report_run_canceled(instance.get_run_by_id("busy"))
        assert _ranges(_sense(instance)[0]) == {"bimo_gateway": ("2026-10-29", "2026-10-30")}


def test_file_days_and_billing_months():
    changed = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp() * 1e9)
    assert sensors.file_day(Path("a/requests-2026-10-30.jsonl"), changed) == date(2026, 10, 30)
    assert sensors.file_day(Path("a/gateway.jsonl"), changed) == date(2026, 11, 20)
    month = sensors.billing_month
    assert month(Path("x/BILLING_PERIOD=2024-05/cur2-00001.csv"), changed) == date(2024, 5, 1)
    assert month(Path("20231101-20231201/4b7f/cur-00001.csv"), changed) == date(2023, 11, 1)
    assert month(Path("acme_focus_202610_20261101T070000Z.csv"), changed) == date(2026, 10, 1)
    assert month(Path("invoices-2026-10.csv"), changed) == date(2026, 10, 1)
    assert month(Path("export-99999999.csv"), changed) == date(2026, 11, 1)


def test_marts_are_rebuilt_after_an_unscheduled_billing_load():
    with dg.instance_for_test() as instance:

        def evaluate(tags: dict) -> dg.RunRequest | dg.SkipReason:
            run = dg.DagsterRun(job_name="bimo_billing", run_id=f"r{len(tags)}", tags=tags)
            event = dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name="bimo_billing")
            context = dg.build_run_status_sensor_context(
                sensor_name="bimo_marts_after_billing",
                dagster_event=event,
                dagster_instance=instance,
                dagster_run=run,
            )
            return sensors.marts_after_billing(context)

        assert isinstance(evaluate({"bimo/trigger": "landing"}), dg.RunRequest)
        skipped = evaluate({"dagster/schedule_name": "billing_schedule"})
    assert isinstance(skipped, dg.SkipReason)


def test_dbt_resource_starts_nothing_but_dbt_itself(tmp_path, monkeypatch):
    """dagster-dbt ran `dbt --version` and set up a dbt adapter in this process before every
    invocation (about 4 s of each daily dbt step at S), for features Bimo does not use. Bimo's
    resource starts only the dbt command, and knows the version the executable reports."""
    import subprocess

    from dagster_dbt.core import resource as dagster_dbt_resource

    from orchestration.defs.dbt import dbt_resource
    from orchestration.defs.dbt_project import DBT_EXECUTABLE, ensure_manifest

    reported = subprocess.check_output([DBT_EXECUTABLE, "--version"], text=True)
    resource = dbt_resource()
    assert f"installed: {resource._cli_version}" in reported

    def no_extra_process(*args, **kwargs):
        raise AssertionError(f"a process before the dbt invocation: {args}")

    monkeypatch.setattr(dagster_dbt_resource, "check_output", no_extra_process)
    monkeypatch.setenv("BIMO_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    invocation = resource.cli(
        ["parse", "--quiet"], manifest=ensure_manifest(), target_path=tmp_path / "target"
    )
    assert invocation.wait().is_successful()
    assert invocation.adapter is None
    assert (tmp_path / "target" / "manifest.json").exists()
