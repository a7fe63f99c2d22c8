"""The `bimo` command: help, loading a LiteLLM export written by someone else, errors, sql."""

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

BIMO = str(Path(sys.executable).parent / "bimo")


def run(*args, env_wh=None, check=True):
    import os

    env = {**os.environ}
    if env_wh:
        env["BIMO_WAREHOUSE"] = str(env_wh)
    proc = subprocess.run([BIMO, *args], capture_output=True, text=True, env=env)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_help_lists_every_command_with_examples():
    out = run("--help").stdout
    for command in ("generate", "load", "build", "sql", "demo", "summary"):
        assert command in out
    assert "examples:" in out
    assert "example: bimo load litellm" in run("load", "--help").stdout


# An export in the shape other LiteLLM deployments write: an older schema without
# request_duration_ms, metadata as an object (not a string), cache_hit booleans and strings,
# numeric strings, unknown extra columns, a failure row and rows with no cache detail.
FOREIGN_EXPORT_FILE = Path(__file__).parent / "data" / "litellm_foreign_export.json"
FOREIGN_EXPORT = json.loads(FOREIGN_EXPORT_FILE.read_text())


def test_load_a_foreign_litellm_export_keeps_every_row_and_its_spend(tmp_path):
    export = FOREIGN_EXPORT_FILE
    wh = tmp_path / "w.duckdb"
    out = run("load", "litellm", str(export), "--warehouse", str(wh)).stdout
    assert "5 rows loaded" in out and "0 quarantined" in out and "marts rebuilt" in out
    con = duckdb.connect(str(wh), read_only=True)
    try:
        n, reported, tokens, unpriced = con.sql(
            "select count(*), sum(reported_cost_usd), sum(total_tokens), "
            "count(*) filter (where pricing_status = 'unpriced') from marts.fct_llm_requests"
        ).fetchall()[0]
        providers = dict(
            con.sql("select request_id, provider from marts.fct_llm_requests").fetchall()
        )
    finally:
        con.close()
    expected = sum(float(r["spend"]) for r in FOREIGN_EXPORT)
    assert n == len(FOREIGN_EXPORT)
    assert abs(reported - expected) <= 1e-9
    assert tokens == 60 + 30 + 12 + 13 + 1280
    assert unpriced == 0
    assert providers["chatcmpl-AaA2"] == "anthropic"
    assert providers["chatcmpl-AaA4"] == "azure_openai"
    assert providers["chatcmpl-AaA5"] == "google"
    assert b"Oslo" not in wh.read_bytes() and b"parcel 77" not in wh.read_bytes()
    # Loading it again adds nothing.
    again = run("load", "litellm", str(export), "--warehouse", str(wh), "--no-build").stdout
    assert "0 rows loaded" in again and "5 duplicates skipped" in again


def test_load_errors_are_clear(tmp_path):
    proc = run("load", "litellm", str(tmp_path / "missing.json"), "--warehouse",
               str(tmp_path / "w.duckdb"), check=False)  # fmt: skip
    assert proc.returncode == 2 and "no such file" in proc.stdout
    proc = run("load", "nope", "x.json", check=False)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_sql_formats_and_refuses_writes(tmp_path, fmt):
    from bimo.settings import get_settings
    from bimo.warehouse import write_connection

    wh = tmp_path / "w.duckdb"
    with write_connection(get_settings(wh)) as con:
        con.execute("create table t as select 1 as a, 'x' as b")
    out = run("sql", "select a, b from t", "--format", fmt, "--warehouse", str(wh)).stdout
    assert {"csv": "a,b\n1,x", "json": '[{"a":1,"b":"x"}]', "table": "│ 1   ┆ x   │"}[fmt] in out
    bad = run("sql", "drop table t", "--warehouse", str(wh), check=False)
    assert bad.returncode == 1 and "error" in bad.stdout


def _costs_page(day_start: int, amount: float) -> dict:
    return {
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": day_start,
                "end_time": day_start + 86400,
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": amount, "currency": "usd"},
                        "line_item": "gpt-4o-2024-08-06, input",
                        "project_id": "proj_abc",
                    }
                ],
            }
        ],
        "has_more": False,
        "next_page": None,
    }


def test_load_saved_billing_api_pages_and_restate_a_day(tmp_path):
    import os

    wh = tmp_path / "w.duckdb"
    first, second = tmp_path / "pull-1.json", tmp_path / "pull-2.json"
    first.write_text(json.dumps(_costs_page(1790812800, 1.25)))  # 2026-10-01
    second.write_text(json.dumps(_costs_page(1790812800, 1.5)))
    os.utime(second, (first.stat().st_mtime + 60, first.stat().st_mtime + 60))
    out = run("load", "openai-costs", str(first), "--warehouse", str(wh)).stdout
    assert "1 rows loaded" in out and "marts rebuilt" in out
    again = run("load", "openai-costs", str(second), "--warehouse", str(wh)).stdout
    assert "1 replaced a stored one" in again
    con = duckdb.connect(str(wh), read_only=True)
    try:
        rows = con.sql(
            "select source_tag, x_provider, x_model_key, token_type, billing_currency, "
            "cost_usd::double from marts.fct_cost_line_items"
        ).fetchall()
        daily = con.sql(
            "select source_tag, service_category, sum(cost_usd)::double "
            "from marts.fct_daily_cost group by all"
        ).fetchall()
    finally:
        con.close()
    assert rows == [("billing", "openai", "gpt-4o", "input_uncached", "USD", 1.5)]
    assert daily == [("billing", "ai", 1.5)]
