"""Raw-table asset checks (row volume, freshness, quarantine) on a small DuckDB, and the table
metadata and checks a real Dagster run reports."""

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from bimo import source_health
from orchestration.definitions import defs
from orchestration.defs import checks, metadata
from orchestration.defs.checks import FRESHNESS as FRESH
from orchestration.defs.checks import QUARANTINE as QUAR
from orchestration.defs.checks import VOLUME
from orchestration.run import PARTITION_RANGE_END, PARTITION_RANGE_START

BIMO = str(Path(sys.executable).parent / "bimo")


def _raw(name: str) -> checks.RawTable:
    return next(t for t in checks.RAW_TABLES if "/".join(t.key.path) == name)


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create schema raw_gateway")
    con.execute(
        "create table raw_gateway.bimo_gateway_requests "
        "(request_id varchar, started_at timestamptz)"
    )
    con.execute(
        "create table raw_gateway.quarantine "
        "(source varchar, file varchar, line bigint, reason varchar, quarantined_at timestamptz)"
    )
    yield con
    con.close()


def _days(con, counts: dict[date, int]) -> None:
    for day, n in counts.items():
        con.execute(
            "insert into raw_gateway.bimo_gateway_requests select 'r' || i, "
            "(?::date + interval 12 hour)::timestamptz from range(?) t(i)",
            [day, n],
        )


TODAY = date(2026, 11, 10)


def test_row_volume_warns_on_a_drop_against_the_trailing_average(con):
    t = _raw("raw_gateway/bimo_gateway_requests")
    _days(con, {TODAY - timedelta(days=d): 100 for d in range(2, 10)})
    _days(con, {TODAY - timedelta(days=4): 900})  # a spike in the window does not raise the bar
    _days(con, {TODAY - timedelta(days=1): 30, TODAY: 5})  # today is partial: not judged
    result = checks.check_volume(con, t, TODAY, drop_pct=50, window_days=7)
    meta = {k: v.value for k, v in result.metadata.items()}
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert meta["day"] == "2026-11-09" and meta["rows"] == 30 and meta["drop_pct"] == 70.0
    assert checks.check_volume(con, t, TODAY, drop_pct=75, window_days=7).passed


def test_row_volume_compares_a_day_with_the_same_weekday(con):
    t = _raw("raw_gateway/bimo_gateway_requests")
    sunday = date(2026, 11, 8)
    history = [sunday - timedelta(days=d) for d in range(1, 29)]
    _days(con, {d: 20 if d.weekday() >= 5 else 100 for d in history} | {sunday: 16})
    quiet = checks.check_volume(con, t, sunday + timedelta(days=1), drop_pct=50, window_days=28)
    meta = {k: v.value for k, v in quiet.metadata.items()}
    assert quiet.passed and meta["baseline"] == "same weekday" and meta["baseline_days"] == 4
    assert meta["baseline_rows"] == 20.0 and meta["drop_pct"] == 20.0
    con.execute(
        "delete from raw_gateway.bimo_gateway_requests where started_at::date = ?", [sunday]
    )
    _days(con, {sunday: 4})
    assert not checks.check_volume(con, t, sunday + timedelta(days=1), drop_pct=50).passed


def test_row_volume_needs_history(con):
    t = _raw("raw_gateway/bimo_gateway_requests")
    _days(con, {TODAY - timedelta(days=2): 100, TODAY - timedelta(days=1): 1})
    result = checks.check_volume(con, t, TODAY, drop_pct=50, window_days=7)
    assert result.passed and "history" in result.metadata["note"].value


def test_row_volume_leaves_provisional_days_alone(con):
    t = checks.RawTable(
        "raw_gateway",
        "bimo_gateway_requests",
        _raw("raw_gateway/bimo_gateway_requests").day,
        provisional_days=2,
    )
    _days(con, {TODAY - timedelta(days=d): 100 for d in range(3, 10)})
    _days(con, {TODAY - timedelta(days=2): 10, TODAY - timedelta(days=1): 20})
    result = checks.check_volume(con, t, TODAY, drop_pct=50, window_days=7)
    assert result.passed and result.metadata["day"].value == "2026-11-07"


def test_data_freshness_uses_the_expected_lag_of_the_source(con):
    t = _raw("raw_gateway/bimo_gateway_requests")
    _days(con, {TODAY - timedelta(days=3): 10})
    late = checks.check_freshness(con, t, TODAY)
    assert not late.passed and late.metadata["lag_days"].value == 3
    assert late.metadata["expected_lag_days"].value == 1
    _days(con, {TODAY - timedelta(days=1): 10})
    assert checks.check_freshness(con, t, TODAY).passed
    lag = {
        k: source_health.table_lag_days(*k.split("/"))
        for k in (
            "raw_gateway/litellm_spend_logs",
            "raw_gateway/cli_log_usage",
            "raw_saas/invoices",
            "raw_saas/zoom_daily_report",
        )
    }
    assert lag == {  # the expected lags `bimo status` uses: one definition
        "raw_gateway/litellm_spend_logs": 1,
        "raw_gateway/cli_log_usage": 3,
        "raw_saas/invoices": 40,
        "raw_saas/zoom_daily_report": 35,
    }
    lags = source_health.expected_lags()
    assert lag["raw_saas/invoices"] == lags["saas-invoices"]
    assert lag["raw_gateway/cli_log_usage"] == lags["cli-log"]


