"""End-of-month and end-of-quarter spend projections: actual to date + forecast of the rest.

For each forecast series, the period is the calendar month (quarter) holding the first forecast
day, the day after `trained_through`. The projection is the series' actual spend from the start
of that period through `trained_through`, plus the forecast of every remaining day of it.

Its bounds are the actual to date plus the **sum of the daily bounds** (`bounds_method =
'sum_of_daily_bounds'`). The ensemble has no joint distribution of its days to draw sample paths
from, and a sum of daily quantiles is the quantile of the sum only when the daily errors move
together; otherwise it is wider. Cost forecasts err mostly in level (a whole month high or low),
so the daily errors do move together, and the backtest's `total_coverage_80` (30-day totals
within the summed 80 % bounds) measures how close this comes (docs/forecasting.md).
A projection is published only when the forecast covers every remaining day of its period.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from bimo.analytics.forecast import INTERVAL_COLUMNS

PERIODS = ("month", "quarter")
KEYS = ["source_tag", "series_level", "series_key"]


def period_bounds(day: date, period: str) -> tuple[date, date]:
    """First and last day of the calendar month or quarter holding `day`."""
    months = {"month": 1, "quarter": 3}[period]
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    after = first_month + months
    end = date(day.year + (after > 12), (after - 1) % 12 + 1, 1) - timedelta(days=1)
    return start, end


def days_to_quarter_end(trained_through: date) -> int:
    """Forecast days needed to reach the end of the quarter holding the first forecast day."""
    return (period_bounds(trained_through + timedelta(days=1), "quarter")[1] - trained_through).days


def project(series: pl.DataFrame, forecast: pl.DataFrame) -> pl.DataFrame:
    """Projections from daily actuals (`source_tag`, `series_level`, `series_key`, `ds`, `y`)
    and forecast rows (`analytics.cost_forecast`'s columns)."""
    if forecast.is_empty():
        return _empty()
    now = datetime.now(UTC).replace(tzinfo=None)
    parts = []
    heads = forecast.group_by(KEYS).agg(
        pl.col("provider").first(), pl.col("model_name").first(), pl.col("trained_through").max()
    )
    for head in heads.iter_rows(named=True):
        through = head["trained_through"]
        key = pl.all_horizontal(pl.col(k).eq_missing(head[k]) for k in KEYS)
        fc = forecast.filter(key & (pl.col("trained_through") == through))
        actual = series.filter(key)
        for period in PERIODS:
            start, end = period_bounds(through + timedelta(days=1), period)
            rest = fc.filter(pl.col("forecast_date").is_between(through + timedelta(days=1), end))
            remaining = (end - through).days
            if rest.height < remaining:
                continue
            to_date = float(actual.filter(pl.col("ds").is_between(start, through))["y"].sum())
            sums = rest.select(pl.col("forecast", *INTERVAL_COLUMNS).sum()).row(0, named=True)
            parts.append(
                {
                    **{k: head[k] for k in (*KEYS, "provider")},
                    "period": period,
                    "period_start": start,
                    "period_end": end,
                    "actual_through": through,
                    "days_elapsed": (through - start).days + 1,
                    "days_remaining": remaining,
                    "actual_to_date": to_date,
                    "forecast_remaining": sums["forecast"],
                    "projected_total": to_date + sums["forecast"],
                    **{c: to_date + sums[c] for c in INTERVAL_COLUMNS},
                    "bounds_method": "sum_of_daily_bounds",
                    "model_name": head["model_name"],
                    "generated_at": now,
                }
            )
    if not parts:
        return _empty()
    return pl.DataFrame(parts, schema=_empty().schema).sort(*KEYS, "period")


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "source_tag": pl.String,
            "series_level": pl.String,
            "series_key": pl.String,
            "provider": pl.String,
            "period": pl.String,
            "period_start": pl.Date,
            "period_end": pl.Date,
            "actual_through": pl.Date,
            "days_elapsed": pl.Int32,
            "days_remaining": pl.Int32,
            "actual_to_date": pl.Float64,
            "forecast_remaining": pl.Float64,
            "projected_total": pl.Float64,
            "lo_80": pl.Float64,
            "hi_80": pl.Float64,
            "lo_95": pl.Float64,
            "hi_95": pl.Float64,
            "bounds_method": pl.String,
            "model_name": pl.String,
            "generated_at": pl.Datetime,
        }
    )
