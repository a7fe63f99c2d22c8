"""Daily series in StatsForecast's long `unique_id / ds / y` shape, read from the marts.

`daily_cost_series` / `daily_error_rate_series` are the AI cost and error-rate series the
forecast and the accuracy benchmark use: complete days only (the last day is dropped when the
newest request is earlier than 23:00 UTC on it, a month-to-date cut-off must not look like a
drop). Anomaly detection scores the wider set built by `bimo.analytics.spend` (spend by every
dimension) and `bimo.analytics.signals` (AI signals), laid out as `LONG_COLUMNS` by `on_grid`.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl

from bimo.analytics.coverage import Coverage

SERIES_COLUMNS = [
    "unique_id",
    "source_tag",
    "metric",
    "series_level",
    "series_key",
    "provider",
    "model",
]

_COST_LEVELS = {
    "total": ("'total'", "null", "null"),
    "provider": ("provider", "provider", "null"),
    "model": ("provider || '/' || model", "provider", "model"),
}
_ERROR_LEVELS = {k: v for k, v in _COST_LEVELS.items() if k != "model"}

DIMENSIONS = ("provider", "service", "model", "project", "team", "feature")
# `weight` turns a change of y into dollars (1 for spend, priced tokens / 1,000 for the cost per
# 1k tokens); `reference_usd` is the daily spend a dollar change is judged material against;
# `volume` is the number of requests behind a share (its binomial noise floor).
NUMERIC = ("weight", "reference_usd", "volume")
LONG_COLUMNS = [*SERIES_COLUMNS[:-2], *DIMENSIONS, "ds", "y", *NUMERIC]


def last_complete_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """The newest day fully covered by the loaded logs (None when nothing is loaded)."""
    newest = con.sql(
        "select timezone('UTC', max(requested_at)) from marts.fct_llm_requests"
    ).fetchall()[0][0]
    if newest is None:
        return None
    return newest.date() if newest.hour >= 23 else newest.date() - timedelta(days=1)


def _uid(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        unique_id=pl.concat_str(
            ["source_tag", "metric", "series_level", "series_key"], separator="|"
        )
    )


def _by_level(
    con: duckdb.DuckDBPyConnection,
    levels: dict,
    metric: str,
    measure: str,
    rest: str,
    through: date,
) -> pl.DataFrame:
    """One query per series level (total / provider / model) over the same measure, unioned."""
    parts = [
        f"""
        select source_tag, '{metric}' as metric, '{level}' as series_level,
               {key} as series_key, {provider} as provider, {model} as model, {measure}
        {rest}
        """
        for level, (key, provider, model) in levels.items()
    ]
    frame = con.sql(" union all ".join(parts), params=[through] * len(parts)).pl()
    return _uid(frame)


def daily_cost_series(con: duckdb.DuckDBPyConnection, through: date) -> pl.DataFrame:
    """Daily estimated cost (USD) per source tag, in total, per provider and per model."""
    frame = _by_level(
        con,
        _COST_LEVELS,
        "cost_usd",
        "charge_date as ds, coalesce(sum(cost_usd), 0)::double as y",
        # Usage only: day-1 tax lines and credits are not traffic.
        "from marts.fct_daily_cost where charge_date <= ? and service_category = 'ai' "
        "and charge_category = 'Usage' group by all",
        through,
    )
    return fill_missing_days(frame, through)


def daily_error_rate_series(
    con: duckdb.DuckDBPyConnection, through: date, *, min_requests: int = 50
) -> pl.DataFrame:
    """Daily share of failed requests per source tag, in total and per provider (days with
    fewer than `min_requests` requests are left out: their rate is noise)."""
    return _by_level(
        con,
        _ERROR_LEVELS,
        "error_rate",
        "usage_date as ds, sum(error_requests)::double / sum(requests) as y",
        "from marts.fct_llm_usage_daily where usage_date <= ? group by all "
        f"having sum(requests) >= {int(min_requests)}",
        through,
    )


def fill_missing_days(frame: pl.DataFrame, through: date) -> pl.DataFrame:
    """Give every series a row per day from its first day to `through` (no spend = 0)."""
    if frame.is_empty():
        return frame
    spans = frame.group_by(SERIES_COLUMNS).agg(pl.col("ds").min().alias("first"))
    grid = (
        spans.with_columns(ds=pl.date_ranges("first", pl.lit(through), interval="1d"))
        .explode("ds")
        .drop("first")
    )
    return (
        grid.join(frame.select(["unique_id", "ds", "y"]), on=["unique_id", "ds"], how="left")
        .with_columns(pl.col("y").fill_null(0.0))
        .sort(["unique_id", "ds"])
    )


def on_grid(frame: pl.DataFrame, coverage: Coverage, *, fill: float | None) -> pl.DataFrame:
    """A row per day from each series' first day to its tag's last complete day; days without
    a row get `fill`, and the days a feed left incomplete (the tag's holes) are null."""
    frame = frame.with_columns(
        unique_id=pl.concat_str(
            ["source_tag", "metric", "series_level", "series_key"], separator="|"
        )
    )
    values = [c for c in ("y", "unknown", "weight", "volume") if c in frame.columns]
    ids = [c for c in frame.columns if c not in ("ds", *values)]
    spans = frame.group_by(ids).agg(pl.col("ds").min().alias("first"))
    grid = (
        spans.join(coverage.frame(), on="source_tag")
        .with_columns(ds=pl.date_ranges("first", "through", interval="1d"))
        .explode("ds")
        .drop("first", "through")
    )
    holes = pl.DataFrame(
        [(tag, d) for tag, days in coverage.holes.items() for d in days],
        schema={"source_tag": pl.String, "ds": pl.Date},
        orient="row",
    ).with_columns(hole=pl.lit(True))
    y = pl.col("y") if fill is None else pl.col("y").fill_null(fill)
    out = (
        grid.join(frame.select("unique_id", "ds", *values), on=["unique_id", "ds"], how="left")
        .join(holes, on=["source_tag", "ds"], how="left")
        .with_columns(y=pl.when(pl.col("hole")).then(None).otherwise(y))
    )
    if "unknown" in out.columns:  # a row without a USD rate: the day's spend is not known
        out = out.with_columns(y=pl.when("unknown").then(None).otherwise("y")).drop("unknown")
    return out.drop("hole")


def long_shape(series: pl.DataFrame) -> pl.DataFrame:
    """`LONG_COLUMNS` in order (missing dimensions and numbers as nulls)."""
    missing = [c for c in LONG_COLUMNS if c not in series.columns]
    series = series.with_columns(
        [pl.lit(None, pl.Float64 if c in NUMERIC else pl.String).alias(c) for c in missing]
    )
    return series.select(LONG_COLUMNS).sort("unique_id", "ds")
