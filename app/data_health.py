"""Data health: freshness per source and quarantined records (`bimo.source_health`, the same
code as `bimo status` and `bimo quarantine`), and rows per source and day in the raw tables."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from app import data
from bimo import source_health


@st.cache_data(ttl=data.TTL_S, show_spinner=False)
def _status(version: tuple[str, int]) -> pl.DataFrame:
    return pl.DataFrame(source_health.source_status(data.settings()), infer_schema_length=None)


def source_status() -> pl.DataFrame:
    """One row per known source: status (fresh / stale / not loaded), rows, quarantined rows,
    newest data date, lag against the expected lag, last load (empty: nothing published)."""
    version = data.snapshot_version()
    return pl.DataFrame() if version is None else _status(version)


@st.cache_data(ttl=data.TTL_S, show_spinner=False)
def _quarantine(version: tuple[str, int], limit: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    return source_health.quarantine_report(data.settings(), limit=limit)


def quarantine(*, limit: int = 50) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(quarantined rows per source and reason; the `limit` latest quarantined records)."""
    version = data.snapshot_version()
    if version is None:
        return pl.DataFrame(), pl.DataFrame()
    return _quarantine(version, limit)


def completeness(start: date, end: date) -> pl.DataFrame:
    """Rows per source and day between two dates in the raw tables, plus the days an API pull
    covered with no rows (`covered_empty`): one row per (source, day) that has either."""
    present = data.tables()
    parts, params = [], []
    for source in source_health.SOURCES:
        table = f"{source.dataset}.{source.table}"
        day = source.day_sql
        if table not in present:
            continue
        where = "source_system = ? and" if source.filtered else ""
        parts.append(
            f"select ? as source, {day} as day, count(*) as rows from {table} "
            f"where {where} {day} between ? and ? group by all"
        )
        params += [source.name, *([source.name] if source.filtered else []), start, end]
    if "raw_billing.api_coverage" in present:
        parts.append(
            "select source_system as source, usage_date as day, 0 as rows "
            "from raw_billing.api_coverage where usage_date between ? and ?"
        )
        params += [start, end]
    if not parts:
        return pl.DataFrame()
    return data.query(
        f"""
        select source, day, sum(rows) as rows, sum(rows) = 0 as covered_empty
        from ({" union all ".join(parts)})
        group by all
        order by source, day
        """,
        params,
    )
