"""Compute and store budget status and alerts (what the Dagster assets call)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import polars as pl

from bimo.alerts.budgets import STATUS_SCHEMA, budget_status
from bimo.alerts.config import BudgetsConfig
from bimo.alerts.rules import build_alerts, table_exists
from bimo.alerts.tables import ensure_tables, insert_new_alerts
from bimo.analytics.store import replace_table


def utc_today() -> date:
    return datetime.now(UTC).date()


def refresh_budget_status(
    con: duckdb.DuckDBPyConnection,
    config: BudgetsConfig,
    *,
    as_of: date | None = None,
    now: datetime | None = None,
) -> pl.DataFrame:
    """Recompute `analytics.budget_status` (one row per budget, current period)."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    frame = budget_status(con, config.budgets, as_of=as_of or utc_today(), now=now)
    replace_table(con, "budget_status", frame)
    return frame


def refresh_alerts(
    con: duckdb.DuckDBPyConnection,
    config: BudgetsConfig,
    *,
    as_of: date | None = None,
    now: datetime | None = None,
) -> pl.DataFrame:
    """Run the alert rules and append new alerts to `analytics.alerts`; returns the new ones."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    status = (
        con.sql("select * from analytics.budget_status").pl()
        if table_exists(con, "analytics", "budget_status")
        else pl.DataFrame(schema=STATUS_SCHEMA)
    )
    frame = build_alerts(con, status, config.rules, as_of=as_of or utc_today(), now=now)
    ensure_tables(con)
    return insert_new_alerts(con, frame)
