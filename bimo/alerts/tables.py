"""The `analytics.alerts` and `analytics.alert_deliveries` tables.

Unlike the other analytics tables these are never replaced: alerts are appended once per
dedupe key, and a delivery row (alert × channel) is updated in place on each attempt, so
history survives every re-run.
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from bimo.alerts.rules import ALERT_SCHEMA, table_exists

ALERTS_DDL = """
create table if not exists analytics.alerts (
    alert_id varchar not null,
    dedupe_key varchar not null,
    created_at timestamp not null,
    kind varchar not null,
    severity varchar not null,
    title varchar not null,
    message varchar not null,
    source_tag varchar,
    subject varchar,
    subject_date date,
    period_start date,
    period_end date,
    threshold_pct double,
    amount_usd double,
    reference_usd double,
    impact_usd double,
    details varchar,
    superseded_by varchar
)
"""
DELIVERY_SCHEMA = {
    "alert_id": pl.String,
    "dedupe_key": pl.String,
    "channel": pl.String,
    "channel_type": pl.String,
    "status": pl.String,
    "attempts": pl.Int32,
    "first_attempt_at": pl.Datetime("us"),
    "last_attempt_at": pl.Datetime("us"),
    "delivered_at": pl.Datetime("us"),
    "next_attempt_at": pl.Datetime("us"),
    "last_error": pl.String,
}
DELIVERIES_DDL = """
create table if not exists analytics.alert_deliveries (
    alert_id varchar not null,
    dedupe_key varchar not null,
    channel varchar not null,
    channel_type varchar not null,
    status varchar not null,
    attempts integer not null,
    first_attempt_at timestamp,
    last_attempt_at timestamp,
    delivered_at timestamp,
    next_attempt_at timestamp,
    last_error varchar
)
"""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists analytics")
    con.execute(ALERTS_DDL)
    con.execute(DELIVERIES_DDL)


def mark_superseded(new: pl.DataFrame) -> pl.DataFrame:
    """When one run crosses several thresholds of a budget period at once, only the highest is
    delivered: the others are stored with `superseded_by` pointing at it."""
    thresholds = new.filter(pl.col("kind") == "budget_threshold").with_columns(
        group=pl.col("dedupe_key").str.replace(r"\|[^|]*$", "")
    )
    if thresholds.is_empty():
        return new
    top = (
        thresholds.sort("threshold_pct")
        .group_by("group")
        .agg(pl.col("dedupe_key").last().alias("top"))
    )
    mapping = thresholds.join(top, on="group").filter(pl.col("dedupe_key") != pl.col("top"))
    superseded = dict(zip(mapping["dedupe_key"], mapping["top"], strict=True))
    return new.with_columns(
        superseded_by=pl.col("dedupe_key").replace_strict(superseded, default=None)
    )


def insert_new_alerts(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> pl.DataFrame:
    """Append the alerts whose dedupe key is not stored yet; returns those new alerts."""
    ensure_tables(con)
    existing = con.sql("select dedupe_key from analytics.alerts").pl()["dedupe_key"]
    new = mark_superseded(
        frame.unique("dedupe_key", keep="first").filter(~pl.col("dedupe_key").is_in(existing))
    )
    if new.is_empty():
        return new
    arrow = new.to_arrow()  # noqa: F841 - scanned by name below
    con.execute("begin transaction")
    try:
        con.execute("insert into analytics.alerts by name select * from arrow")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return new


def read_alerts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    if not table_exists(con, "analytics", "alerts"):
        return pl.DataFrame(schema=ALERT_SCHEMA)
    return con.sql("select * from analytics.alerts order by created_at, alert_id").pl()


def read_deliveries(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    if not table_exists(con, "analytics", "alert_deliveries"):
        return pl.DataFrame(schema=DELIVERY_SCHEMA)
    return con.sql("select * from analytics.alert_deliveries").pl()


def record_delivery(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> None:
    """Insert or update one alert × channel delivery row."""
    columns = list(DELIVERY_SCHEMA)
    con.execute("begin transaction")
    try:
        con.execute(
            "delete from analytics.alert_deliveries where alert_id = ? and channel = ?",
            [row["alert_id"], row["channel"]],
        )
        con.execute(
            f"insert into analytics.alert_deliveries ({', '.join(columns)}) "
            f"values ({', '.join('?' * len(columns))})",
            [row[c] for c in columns],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
