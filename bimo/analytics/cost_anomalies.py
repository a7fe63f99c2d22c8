"""`analytics.cost_anomalies`: the series scored, and each anomaly with its top driver, the first
day of its run and its status (see docs/anomalies.md)."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import polars as pl

from bimo.analytics.acks import ACK_COLUMNS, with_status
from bimo.analytics.anomalies import AnomalyConfig, detect
from bimo.analytics.anomaly_rows import ANOMALY_COLUMNS
from bimo.analytics.coverage import Coverage, tag_coverage
from bimo.analytics.drivers import DRIVER_COLUMNS, with_drivers
from bimo.analytics.signals import signal_series
from bimo.analytics.spend import spend_rows, spend_series

_METHOD = ANOMALY_COLUMNS.index("method")
COLUMNS = [
    *ANOMALY_COLUMNS[:_METHOD],
    *DRIVER_COLUMNS,
    "method",
    "status",
    *ACK_COLUMNS,
    "detected_at",
]


def anomaly_series(
    con: duckdb.DuckDBPyConnection, cfg: AnomalyConfig | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, Coverage]:
    """(series, spend rows, coverage): every series anomaly detection scores, over each source
    tag's complete days (`bimo.analytics.spend`, `.signals`, `.coverage`)."""
    cfg = cfg or AnomalyConfig()
    coverage = tag_coverage(con, settle=timedelta(hours=cfg.billing_settle_hours))
    rows = spend_rows(con, coverage)
    series = pl.concat(
        [
            spend_series(rows, coverage, min_share=cfg.min_series_share),
            signal_series(con, coverage),
        ]
    )
    return series, rows, coverage


def cost_anomalies(
    con: duckdb.DuckDBPyConnection, cfg: AnomalyConfig | None = None
) -> pl.DataFrame:
    """Every anomaly in the warehouse's complete days, in `COLUMNS`. An anomaly already stored
    keeps its `detected_at`; acknowledged ones say so (`bimo.analytics.acks`)."""
    series, rows, coverage = anomaly_series(con, cfg)
    found = with_drivers(detect(series, cfg), rows, coverage)
    return with_status(con, _keep_detected_at(con, found)).select(COLUMNS)


def _keep_detected_at(con: duckdb.DuckDBPyConnection, found: pl.DataFrame) -> pl.DataFrame:
    columns = {
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'analytics' and table_name = 'cost_anomalies'"
        ).fetchall()
    }
    if not {"anomaly_id", "detected_at"} <= columns:
        return found
    before = con.sql("select anomaly_id, detected_at as seen from analytics.cost_anomalies").pl()
    before = before.with_columns(pl.col("seen").cast(pl.Datetime("us"))).unique("anomaly_id")
    return (
        found.join(before, on="anomaly_id", how="left")
        .with_columns(detected_at=pl.coalesce("seen", "detected_at"))
        .drop("seen")
    )
