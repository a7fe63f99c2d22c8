"""Partition windows in dbt: a run given `window_start` / `window_end` (as environment variables
BIMO_WINDOWED=1 with BIMO_WINDOW_START / BIMO_WINDOW_END, or vars) rebuilds only those days of
the per-request models, and the marts then equal a full rebuild; rows outside the window are
never rewritten. Dagster passes a partitioned run's window, unless the pricing inputs changed."""

import json
import shutil
import uuid
from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest

from bimo.dbt_runner import dbt_build, target_path
from bimo.settings import get_settings
from bimo.warehouse import writer_lock
from ingestion.load import load_files
from orchestration.defs import dbt as dbt_defs
from orchestration.defs.dbt_project import ensure_manifest
from tests.conftest import build, query, source_files

WINDOW = (date(2026, 10, 10), date(2026, 10, 13))  # three days, end exclusive
LATE_DAY = "2026-10-11"
MARTS = {
    "fct_llm_requests": "request_date",
    "fct_llm_usage_daily": "usage_date",
    "fct_llm_latency_daily": "usage_date",
    "fct_llm_errors_daily": "usage_date",
}
MARTS_AND_DAILY_COST = {**MARTS, "fct_daily_cost": "charge_date"}


# --- windowed builds of a warehouse ---


def checksums(settings, tables: dict[str, str], *, outside: bool = False) -> dict:
    """(rows, md5 of the sorted rows) per mart: all rows, or only those outside WINDOW."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        found = {}
        for table, column in tables.items():
            where = f"where not ({column} >= ? and {column} < ?)" if outside else ""
            found[table] = con.execute(
                "select count(*), md5(coalesce(string_agg(cast(t as varchar), chr(10) "
                f"order by cast(t as varchar)), '')) from marts.{table} as t {where}",
                list(WINDOW) if outside else [],
            ).fetchall()[0]
        return found
    finally:
        con.close()


def build_window(settings, window=WINDOW, *, as_vars: bool = False) -> None:
    """A windowed build as Bimo runs it (the window in the environment), or as a user types it
    (`--vars`, the documented manual form)."""
    args = dbt_defs.dbt_build_args(window)[1:]
    with writer_lock(settings):
        if as_vars:
            days = {"window_start": window[0].isoformat(), "window_end": window[1].isoformat()}
            result = dbt_build(settings, *args, "--vars", json.dumps(days))
        else:
            result = dbt_build(settings, *args, window=window)
    assert result.ok, result.failures or result.output_tail


def mark(settings, days: list[str]) -> None:
    """Write a sentinel user_id into one request of each day: a rebuilt day loses it."""
    con = duckdb.connect(str(settings.warehouse))
    try:
        for day in days:
            con.execute(
                "update marts.fct_llm_requests set user_id = 'sentinel' where request_key = "
                "(select min(request_key) from marts.fct_llm_requests where request_date = ?)",
                [day],
            )
    finally:
        con.close()


def marked_days(settings) -> set[str]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select distinct request_date from marts.fct_llm_requests where user_id = 'sentinel'"
        ).fetchall()
    finally:
        con.close()
    return {d.isoformat() for (d,) in rows}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, demo_dir):
    """A warehouse of its own (the tests change it): the demo loaded and built in full."""
    settings = get_settings(tmp_path_factory.mktemp("window") / "warehouse.duckdb")
    load_files(source_files(demo_dir), settings=settings)
    build(settings)
    return settings


@pytest.mark.slow
def test_window_rebuild_equals_a_full_rebuild(warehouse):
    full = checksums(warehouse, MARTS_AND_DAILY_COST)
    build_window(warehouse)
    assert checksums(warehouse, MARTS_AND_DAILY_COST) == full


@pytest.mark.slow
def test_the_warehouse_stores_each_request_once(warehouse):
    """The intermediate per-request models are views that fct_llm_requests reads with its
    window: the only per-request tables are the raw logs and the mart (docs/benchmarks.md 11)."""
    con = duckdb.connect(str(warehouse.warehouse), read_only=True)
    try:
        kinds = dict(
            con.execute(
                "select table_name, table_type from information_schema.tables "
                "where table_schema = 'intermediate' and table_name like 'int_llm_requests_%'"
            ).fetchall()
        )
        counts = [
            con.execute(f"select count(*) from {name}").fetchall()[0][0]
            for name in ("intermediate.int_llm_requests_priced", "marts.fct_llm_requests")
        ]
    finally:
        con.close()
    assert kinds == {"int_llm_requests_unioned": "VIEW", "int_llm_requests_priced": "VIEW"}
    assert counts[0] == counts[1] > 0


@pytest.mark.slow
@pytest.mark.parametrize("as_vars", [False, True], ids=["environment", "vars"])
def test_rows_outside_the_window_are_never_rewritten(warehouse, as_vars, monkeypatch):
    mark(warehouse, ["2026-10-09", "2026-10-10", "2026-10-12", "2026-10-13"])
    outside = checksums(warehouse, MARTS, outside=True)
    build_window(warehouse, as_vars=as_vars)
    # the window's days were rebuilt (their sentinel is gone), the days around it were not
    assert marked_days(warehouse) == {"2026-10-09", "2026-10-13"}
    assert checksums(warehouse, MARTS, outside=True) == outside
    # a window left in the caller's environment does not narrow a full build
    monkeypatch.setenv("BIMO_WINDOWED", "1")
    monkeypatch.setenv("BIMO_WINDOW_START", "2026-10-12")
    monkeypatch.setenv("BIMO_WINDOW_END", "2026-10-13")
    build(warehouse)  # back to a clean warehouse for the other tests
    assert marked_days(warehouse) == set()


def sql(settings, *statements: str) -> None:
    con = duckdb.connect(str(settings.warehouse))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


@pytest.mark.slow
def test_a_windowed_build_tests_the_rows_it_could_change(warehouse):
    """In a windowed build the data tests of the windowed models read the window's rows, and a
    `unique` test every row sharing a value with them: a duplicate with a copy in the window is
    caught wherever the other copy lies; a fault on a day the build never touched is not the
    build's, and its tests do not read that day again (a full build does)."""
    outside, inside = "2026-10-09", "2026-10-11"  # WINDOW is 10–12 October
    # a value accepted_values rejects, on a day outside the window
    sql(
        warehouse,
        "insert into marts.fct_llm_requests select * replace ('mispriced' as pricing_status, "
        "'fault:' || request_key as request_key) from marts.fct_llm_requests "
        f"where request_date = date '{outside}' limit 1",
    )
    build_window(warehouse)  # passes: its tests read the window, and the row is kept
    assert count_requests(warehouse, "pricing_status = 'mispriced'") == 1
    # its tests' SQL: window-scoped for the windowed models, whole for the others
    compiled = {p.name: p.read_text() for p in target_path(warehouse).glob("run/**/*.sql")}
    unique_sql = compiled["unique_fct_llm_requests_request_key.sql"]
    assert "request_key in (select request_key from" in unique_sql
    assert "request_date >= date '2026-10-10'" in unique_sql
    assert "2026-10-10" not in compiled["unique_fct_cost_line_items_line_item_key.sql"]
    with writer_lock(warehouse):  # the model's tests without a window read it, and fail
        whole = dbt_build(warehouse, "--select", "fct_llm_requests", "--resource-type", "test")
    assert [f.split(":")[0] for f in whole.failures] == [
        "test.bimo.accepted_values_fct_llm_requests_pricing_status__priced__unpriced__gateway_cache_hit.8c73a5293c"
    ]

    # a request of a window day with a second copy outside the window: the unique test fails
    sql(
        warehouse,
        "insert into marts.fct_llm_requests select * replace "
        f"(date '{outside}' as request_date) from marts.fct_llm_requests "
        f"where request_date = date '{inside}' order by request_key limit 1",
    )
    args = dbt_defs.dbt_build_args(WINDOW)[1:]
    with writer_lock(warehouse):
        result = dbt_build(warehouse, *args, window=WINDOW)
    assert not result.ok
    assert [f.split(":")[0] for f in result.failures] == [
        "test.bimo.unique_fct_llm_requests_request_key.58528448ef"
    ]
    build(warehouse)  # full: both rows go, every test reads every row again
    assert count_requests(warehouse, "pricing_status = 'mispriced'") == 0


