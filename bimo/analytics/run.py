"""Compute and store anomalies, forecasts, projections and forecast accuracy from the marts
(what the Dagster assets call)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import NamedTuple

import duckdb
import polars as pl

from bimo.analytics.anomalies import AnomalyConfig
from bimo.analytics.backtest import HORIZON as BACKTEST_HORIZON
from bimo.analytics.backtest import backtest_points, metrics
from bimo.analytics.cost_anomalies import cost_anomalies
from bimo.analytics.forecast import HORIZON, forecast
from bimo.analytics.projections import days_to_quarter_end, project
from bimo.analytics.series import daily_cost_series, last_complete_day
from bimo.analytics.store import replace_table
from bimo.warehouse import table_exists

DESCRIPTORS = ["source_tag", "series_level", "series_key", "provider"]
POINTS_TABLE = "forecast_backtest_points"  # the backtest's points, reused by the next run


def compute_anomalies(
    con: duckdb.DuckDBPyConnection, cfg: AnomalyConfig | None = None
) -> pl.DataFrame:
    """Anomalies over each source tag's complete days: spend by every dimension and the AI
    signals, with top driver, first day of the run and ack status (`bimo.analytics.cost_anomalies`,
    docs/anomalies.md)."""
    return cost_anomalies(con, cfg)


def forecast_series(con: duckdb.DuckDBPyConnection, through: date) -> pl.DataFrame:
    """The series Bimo forecasts: daily AI usage cost per source tag, in total and per provider."""
    return daily_cost_series(con, through).filter(pl.col("series_level") != "model")


def compute_forecast(con: duckdb.DuckDBPyConnection, horizon: int = HORIZON) -> pl.DataFrame:
    """Forecasts of daily cost per source tag, in total and per provider: `horizon` days, or
    up to the end of the quarter when that is further (the projections need it)."""
    through = last_complete_day(con)
    if through is None:
        return forecast(pl.DataFrame(), trained_through=None)
    h = max(horizon, days_to_quarter_end(through))
    return forecast(forecast_series(con, through), horizon=h, trained_through=through)


def compute_projections(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """End-of-month and end-of-quarter projections from `analytics.cost_forecast` and the
    actuals it was trained on."""
    fc = stored(con, "cost_forecast")
    if fc.is_empty():
        return project(pl.DataFrame(), fc)
    through = fc["trained_through"].max()
    return project(forecast_series(con, through), fc)


class Backtest(NamedTuple):
    accuracy: pl.DataFrame  # `analytics.forecast_accuracy`
    points: pl.DataFrame  # `analytics.forecast_backtest_points`
    origins: int  # origins in the points
    reused: int  # of them, taken from the stored points (same inputs) rather than fitted


def compute_accuracy(
    con: duckdb.DuckDBPyConnection, *, horizon: int = BACKTEST_HORIZON, **options
) -> Backtest:
    """Rolling-origin backtest metrics per series and method (`bimo.analytics.backtest`), and
    its points; an origin whose inputs are unchanged since the stored points reuses them."""
    through = last_complete_day(con)
    series = forecast_series(con, through) if through else pl.DataFrame()
    if series.is_empty():
        return Backtest(_empty_accuracy(), backtest_points(series), 0, 0)
    before = stored(con, POINTS_TABLE)
    points = backtest_points(series, horizon=horizon, reuse=before, **options)
    keys = points.select("cutoff", "inputs").unique()
    kept = before.select("cutoff", "inputs").unique() if "inputs" in before.columns else None
    reused = keys.join(kept, on=["cutoff", "inputs"]).height if kept is not None else 0
    accuracy = accuracy_from_points(series, points, trained_through=through, horizon=horizon)
    return Backtest(accuracy, points, keys.height, reused)


def accuracy_table(
    series: pl.DataFrame, *, trained_through: date | None, horizon: int = BACKTEST_HORIZON,
    **options,
) -> pl.DataFrame:  # fmt: skip
    """`analytics.forecast_accuracy` rows from a long frame of series with descriptors."""
    if series.is_empty():
        return _empty_accuracy()
    points = backtest_points(series, horizon=horizon, **options)
    return accuracy_from_points(series, points, trained_through=trained_through, horizon=horizon)


def accuracy_from_points(
    series: pl.DataFrame, points: pl.DataFrame, *, trained_through: date | None, horizon: int
) -> pl.DataFrame:
    """`analytics.forecast_accuracy` rows from the backtest's points of `series`."""
    scores = metrics(points)
    if scores.is_empty():
        return _empty_accuracy()
    descriptors = series.select("unique_id", *DESCRIPTORS).unique()
    return (
        scores.join(descriptors, on="unique_id")
        .with_columns(
            horizon_days=pl.lit(horizon, pl.Int32),
            trained_through=pl.lit(trained_through, pl.Date),
            generated_at=pl.lit(datetime.now(UTC).replace(tzinfo=None)),
        )
        .select(_empty_accuracy().columns)
        .sort(*DESCRIPTORS[:3], "method")
    )


def stored(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    """`analytics.<name>` as stored by an earlier run (an empty frame if there is none)."""
    if not table_exists(con, "analytics", name):
        return pl.DataFrame()
    return con.sql(f"select * from analytics.{name}").pl()


def _empty_accuracy() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            **dict.fromkeys(DESCRIPTORS, pl.String),
            "method": pl.String,
            "model_name": pl.String,
            "horizon_days": pl.Int32,
            "n_origins": pl.Int32,
            "first_origin": pl.Date,
            "last_origin": pl.Date,
            "n_points": pl.Int32,
            "mase": pl.Float64,
            "wape": pl.Float64,
            "bias": pl.Float64,
            "coverage_80": pl.Float64,
            "coverage_95": pl.Float64,
            "total_coverage_80": pl.Float64,
            "total_coverage_95": pl.Float64,
            "skill": pl.Float64,
            "trained_through": pl.Date,
            "generated_at": pl.Datetime,
        }
    )


def store(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> int:
    """Replace `analytics.<name>` with the frame."""
    return replace_table(con, name, frame)
