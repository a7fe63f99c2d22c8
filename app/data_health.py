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
    covered with no rows (`covered_empty`): one row per (source, day) that has either. Read from
    the counts the publish step stores with the copy; counted from the raw tables when a copy
    predates them."""
    present = data.tables()
    if source_health.ROWS_PER_DAY_TABLE in present:
        counts = source_health.ROWS_PER_DAY_TABLE
    else:
        counts = source_health.rows_per_day_sql(present)
        if counts is None:
            return pl.DataFrame()
        counts = f"({counts})"
    return data.query(
        f"select source, day, rows, covered_empty from {counts} "
        "where day between ? and ? order by source, day",
        [start, end],
    )
