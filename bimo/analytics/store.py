"""Write analytics results into the warehouse's `analytics` schema (replacing the table)."""

from __future__ import annotations

import duckdb
import polars as pl


def replace_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> int:
    """Atomically replace `analytics.<name>` with `frame`; returns the row count."""
    con.execute("create schema if not exists analytics")
    arrow = frame.to_arrow()  # noqa: F841 - scanned by name below
    con.execute("begin transaction")
    try:
        con.execute(f"create or replace table analytics.{name} as select * from arrow")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return frame.height
