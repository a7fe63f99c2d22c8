"""Checksums that say whether two warehouses hold the same data: every table of `marts` and
`analytics` (or the raw datasets), rows sorted by all columns, with the columns that record when
something ran left out — each such column listed and justified here."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import duckdb

SCHEMAS = ("marts", "analytics")
# Columns that hold *when* something ran, not what the data says: a rebuild of the same data
# legitimately writes new values, so checksums leave them out. Each one, and why:
RUN_TIMESTAMPS: dict[str, set[str]] = {
    # wall-clock time an anomaly was first detected (kept across recomputes of one warehouse,
    # but a fresh warehouse detects it "now"); when a user acknowledged it
    "analytics.cost_anomalies": {"detected_at", "acknowledged_at"},
    # when the forecast / projection / backtest was computed
    "analytics.cost_forecast": {"generated_at"},
    "analytics.cost_projections": {"generated_at"},
    "analytics.forecast_accuracy": {"generated_at"},
    # when the budget status was computed
    "analytics.budget_status": {"computed_at"},
    # when an alert was first raised (alerts are appended once per dedupe key)
    "analytics.alerts": {"created_at"},
    # delivery attempts to alert channels (the delivery sensor's wall clock)
    "analytics.alert_deliveries": {
        "first_attempt_at",
        "last_attempt_at",
        "delivered_at",
        "next_attempt_at",
    },
}
# `*_at` / timestamp-named columns that are data (event times from the sources) and stay in.
# `analytics.cost_anomalies.first_seen` also stays: it is a DATE derived from the data (the first
# day of the anomalous run), not the time of detection.
DATA_TIMESTAMPS: dict[str, set[str]] = {
    "marts.fct_cost_line_items": {
        *("billing_period_start", "billing_period_end", "charge_period_start", "charge_period_end"),
    },
    "marts.fct_llm_requests": {"requested_at"},
    "marts.fct_saas_idle_seats": {"last_active_at"},
}
# Raw columns stamped at load time (a re-load rewrites them); dlt's own `_dlt_*` tables are
# bookkeeping of loads and are left out whole.
RAW_LOAD_TIMES = {"_loaded_at", "quarantined_at"}
RAW_SCHEMAS = ("raw_gateway", "raw_billing", "raw_saas")


# --- checksums -------------------------------------------------------------------------------


def _table_checksums(
    con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...], skip: Callable[[str, str], bool]
) -> dict[str, str]:
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in (select unnest(?)) order by all",
        [list(schemas)],
    ).fetchall()
    found = {}
    for schema, table in tables:
        name = f"{schema}.{table}"
        columns = [
            c
            for (c,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            if not skip(name, c)
        ]
        if not columns:
            continue
        select = ", ".join(f'"{c}"' for c in columns)
        digest = hashlib.sha256(("|".join(columns) + "\n").encode())
        for row in con.execute(
            f'select {select} from "{schema}"."{table}" order by all'
        ).fetchall():
            digest.update(repr(row).encode())
            digest.update(b"\n")
        found[name] = digest.hexdigest()
    return found


def mart_checksums(db_path: Path, *, schemas: tuple[str, ...] = SCHEMAS) -> dict[str, str]:
    """{schema.table: sha256 over its rows sorted by all columns} for every table in `marts` and
    `analytics`, leaving out the run timestamps of RUN_TIMESTAMPS."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return _table_checksums(con, schemas, lambda t, c: c in RUN_TIMESTAMPS.get(t, ()))
    finally:
        con.close()


def raw_checksums(db_path: Path) -> dict[str, str]:
    """The same over the raw tables dlt loads, leaving out load times and dlt's bookkeeping."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return _table_checksums(
            con,
            RAW_SCHEMAS,
            lambda t, c: t.split(".")[1].startswith("_dlt") or c in RAW_LOAD_TIMES,
        )
    finally:
        con.close()


def unclassified_time_columns(db_path: Path) -> list[str]:
    """Timestamp columns (or `*_at` ones) in marts/analytics that are neither run timestamps
    nor known data: each new one needs a decision in RUN_TIMESTAMPS or DATA_TIMESTAMPS."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = con.execute(
            "select table_schema || '.' || table_name, column_name from information_schema.columns "
            "where table_schema in ('marts', 'analytics') "
            "and (data_type like 'TIMESTAMP%' or column_name like '%\\_at' escape '\\')"
        ).fetchall()
    finally:
        con.close()
    known = {t: RUN_TIMESTAMPS.get(t, set()) | DATA_TIMESTAMPS.get(t, set()) for t, _ in rows}
    return sorted(f"{t}.{c}" for t, c in rows if c not in known[t])
