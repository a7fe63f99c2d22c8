"""Compute and store anomalies and forecasts from the marts (what the Dagster assets call)."""

from __future__ import annotations

import duckdb
import polars as pl

from bimo.analytics.anomalies import AnomalyConfig, detect
from bimo.analytics.forecast import forecast
from bimo.analytics.series import daily_cost_series, daily_error_rate_series, last_complete_day
from bimo.analytics.store import replace_table


def compute_anomalies(
    con: duckdb.DuckDBPyConnection, cfg: AnomalyConfig | None = None
) -> pl.DataFrame:
    """Anomalies over every complete day in the warehouse."""
    through = last_complete_day(con)
    if through is None:
        return detect(pl.DataFrame())
    series = pl.concat(
        [daily_cost_series(con, through), daily_error_rate_series(con, through)],
        how="diagonal_relaxed",
    )
    return detect(series, cfg)


def compute_forecast(con: duckdb.DuckDBPyConnection, horizon: int = 30) -> pl.DataFrame:
    """Forecasts of daily cost per source tag, in total and per provider."""
    through = last_complete_day(con)
    if through is None:
        return forecast(pl.DataFrame(), trained_through=None)
    series = daily_cost_series(con, through).filter(pl.col("series_level") != "model")
    return forecast(series, horizon=horizon, trained_through=through)


def store(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> int:
    """Replace `analytics.<name>` with the frame."""
    return replace_table(con, name, frame)
