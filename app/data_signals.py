"""Anomaly and forecast queries: `analytics.cost_anomalies` (and acknowledging one through
`bimo.analytics.acks`), `analytics.cost_forecast`, `cost_projections` and `forecast_accuracy`,
with the actual daily series each one is about, read from the marts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import polars as pl

from app import data
from bimo.analytics import acks
from bimo.analytics.spend import SPEND_LEVELS

if TYPE_CHECKING:
    from app.filters import Filters

ANOMALY_COLUMNS = {
    "tag": "source_tag",
    "provider": "provider",
    "project": "project",
    "team": "team",
}
"""Each filter's column in `analytics.cost_anomalies`."""
# The AI signals of `bimo.analytics.signals`, as SQL over `marts.fct_llm_usage_daily`.
SIGNALS: dict[str, str] = {
    "cost_per_1k_tokens": "1000 * sum(estimated_cost_usd)::double"
    " / nullif(sum(total_tokens) filter (where estimated_cost_usd is not null), 0)",
    "error_rate": "sum(error_requests)::double / nullif(sum(requests), 0)",
    "unpriced_share": "sum(unpriced_requests)::double / nullif(sum(requests), 0)",
    "cache_hit_ratio": "sum(cache_read_tokens)::double / nullif(sum(input_uncached_tokens"
    " + cache_read_tokens + cache_write_tokens), 0)",
}
# The series a forecast models: AI usage spend (`bimo.analytics.series.daily_cost_series`).
FORECAST_SPEND = (
    "from marts.fct_daily_cost where service_category = 'ai' and charge_category = 'Usage'"
)


def anomalies(f: Filters, *, status: str | None = None) -> pl.DataFrame:
    """Anomalies dated in the range for the filters (`status`: only those), latest first and
    largest impact first within a day."""
    if not data.table_exists("analytics", "cost_anomalies"):
        return pl.DataFrame()
    where, params = f.clause(ANOMALY_COLUMNS, date_column="anomaly_date")
    status_sql = "and status = ?" if status else ""
    return data.query(
        f"""
        select * from analytics.cost_anomalies
        where {where} {status_sql}
        order by anomaly_date desc, abs(impact_usd) desc nulls last, anomaly_id
        """,
        [*params, *([status] if status else [])],
    )


def series_anomalies(row: dict) -> pl.DataFrame:
    """Every flagged day of the series `row` (an anomaly) belongs to, with its bounds."""
    return data.query(
        """
        select anomaly_id, anomaly_date, actual, expected, lower_bound, upper_bound, severity,
            status,
        from analytics.cost_anomalies
        where source_tag = ? and metric = ? and series_level = ? and series_key = ?
        order by anomaly_date
        """,
        [row["source_tag"], row["metric"], row["series_level"], row["series_key"]],
    )


def anomaly_series(row: dict, *, before: int = 60, after: int = 14) -> pl.DataFrame:
    """The actual daily values (`day`, `value`) of the series `row` belongs to, around its date:
    usage spend for `cost_usd` (as the detector reads it), else the AI signal."""
    start = row["anomaly_date"] - timedelta(days=before)
    end = row["anomaly_date"] + timedelta(days=after)
    level, key, metric = row["series_level"], row["series_key"], row["metric"]
    if metric == "cost_usd" and level in SPEND_LEVELS:
        dims = SPEND_LEVELS[level]
        conditions = [f"{d} is not null" for d in dims]
        if dims:
            conditions.append(f"concat_ws('/', {', '.join(dims)}) = ?")
        match = " and ".join(conditions) or "true"
        return data.query(
            f"""
            select charge_date as day,
                sum(if(service_category = 'saas', coalesce(list_cost_usd, cost_usd), cost_usd))
                    ::double as value,
            from marts.fct_daily_cost
            where charge_category = 'Usage' and source_tag = ? and charge_date between ? and ?
                and {match}
            group by all order by day
            """,
            [row["source_tag"], start, end, *([key] if dims else [])],
        )
    if metric in SIGNALS and level in ("total", "provider"):
        match = "provider = ?" if level == "provider" else "true"
        return data.query(
            f"""
            select usage_date as day, {SIGNALS[metric]} as value,
            from marts.fct_llm_usage_daily
            where source_tag = ? and usage_date between ? and ? and {match}
            group by all order by day
            """,
            [row["source_tag"], start, end, *([key] if level == "provider" else [])],
        )
    return pl.DataFrame()