def test_data_freshness_follows_the_expected_lag_setting(con, monkeypatch):
    t = _raw("raw_gateway/bimo_gateway_requests")
    _days(con, {TODAY - timedelta(days=3): 10})
    assert not checks.check_freshness(con, t, TODAY).passed
    monkeypatch.setenv("BIMO_EXPECTED_LAG", "gateway=3")
    found = checks.check_freshness(con, t, TODAY)
    assert found.passed and found.metadata["expected_lag_days"].value == 3


def test_quarantine_reports_the_last_load_and_the_total(con):
    t = _raw("raw_gateway/bimo_gateway_requests")
    since = datetime(2026, 11, 10, 3, tzinfo=UTC)
    rows = [
        ("bimo-gateway", "a.jsonl", 1, "bad json", since - timedelta(days=1)),
        ("bimo-gateway", "b.jsonl", 4, "missing timestamp", since + timedelta(minutes=1)),
        ("bimo-gateway", "b.jsonl", 9, "missing timestamp", since + timedelta(minutes=1)),
        ("litellm", "c.json", 2, "bad json", since + timedelta(minutes=1)),  # another table's
    ]
    con.executemany("insert into raw_gateway.quarantine values (?, ?, ?, ?, ?)", rows)
    result = checks.check_quarantine(con, t, since)
    assert not result.passed
    assert result.metadata["new_in_last_load"].value == 2 and result.metadata["total"].value == 3
    assert "2 × missing timestamp" in result.metadata["top_reasons"].value
    assert checks.check_quarantine(con, t, since + timedelta(hours=1)).passed


def test_a_table_never_loaded_passes_with_a_note(con):
    result = checks.evaluate(
        con, _raw("raw_saas/zoom_users"), FRESH, today=TODAY, since=datetime.now(UTC)
    )
    assert result.passed and result.metadata["note"].value == "table not created yet"


# -- metadata helper -------------------------------------------------------------------------


def test_table_metadata_reports_rows_date_range_and_a_preview(con):
    _days(con, {date(2026, 10, 1): 3, date(2026, 10, 4): 4})
    con.execute("update raw_gateway.bimo_gateway_requests set request_id = 'a|b' where true")
    columns = metadata.date_columns(con, ["raw_gateway"])
    assert columns[("raw_gateway", "bimo_gateway_requests")] == "started_at"
    meta = metadata.table_metadata(
        con, "raw_gateway.bimo_gateway_requests", date_column="started_at"
    )
    assert meta["dagster/row_count"].value == 7
    assert (meta["first_day"].value, meta["last_day"].value) == ("2026-10-01", "2026-10-04")
    preview = meta["preview"].value.splitlines()
    assert preview[0] == "| request_id | started_at |" and len(preview) == 2 + 5
    assert "a\\|b" in preview[2]  # a pipe in a value does not break the table
    assert "first_day" not in metadata.table_metadata(con, "raw_gateway.quarantine")


# -- a real run: metadata on dlt and dbt materialisations, checks evaluated ------------------


@pytest.mark.slow
def test_run_reports_table_metadata_and_evaluates_checks(tmp_path, monkeypatch):
    from bimo.demo import generate
    from orchestration.defs.dbt import bimo_dbt_assets
    from orchestration.defs.ingestion import gateway_log_assets

    end = datetime.now(UTC).date() - timedelta(days=1)
    landing = tmp_path / "landing"
    generate(landing, days=22, requests_per_day=40, seed=3, end=end)
    with open(landing / "bimo-gateway" / f"requests-{end}.jsonl", "a") as fh:
        fh.write('{"truncated": \n')
    monkeypatch.setenv("BIMO_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("BIMO_LANDING_DIR", str(landing))
    result = dg.materialize(
        [gateway_log_assets, bimo_dbt_assets, checks.raw_gateway_checks],
        resources=defs.resources,
        tags={PARTITION_RANGE_START: str(end - timedelta(days=21)), PARTITION_RANGE_END: str(end)},
        raise_on_error=False,
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    meta = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    raw = meta["raw_gateway/bimo_gateway_requests"]
    assert raw["dagster/row_count"].value == raw["rows_in_window"].value > 100
    assert raw["last_day"].value == str(end) and raw["quarantined"].value >= 1  # + the demo's
    assert raw["preview"].value.startswith("| request_id |")
    mart = meta["marts/fct_llm_requests"]
    assert mart["dagster/row_count"].value > 100 and mart["date_column"].value == "request_date"
    assert mart["last_day"].value == str(end) and "| " in mart["preview"].value
    assert "dagster/row_count" in meta["reference/fx_rates"]
    evaluations = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    assert evaluations[("marts/fct_llm_requests", "unique_fct_llm_requests_request_key")].passed
    quarantine = evaluations[("raw_gateway/bimo_gateway_requests", QUAR)]
    assert not quarantine.passed
    assert quarantine.metadata["new_in_last_load"].value == raw["quarantined"].value
    assert evaluations[("raw_gateway/bimo_gateway_requests", FRESH)].passed
    volume = evaluations[("raw_gateway/litellm_spend_logs", VOLUME)].metadata
    assert volume["baseline"].value == "same weekday" and volume["day"].value == str(end)


# -- concurrency: readers never fail, writers queue ------------------------------------------
