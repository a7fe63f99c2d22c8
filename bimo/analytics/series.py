"""Daily series in StatsForecast's long `unique_id / ds / y` shape, read from the marts.

Only complete days are returned: the last day is dropped when the newest request is earlier than
23:00 UTC on it (a month-to-date cut-off must not look like a drop).
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl

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


def last_complete_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """The newest day fully covered by the loaded logs (None when nothing is loaded)."""
    newest = con.sql(
        "select max(timezone('UTC', requested_at)) from marts.fct_llm_requests"
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
