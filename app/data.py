"""The dashboard's only access to the warehouse: cached, read-only queries on the published copy.

A page run opens one sandboxed read-only connection to the read copy on its first uncached
query, reuses it for the rest of the run and closes it when the run ends (`close_connection`,
called by the entry point), so the dashboard never blocks the pipeline and holds no connection
across reruns; the read copy is replaced atomically, so an open connection keeps reading the copy
it opened. Results are cached for a minute and keyed by the copy's modification time, so a newly
published warehouse shows up on the next rerun. The `data_*` modules hold the queries of each
page; they all run through `query` (or, for the SQL page and the source checks, the shared `bimo`
functions wrapped there).
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import duckdb
import polars as pl
import streamlit as st

from bimo.settings import Settings, get_settings
from bimo.warehouse import read_connection

TTL_S = 60
NO_DATA_MESSAGE = "No data yet — run `make demo` or `bimo load SOURCE FILES`."
NONE_LABEL = "(none)"
"""How a missing dimension value (NULL) is shown and filtered."""


def settings() -> Settings:
    """The dashboard's settings (`BIMO_WAREHOUSE` names the warehouse)."""
    return get_settings()


def snapshot_version() -> tuple[str, int] | None:
    """The read copy's path and modification time, or None when nothing is published."""
    snapshot = settings().snapshot
    try:
        return str(snapshot), snapshot.stat().st_mtime_ns
    except FileNotFoundError:
        return None


_run = threading.local()  # Streamlit runs each script run in its own thread


def _connection(version: tuple[str, int]) -> duckdb.DuckDBPyConnection | None:
    """This run's read connection to the copy `version` names, opened on first use."""
    if getattr(_run, "con", None) is not None and _run.version == version:
        return _run.con
    close_connection()
    _run.con, _run.version = read_connection(settings()), version
    return _run.con


def close_connection() -> None:
    """Close this run's read connection, if one was opened (the end of every page run)."""
    con, _run.con = getattr(_run, "con", None), None
    if con is not None:
        con.close()


@st.cache_data(ttl=TTL_S, show_spinner=False)
def _cached_query(version: tuple[str, int], sql: str, params: list | None) -> pl.DataFrame:
    """Run `sql` on the read copy identified by `version`; a missing table gives an empty frame."""
    con = _connection(version)
    if con is None:
        return pl.DataFrame()
    try:
        return con.sql(sql, params=params).pl()
    except duckdb.CatalogException:
        return pl.DataFrame()


def query(sql: str, params: list | None = None) -> pl.DataFrame:
    """The result of a read-only query, cached for 60 s; empty when no warehouse is published."""
    version = snapshot_version()
    if version is None:
        return pl.DataFrame()
    return _cached_query(version, sql, params)


def clear_cache() -> None:
    """Forget every cached result (after the dashboard itself wrote to the warehouse)."""
    st.cache_data.clear()


def warehouse_published() -> bool:
    """Whether a read copy of the warehouse exists."""
    return snapshot_version() is not None


def tables() -> set[str]:
    """Every `schema.table` in the published warehouse."""
    df = query("select table_schema || '.' || table_name as name from information_schema.tables")
    return set() if df.is_empty() else set(df["name"].to_list())


def table_exists(schema: str, table: str) -> bool:
    """Whether `schema.table` exists in the published warehouse."""
    return f"{schema}.{table}" in tables()


def has_rows(schema: str, table: str) -> bool:
    """Whether `schema.table` exists and holds at least one row."""
    if not table_exists(schema, table):
        return False
    return not query(f"select 1 as one from {schema}.{table} limit 1").is_empty()


def cost_date_bounds() -> tuple[date, date] | None:
    """First and last charge date in the daily cost mart, or None when it is missing or empty."""
    if not table_exists("marts", "fct_daily_cost"):
        return None
    df = query("select min(charge_date) as lo, max(charge_date) as hi from marts.fct_daily_cost")
    if df.is_empty() or df.item(0, "hi") is None:
        return None
    return df.item(0, "lo"), df.item(0, "hi")


def yesterday() -> date:
    """Yesterday, the last day a morning view can be complete."""
    return date.today() - timedelta(days=1)


def distinct_values(sources: tuple[tuple[str, str], ...]) -> list[str]:
    """The distinct values across the given `(schema.table, expression)` sources that exist,
    sorted, NULL shown as `NONE_LABEL` (a filter's options)."""
    present = tables()
    parts = [
        f"select distinct coalesce({expr}::varchar, '{NONE_LABEL}') as v from {table}"
        for table, expr in sources
        if table in present
    ]
    if not parts:
        return []
    df = query(f"select distinct v from ({' union all '.join(parts)}) order by v")
    return df["v"].to_list()