def count_requests(settings, where: str) -> int:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        query = f"select count(*) from marts.fct_llm_requests where {where}"
        return con.execute(query).fetchall()[0][0]
    finally:
        con.close()


@pytest.mark.slow
def test_late_logs_for_a_day_in_the_window_equal_a_full_rebuild(warehouse, demo_dir, tmp_path):
    before = checksums(warehouse, MARTS_AND_DAILY_COST)
    outside = checksums(warehouse, MARTS_AND_DAILY_COST, outside=True)
    # the day's gateway file delivered again with three more requests, one of a model the logs
    # never had (its catalogue price appears with it)
    original = demo_dir / "bimo-gateway" / f"requests-{LATE_DAY}.jsonl"
    records = [json.loads(line) for line in original.read_text().splitlines()[:3]]
    for record in records:
        record["request_id"] = str(uuid.uuid4())
    records[0].update(provider="openai", model="gpt-4.1-nano", response_model="gpt-4.1-nano")
    late = tmp_path / original.name
    shutil.copy(original, late)
    with late.open("a") as out:
        out.writelines(json.dumps(r) + "\n" for r in records)
    summary = load_files({"bimo-gateway": [late]}, settings=warehouse)
    assert summary.added["bimo-gateway"] == 3

    build_window(warehouse)
    windowed = checksums(warehouse, MARTS_AND_DAILY_COST)
    assert checksums(warehouse, MARTS_AND_DAILY_COST, outside=True) == outside
    build(warehouse)
    full = checksums(warehouse, MARTS_AND_DAILY_COST)
    assert windowed == full
    assert full["fct_llm_requests"][0] == before["fct_llm_requests"][0] + 3
    con = duckdb.connect(str(warehouse.warehouse), read_only=True)
    try:
        [(status,)] = con.execute(
            "select pricing_status from marts.fct_llm_requests where request_id = ?",
            [records[0]["request_id"]],
        ).fetchall()
    finally:
        con.close()
    assert status == "priced"