def acknowledge(anomaly_id: str, reason: str) -> dict:
    """Acknowledge an anomaly with a reason (`bimo.analytics.acks.acknowledge`, under the
    warehouse's writer lock; it republishes the read copy) and drop the cached results."""
    try:
        return acks.acknowledge(data.settings(), anomaly_id, reason)
    finally:
        data.clear_cache()


def forecast_series() -> pl.DataFrame:
    """The series of the latest forecast run: source tag, level, key and model."""
    if not data.table_exists("analytics", "cost_forecast"):
        return pl.DataFrame()
    return data.query(
        """
        with latest as (
            select * from analytics.cost_forecast
            qualify generated_at = max(generated_at) over ()
        )
        select source_tag, series_level, series_key, any_value(model_name) as model_name,
            max(trained_through) as trained_through,
        from latest
        group by all
        order by source_tag, series_level desc, series_key
        """
    )


def forecast(tag: str, level: str, key: str, *, horizon_days: int = 90) -> pl.DataFrame:
    """The latest forecast of one series: its first `horizon_days` days with the 80 % and 95 %
    intervals."""
    return data.query(
        """
        with latest as (
            select * from analytics.cost_forecast
            where source_tag = ? and series_level = ? and series_key = ?
            qualify generated_at = max(generated_at) over ()
        )
        select forecast_date, model_name, forecast, lo_80, hi_80, lo_95, hi_95, trained_through,
        from latest
        qualify row_number() over (partition by forecast_date order by model_name) = 1
        order by forecast_date
        limit ?
        """,
        [tag, level, key, horizon_days],
    )


def forecast_actuals(tag: str, level: str, key: str, start: date, end: date) -> pl.DataFrame:
    """The actual daily AI usage spend (USD) a forecast series models, between two dates."""
    match = "provider = ?" if level == "provider" else "true"
    return data.query(
        f"""
        select charge_date as day, coalesce(sum(cost_usd), 0)::double as cost_usd,
        {FORECAST_SPEND} and source_tag = ? and charge_date between ? and ? and {match}
        group by all order by day
        """,
        [tag, start, end, *([key] if level == "provider" else [])],
    )


def accuracy() -> pl.DataFrame:
    """The latest backtest: per series and method, MASE, WAPE, bias, interval coverage and
    skill against seasonal naive."""
    if not data.table_exists("analytics", "forecast_accuracy"):
        return pl.DataFrame()
    return data.query(
        """
        select source_tag, series_level, series_key, method, model_name, horizon_days,
            n_origins, mase, wape, bias, coverage_80, coverage_95, total_coverage_80,
            total_coverage_95, skill, first_origin, last_origin, trained_through,
        from analytics.forecast_accuracy
        qualify generated_at = max(generated_at) over ()
        order by source_tag, series_level desc, series_key, method
        """
    )


def projections() -> pl.DataFrame:
    """The latest end-of-month and end-of-quarter projections of every forecast series."""
    if not data.table_exists("analytics", "cost_projections"):
        return pl.DataFrame()
    return data.query(
        """
        select source_tag, series_level, series_key, period, period_start, period_end,
            actual_through, actual_to_date, forecast_remaining, projected_total,
            lo_80, hi_80, lo_95, hi_95, model_name,
        from analytics.cost_projections
        qualify generated_at = max(generated_at) over ()
        order by source_tag, series_level desc, series_key, period
        """
    )
