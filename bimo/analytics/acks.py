"""Acknowledging anomalies: an ack outlives every recomputation of `analytics.cost_anomalies`.

Acks live in `analytics.anomaly_acks`, keyed by the anomaly's stable id (source tag, metric,
series and date), and are written under the warehouse's writer lock; the read copy is published
afterwards, so the dashboard and `bimo anomalies list` see them at once. Recomputing anomalies
joins them back in: `status` is `acknowledged` (with `ack_reason` and `acknowledged_at`) for an
acknowledged id, else `open`. The alert rules skip acknowledged anomalies.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import polars as pl

from bimo.settings import Settings
from bimo.warehouse import read_connection, table_exists, write_connection

ACK_COLUMNS = {"ack_reason": pl.String, "acknowledged_at": pl.Datetime("us")}
ACKS_DDL = """
create table if not exists analytics.anomaly_acks (
    anomaly_id varchar primary key,
    reason varchar not null,
    acknowledged_at timestamp not null,
    source_tag varchar,
    metric varchar,
    series_level varchar,
    series_key varchar,
    anomaly_date date
)
"""


class UnknownAnomalyError(LookupError):
    """No anomaly with that id in `analytics.cost_anomalies`."""


def acknowledge(
    settings: Settings, anomaly_id: str, reason: str, *, now: datetime | None = None
) -> dict:
    """Acknowledge one anomaly (again: the new reason and time replace the old ones) and return
    its ack. Raises `UnknownAnomalyError` for an unknown id and `ValueError` for a blank reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a reason is required to acknowledge an anomaly")
    now = now or datetime.now(UTC).replace(tzinfo=None)
    with write_connection(settings) as con:
        found = (
            con.execute(
                "select source_tag, metric, series_level, series_key, anomaly_date "
                "from analytics.cost_anomalies where anomaly_id = ?",
                [anomaly_id],
            ).fetchall()
            if table_exists(con, "analytics", "cost_anomalies")
            else []
        )
        if not found:
            raise UnknownAnomalyError(f"no anomaly with id {anomaly_id!r} in cost_anomalies")
        con.execute(ACKS_DDL)
        con.execute("begin transaction")
        try:
            con.execute(
                "insert or replace into analytics.anomaly_acks values (?, ?, ?, ?, ?, ?, ?, ?)",
                [anomaly_id, reason, now, *found[0]],
            )
            for column, kind in (("ack_reason", "varchar"), ("acknowledged_at", "timestamp")):
                con.execute(
                    f"alter table analytics.cost_anomalies add column if not exists {column} {kind}"
                )
            con.execute(
                "update analytics.cost_anomalies set status = 'acknowledged', ack_reason = ?, "
                "acknowledged_at = ? where anomaly_id = ?",
                [reason, now, anomaly_id],
            )
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
    tag, metric, level, key, day = found[0]
    return {
        "anomaly_id": anomaly_id,
        "reason": reason,
        "acknowledged_at": now,
        "source_tag": tag,
        "metric": metric,
        "series_level": level,
        "series_key": key,
        "anomaly_date": day,
    }


def with_status(con: duckdb.DuckDBPyConnection, anomalies: pl.DataFrame) -> pl.DataFrame:
    """`status`, `ack_reason` and `acknowledged_at` from the stored acks."""
    empty = {"anomaly_id": pl.String, "reason": pl.String, "acknowledged_at": pl.Datetime("us")}
    acks = (
        con.sql("select anomaly_id, reason, acknowledged_at from analytics.anomaly_acks").pl()
        if table_exists(con, "analytics", "anomaly_acks")
        else pl.DataFrame(schema=empty)
    )
    acks = acks.select(
        "anomaly_id",
        ack_reason=pl.col("reason"),
        acknowledged_at=pl.col("acknowledged_at").cast(pl.Datetime("us")),
    )
    return (
        anomalies.drop(["status", *ACK_COLUMNS], strict=False)
        .join(acks, on="anomaly_id", how="left")
        .with_columns(
            status=pl.when(pl.col("ack_reason").is_not_null())
            .then(pl.lit("acknowledged"))
            .otherwise(pl.lit("open"))
        )
    )


def list_anomalies(settings: Settings, *, status: str | None = None) -> pl.DataFrame:
    """Anomalies from the read copy, latest first (empty when none are computed yet)."""
    con = read_connection(settings)
    if con is None:
        return pl.DataFrame()
    try:
        if not table_exists(con, "analytics", "cost_anomalies"):
            return pl.DataFrame()
        where = "where status = ?" if status else ""
        return con.sql(
            f"select * from analytics.cost_anomalies {where} "
            "order by anomaly_date desc, abs(impact_usd) desc nulls last, anomaly_id",
            params=[status] if status else None,
        ).pl()
    finally:
        con.close()
