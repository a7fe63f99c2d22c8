"""The operator CLI: status, quarantine, run/backfill, ui, help (sql: test_cli_sql.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bimo.settings import PROJECT_ROOT, get_settings
from bimo.warehouse import publish_snapshot, writer_lock
from tests.cli_run import bimo, run_main
from tests.conftest import END, source_files

DEMO_START = date(2026, 10, 25)  # seven demo days ending END (2026-10-31)


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    """Seven days of a small demo company: logs, billing exports, SaaS snapshots and invoices."""
    from bimo.demo import generate

    out = tmp_path_factory.mktemp("ops") / "landing"
    generate(out, days=7, requests_per_day=60, seed=5, end=END)
    return out


@pytest.fixture(scope="module")
def raw_wh(tmp_path_factory, landing):
    """Raw tables only (no dbt): the gateway logs, AWS FOCUS exports, Slack and invoices."""
    from ingestion.billing.files import FILE_SOURCES, expand_billing_paths
    from ingestion.billing.load import load_billing
    from ingestion.load import load_files
    from ingestion.saas import parse_saved
    from ingestion.saas.load import load_saas

    settings = get_settings(tmp_path_factory.mktemp("raw") / "warehouse.duckdb")
    load_files(source_files(landing), settings=settings)
    exports = expand_billing_paths([landing / "billing" / "focus-aws"])
    load_billing([FILE_SOURCES["focus"](f) for f in exports], settings=settings)
    saas = [
        parse_saved(source, f)
        for source in ("slack-billable", "saas-invoices")
        for f in sorted((landing / "saas" / source).iterdir())
    ]
    load_saas(saas, settings=settings)
    publish_snapshot(settings)
    return settings


# --- status ----------------------------------------------------------------------------------


def test_status_fresh_loaded_and_not_loaded(capsys, raw_wh):
    code, out, _ = run_main(
        capsys, "status", "--warehouse", str(raw_wh.warehouse), "--as-of", "2026-11-01",
        "--format", "json",
    )  # fmt: skip
    assert code == 0, out
    rows = {r["source"]: r for r in json.loads(out)}
    assert set(rows) >= {"bimo-gateway", "litellm", "focus", "aws-cur", "openai-costs",
                         "slack-billable", "zoom-users", "saas-invoices"}  # fmt: skip
    gateway = rows["bimo-gateway"]
    assert gateway["status"] == "fresh" and gateway["newest_data_date"] == "2026-10-31"
    assert gateway["lag_days"] == 1 and gateway["expected_lag_days"] == 1
    assert gateway["rows"] > 0 and gateway["quarantined"] > 0  # the demo injects bad records
    assert gateway["last_load_at"] and gateway["last_load_basis"] == "loaded_at"
    assert rows["focus"]["status"] == "fresh" and rows["focus"]["expected_lag_days"] == 2
    assert rows["focus"]["last_load_basis"] == "delivery" and rows["focus"]["last_load_at"]
    assert rows["slack-billable"]["status"] == "fresh"
    assert rows["saas-invoices"]["quarantined"] >= 1  # the demo's invoice with amount 'n/a'
    for never in ("aws-cur", "azure", "openai-costs", "zoom-users"):
        assert rows[never]["status"] == "not loaded" and rows[never]["rows"] == 0


def test_status_stale_exits_1_and_names_the_sources(capsys, raw_wh):
    code, out, _ = run_main(
        capsys, "status", "--warehouse", str(raw_wh.warehouse), "--as-of", "2026-11-04"
    )
    assert code == 1
    assert "Sources as of 2026-11-04" in out and "not loaded" in out
    stale = out.split("stale:", 1)[1]
    assert "bimo-gateway" in stale and "focus" in stale and "slack-billable" in stale
    assert "zoom-users" not in stale and "saas-invoices" not in stale  # never loaded / monthly


def test_status_expected_lag_from_flag_and_environment(capsys, raw_wh, monkeypatch):
    wh = ["--warehouse", str(raw_wh.warehouse), "--as-of", "2026-11-04"]
    lenient = "gateway=5,export=5"
    assert run_main(capsys, "status", *wh, "--expected-lag", lenient, "--expected-lag",
                    "slack-billable=4")[0] == 0  # fmt: skip
    monkeypatch.setenv("BIMO_EXPECTED_LAG", lenient + ",saas=4")
    code, out, _ = run_main(capsys, "status", *wh, "--format", "json")
    assert code == 0
    assert {r["source"]: r["expected_lag_days"] for r in json.loads(out)}["litellm"] == 5
    # the flag wins over the environment
    assert run_main(capsys, "status", *wh, "--expected-lag", "litellm=1")[0] == 1
    code, _, err = run_main(capsys, "status", *wh, "--expected-lag", "nope=3")
    assert code == 2 and "unknown key 'nope'" in err


def test_status_reads_the_copy_while_a_writer_holds_the_warehouse(raw_wh):
    with writer_lock(raw_wh, timeout_s=5):
        con = duckdb.connect(str(raw_wh.warehouse))  # read-write, like a running load
        try:
            proc = bimo("status", "--warehouse", str(raw_wh.warehouse), "--as-of", "2026-11-01",
                        timeout=60)  # fmt: skip
        finally:
            con.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "bimo-gateway" in proc.stdout


def test_status_without_a_warehouse(capsys, tmp_path):
    code, _, err = run_main(capsys, "status", "--warehouse", str(tmp_path / "none.duckdb"))
    assert code == 2 and "no warehouse published" in err


# --- quarantine ------------------------------------------------------------------------------


def test_quarantine_lists_reasons_then_examples(capsys, raw_wh):
    wh = ["--warehouse", str(raw_wh.warehouse)]
    code, out, _ = run_main(capsys, "quarantine", *wh, "--format", "json")
    assert code == 0
    report = json.loads(out)
    sources = {r["source"] for r in report["reasons"]}
    assert {"bimo-gateway", "saas-invoices"} <= sources
    assert all(r["rows"] >= 1 and r["reason"] for r in report["reasons"])
    assert report["examples"] and all(e["file"] and e["line"] is not None
                                      for e in report["examples"])  # fmt: skip
    code, out, _ = run_main(capsys, "quarantine", *wh, "--source", "saas-invoices", "--limit", "5")
    assert code == 0 and "Quarantined records for saas-invoices: 1" in out
    assert re.search(r"invoices-2026-10\.csv:\d+  saas-invoices  bad row", out)
    assert "bimo-gateway" not in out
    code, out, _ = run_main(capsys, "quarantine", *wh, "--source", "oci")
    assert code == 0 and "no quarantined records for oci" in out


# --- run / backfill --------------------------------------------------------------------------


def test_backfill_sources_map_to_loads():
    from bimo.cli import SOURCES
    from bimo.dagster_runs import loads_for
    from bimo.source_health import SOURCE_NAMES

    assert set(SOURCE_NAMES) == set(SOURCES)  # status and backfill cover every loadable source
    assert loads_for("litellm") == ["gateway"]
    assert loads_for("aws-cur") == loads_for("openai-usage") == ["billing"]
    assert loads_for("zoom-users") == loads_for("saas-invoices") == ["saas"]
    assert loads_for("all") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-10-05", "--end", "2026-10-01"], "is after --end"),
        (["--start", "2020-01-01", "--end", "2020-01-02"], "before the first partition"),
        (["--start", "2026-10-01", "--end", "2999-01-01"], "is in the future"),
    ],
)
def test_run_refuses_bad_ranges(capsys, tmp_path, args, message):
    code, _, err = run_main(capsys, "run", *args, "--warehouse", str(tmp_path / "w.duckdb"))
    assert code == 2 and message in err


def marts_checksums(warehouse: Path) -> dict[str, tuple[int, str]]:
    """Row count and a hash over the sorted rows of every marts table."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [r[0] for r in con.sql(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()]  # fmt: skip
        return {
            name: con.sql(
                f"select count(*), md5(coalesce(string_agg(r, '\n' order by r), '')) "
                f"from (select t::varchar as r from marts.{name} t)"
            ).fetchall()[0]
            for name in tables
        }
    finally:
        con.close()


