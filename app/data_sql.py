"""The SQL page's access: the schema catalogue, and user queries through `bimo.sql.run_query`
(the same sandbox as `bimo sql`: one read-only statement, no files, URLs or settings, a row and
a time limit)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import data
from bimo.sql import QueryError, run_query

__all__ = ["QueryError", "catalogue", "run"]


def catalogue() -> pl.DataFrame:
    """Every table of the warehouse with its columns and their types, in order."""
    return data.query(
        """
        select table_schema as schema, table_name as "table",
            list(column_name || ' ' || data_type order by ordinal_position) as columns,
        from information_schema.columns
        group by all
        order by schema, "table"
        """
    )


@st.cache_data(ttl=data.TTL_S, show_spinner=False)
def _run(version: tuple[str, int], sql: str, limit: int, timeout_s: float) -> pl.DataFrame:
    return run_query(data.settings(), sql, limit=limit, timeout_s=timeout_s)


def run(sql: str, *, limit: int, timeout_s: float) -> pl.DataFrame:
    """The result of one audited read-only query, at most `limit` rows and `timeout_s`
    seconds; raises `QueryError` with the sandbox's message (a refusal, an error, the time
    limit). Cached like every other query, so rerunning the page does not run it again."""
    version = data.snapshot_version()
    if version is None:
        raise QueryError(
            f"no warehouse published at {data.settings().snapshot}; "
            "run `make demo` or `bimo load` first"
        )
    return _run(version, sql, limit, timeout_s)