def price_keys(settings) -> list[tuple]:
    return query(
        settings,
        "select * from intermediate.int_priced_model_keys order by all",
    ) + query(settings, "select * from intermediate.int_model_prices order by all")


@pytest.mark.slow
def test_a_windowed_build_reads_requests_by_their_utc_instant(warehouse, demo_dir, tmp_path):
    """A windowed build reads the window's requests by their timestamp (which DuckDB prunes the
    raw tables by): a request at the window's first and last microsecond (UTC) is in it, one a
    microsecond either side is not, and the price keys, which a windowed build extends with its
    window's, equal a full build's."""
    start, end = (f"{d.isoformat()}T00:00:00" for d in WINDOW)
    stamps = {
        "first": f"{start}.000000Z",
        "last": f"{(WINDOW[1] - timedelta(days=1)).isoformat()}T23:59:59.999999Z",
        "before": f"{(WINDOW[0] - timedelta(days=1)).isoformat()}T23:59:59.999999Z",
        "after": f"{end}.000000Z",
        "offset": f"{(WINDOW[0] - timedelta(days=1)).isoformat()}T20:00:00-05:00",  # 01:00 UTC
    }
    original = demo_dir / "bimo-gateway" / f"requests-{LATE_DAY}.jsonl"
    template = json.loads(original.read_text().splitlines()[0])
    ids = {name: str(uuid.uuid4()) for name in stamps}
    late = tmp_path / "requests-edges.jsonl"
    late.write_text(
        "".join(
            json.dumps({**template, "request_id": ids[name], "timestamp": stamp}) + "\n"
            for name, stamp in stamps.items()
        )
    )
    summary = load_files({"bimo-gateway": [late]}, settings=warehouse)
    assert summary.added["bimo-gateway"] == len(stamps)

    build_window(warehouse)
    found = dict(
        query(
            warehouse,
            "select request_id, request_date from marts.fct_llm_requests "
            "where request_id in (select unnest(?))",
            [list(ids.values())],
        )
    )
    in_mart = {name for name, i in ids.items() if i in found}
    assert in_mart == {"first", "last", "offset"}
    assert found[ids["first"]] == WINDOW[0]
    assert found[ids["last"]] == WINDOW[1] - timedelta(days=1)
    windowed_keys = price_keys(warehouse)
    build(warehouse)
    assert price_keys(warehouse) == windowed_keys
    [(every,)] = query(
        warehouse,
        "select count(*) from marts.fct_llm_requests where request_id in (select unnest(?))",
        [list(ids.values())],
    )
    assert every == len(stamps)  # the full build has the two outside the window too


# --- Dagster: a partitioned run passes its window, unless the pricing inputs changed ---


@pytest.mark.slow
def test_partitioned_run_rebuilds_its_window_unless_price_inputs_changed(
    warehouse, demo_dir, tmp_path, monkeypatch
):
    from orchestration.definitions import defs
    from orchestration.defs.ingestion import gateway_log_assets

    landing = tmp_path / "landing"
    shutil.copytree(demo_dir / "bimo-gateway", landing / "bimo-gateway")
    monkeypatch.setenv("BIMO_WAREHOUSE", str(warehouse.warehouse))
    monkeypatch.setenv("BIMO_LANDING_DIR", str(landing))
    manifest = json.loads(ensure_manifest().read_text())
    with writer_lock(warehouse):
        dbt_defs.store_fingerprint(warehouse, dbt_defs.inputs_fingerprint(manifest))

    def run_day(day: str) -> None:
        result = dg.materialize(
            [gateway_log_assets, dbt_defs.bimo_dbt_assets],
            resources=defs.resources,
            partition_key=day,
            raise_on_error=False,
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]

    mark(warehouse, ["2026-10-10", "2026-10-11"])
    run_day("2026-10-11")
    assert marked_days(warehouse) == {"2026-10-10"}  # only its own day was rebuilt

    monkeypatch.setattr(dbt_defs, "inputs_fingerprint", lambda manifest: "edited prices")
    run_day("2026-10-11")
    assert marked_days(warehouse) == set()  # every day rebuilt
    with writer_lock(warehouse):
        assert dbt_defs.stored_fingerprint(warehouse) == "edited prices"


@pytest.mark.slow
def test_bimo_build_records_its_full_build_for_the_scheduled_runs(tmp_path):
    """`bimo build` (and `bimo load`, which ends with it) records the inputs of its full build
    as a full build through Dagster does, so the next scheduled run rebuilds its window only
    instead of every day."""
    from bimo.cli import main

    settings = get_settings(tmp_path / "warehouse.duckdb")
    assert main(["build", "--warehouse", str(settings.warehouse)]) == 0
    manifest = json.loads(ensure_manifest().read_text())
    with writer_lock(settings):
        assert dbt_defs.stored_fingerprint(settings) == dbt_defs.inputs_fingerprint(manifest)