@pytest.mark.slow
def test_backfill_twice_changes_nothing(tmp_path, landing):
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", dagster_home)
    env = {"DAGSTER_HOME": str(dagster_home), "BIMO_LANDING_DIR": str(landing)}
    warehouse = tmp_path / "warehouse.duckdb"
    args = ["backfill", "--source", "all", "--start", DEMO_START.isoformat(),
            "--end", END.isoformat(), "--warehouse", str(warehouse)]  # fmt: skip
    first = bimo(*args, env=env, timeout=900)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "bimo_billing" in first.stdout and "bimo_daily" in first.stdout
    assert "succeeded" in first.stdout and "done in" in first.stdout
    before = marts_checksums(warehouse)
    assert before["fct_daily_cost"][0] > 0 and before["fct_llm_requests"][0] > 0
    second = bimo(*args, env=env, timeout=900)
    assert second.returncode == 0, second.stdout + second.stderr
    assert marts_checksums(warehouse) == before
    status = bimo("status", "--warehouse", str(warehouse), "--as-of", "2026-11-01")
    assert status.returncode == 0, status.stdout


@pytest.mark.slow
def test_backfill_of_one_source_runs_its_load_and_the_marts_only():
    from orchestration.run import job_assets

    whole = job_assets("bimo_daily")
    gateway = job_assets("bimo_daily", ["gateway"])
    billing = job_assets("bimo_daily", ["billing"])
    prefixes = {k.path[0] for k in gateway}
    assert "raw_gateway" in prefixes and "raw_saas" not in prefixes and "marts" in prefixes
    assert not {k.path[0] for k in billing} & {"raw_gateway", "raw_saas"}
    assert set(billing) < set(gateway) < set(whole)


