"""Readers and writers at once: queries never fail while a load and a dbt build write, and loads
started together queue and count once."""

import os
import re
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bimo.settings import get_settings

BIMO = str(Path(sys.executable).parent / "bimo")


def _bimo(*args: str, warehouse: Path) -> subprocess.Popen:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.Popen(
        [BIMO, *args, "--warehouse", str(warehouse)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_queries_never_fail_while_a_load_and_dbt_build_write(built, tmp_path):
    from bimo.demo import generate
    from bimo.sql import run_query
    from bimo.warehouse import read_connection

    settings, _ = built
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(settings.warehouse, warehouse)
    shutil.copyfile(settings.snapshot, tmp_path / "warehouse.read.duckdb")
    local = get_settings(warehouse)
    extra = tmp_path / "extra"
    generate(extra, days=3, requests_per_day=400, seed=99, end=date(2026, 11, 3))
    sql = "select count(*) as n from marts.fct_llm_requests"
    before = run_query(local, sql)["n"][0]

    writer = _bimo("load", "bimo-gateway", str(extra / "bimo-gateway"), warehouse=warehouse)
    seen, errors, queries = set(), [], 0
    while writer.poll() is None:
        try:
            seen.add(int(run_query(local, sql)["n"][0]))
            con = read_connection(local)  # the dashboard's path
            try:
                con.sql("select sum(cost_usd) from marts.fct_daily_cost").fetchall()
            finally:
                con.close()
        except Exception as exc:  # any failure is what this test looks for
            errors.append(repr(exc))
        queries += 1
        time.sleep(0.02)
    output = writer.stdout.read()
    assert writer.returncode == 0, output
    assert errors == [] and queries >= 50  # ~every 20 ms through the load and the dbt build
    after = run_query(local, sql)["n"][0]
    assert before in seen and after > before


@pytest.mark.slow
def test_loads_started_together_queue_and_count_once(built, demo_dir, tmp_path):
    settings, _ = built
    warehouse = tmp_path / "warehouse.duckdb"
    runs = [
        _bimo("load", source, str(demo_dir / source), "--no-build", warehouse=warehouse)
        for source in ("bimo-gateway", "litellm", "bimo-gateway")
    ]
    outputs = [r.communicate(timeout=600)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0, 0], outputs
    loaded = [int(re.search(r"([\d,]+)\s+rows\s+loaded", o)[1].replace(",", "")) for o in outputs]
    con = duckdb.connect(str(warehouse), read_only=True)
    reference = duckdb.connect(str(settings.snapshot), read_only=True)
    try:
        for table in ("bimo_gateway_requests", "litellm_spend_logs"):
            sql = f"select count(*) from raw_gateway.{table}"
            assert con.sql(sql).fetchall() == reference.sql(sql).fetchall(), table
        gateway = con.sql("select count(*) from raw_gateway.bimo_gateway_requests").fetchall()
    finally:
        con.close()
        reference.close()
    assert sorted([loaded[0], loaded[2]]) == [0, gateway[0][0]]  # the second load added nothing
