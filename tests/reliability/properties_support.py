"""Helpers for the property tests of token normalisation and pricing: the hypothesis budget
(`FEW`), the staging model of each gateway format, the compiled SQL of the staging models and the
two intermediate models they feed (one `dbt compile` into a temporary target) and an in-memory
DuckDB catalogue to run it in, over the parsers' raw tables. Each test module wraps the last two
in module-scoped fixtures of its own (`compiled`, `wh`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, settings

from bimo.dbt_runner import DBT
from bimo.settings import DBT_PROJECT_DIR
from ingestion.formats import FORMATS
from ingestion.source import arrow_schema

FEW = settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
STAGING = {
    "bimo-gateway": "stg_gateway__bimo_requests",
    "litellm": "stg_gateway__litellm_spend_logs",
    "otel-genai": "stg_gateway__otel_spans",
    "cli-log": "stg_gateway__cli_usage",
}


def compile_models(tmp: Path) -> dict[str, str]:
    """The compiled SQL of the staging models and the two intermediate models they feed
    (one `dbt compile` into a temporary target, so the repository's target is not touched)."""
    models = [*STAGING.values(), "int_llm_requests_unioned", "int_llm_requests_priced"]
    env = {
        **os.environ,
        "BIMO_WAREHOUSE": str(tmp / "w.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    cmd = [DBT, "compile", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
           str(DBT_PROJECT_DIR), "--target-path", str(tmp / "target"), "--log-path",
           str(tmp / "logs"), "--select", *models]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    found = {p.stem: p.read_text() for p in (tmp / "target" / "compiled").rglob("*.sql")}
    return {m: found[m] for m in models}


def staging_catalogue(compiled: dict[str, str]) -> duckdb.DuckDBPyConnection:
    """An in-memory catalogue named like the compiled SQL's (`w`): the raw tables with the
    parsers' Arrow schemas, the staging views, the provider aliases seed."""
    con = duckdb.connect()
    con.execute("attach ':memory:' as w")
    con.execute("use w")
    for schema in ("raw_gateway", "staging", "intermediate", "reference"):
        con.execute(f"create schema {schema}")
    for module in FORMATS.values():
        empty = pa.Table.from_pylist([], schema=arrow_schema(module))  # noqa: F841
        con.execute(f"create table raw_gateway.{module.TABLE} as select * from empty")
    aliases = DBT_PROJECT_DIR / "seeds" / "provider_aliases.csv"
    con.execute(
        "create table reference.provider_aliases as select * from read_csv(?, all_varchar=true)",
        [str(aliases)],
    )
    for view in STAGING.values():
        con.execute(f"create view staging.{view} as {compiled[view]}")
    return con