# --- ui --------------------------------------------------------------------------------------


def test_ui_binds_both_servers_to_localhost():
    from bimo.ui import services

    dagster, dashboard = services()
    assert dagster.command[1:3] == ["dev", "-w"] and "127.0.0.1" in dagster.command
    assert dagster.command[-2:] == ["-p", "3000"] and dagster.url == "http://127.0.0.1:3000"
    assert dashboard.command[1] == "run" and dashboard.command[2].endswith("streamlit_app.py")
    assert dashboard.command[dashboard.command.index("--server.address") + 1] == "127.0.0.1"
    assert dashboard.command[dashboard.command.index("--server.port") + 1] == "8501"


SUPERVISE = """
import sys
from bimo.ui import Service, supervise
sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
quitter = [sys.executable, "-c", "import sys, time; time.sleep(float(sys.argv[1])); sys.exit(3)"]
second = quitter + [sys.argv[1]] if len(sys.argv) > 1 else sleeper
items = [Service("one", "http://127.0.0.1:1", sleeper), Service("two", "http://x:2", second)]
sys.exit(supervise(items, echo=lambda m: print(m, flush=True)))
"""


def _pids(text: str) -> list[int]:
    return [int(p) for p in re.findall(r"\(pid (\d+)\)", text)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("inherited", ["default", "ignored"])
def test_ui_ctrl_c_stops_both(inherited):
    # "ignored": started with SIGINT ignored (a background job, some test runners' workers)
    setup = _ignore_sigint if inherited == "ignored" else None
    proc = subprocess.Popen([sys.executable, "-c", SUPERVISE], stdout=subprocess.PIPE, text=True,
                            cwd=PROJECT_ROOT, preexec_fn=setup)  # fmt: skip
    lines = [proc.stdout.readline() for _ in range(3)]
    pids = _pids("".join(lines))
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    proc.send_signal(signal.SIGINT)
    # SIGINT, then SIGTERM and SIGKILL to a child that lingers: up to 20 s by design, more
    # when the machine is loaded
    assert proc.wait(timeout=45) == 0
    assert "stopped" in proc.stdout.read()
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_ui_stops_the_other_when_one_exits():
    proc = subprocess.run([sys.executable, "-c", SUPERVISE, "0.5"], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=30)  # fmt: skip
    assert proc.returncode == 3
    assert "two exited with code 3; stopping the others" in proc.stdout
    assert not any(_alive(p) for p in _pids(proc.stdout))


# --- help ------------------------------------------------------------------------------------


def test_help_lists_every_subcommand_with_examples():
    out = bimo("--help").stdout
    commands = ("generate", "load", "build", "sql", "status", "quarantine", "run", "backfill",
                "ui", "demo", "summary", "detect-anomalies", "forecast", "anomalies")  # fmt: skip
    listed = re.search(r"\{([^}]*)\}", out).group(1).split(",")
    assert set(commands) <= set(listed)
    for command in commands:
        assert re.search(rf"^\s+{re.escape(command)}\s", out, re.MULTILINE), command
    for command in ("sql", "status", "quarantine", "run", "backfill", "ui"):
        text = bimo(command, "--help").stdout
        assert "example" in text and f"bimo {command}" in text, command
