"""Spend queries on `marts.fct_daily_cost` (Overview, Costs explorer) and
`analytics.cost_projections` (the month-end forecast on the Overview). Every result keeps the
source tags apart; money sums stay DECIMAL unless a chart needs doubles."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import polars as pl

from app import data
from app.filters import DAILY_COST_COLUMNS

if TYPE_CHECKING:
    from app.filters import Filters

MEASURES: dict[str, str] = {
    "billed": "cost_usd",
    "effective": "effective_cost_usd",
    "list": "list_cost_usd",
}
"""The cost measures of the mart: billed (invoiced), effective (amortized), list (before
discounts)."""
EXPLORER_DIMENSIONS: tuple[str, ...] = (
    "provider",
    "service",
    "model",
    "project",
    "team",
    "environment",
    "feature",
    "service_category",
    "charge_category",
    "api_key_id",
    "currency",
)
GRAINS = ("day", "week", "month")


def _where(f: Filters, *, dates: bool = True) -> tuple[str, list]:
    return f.clause(DAILY_COST_COLUMNS, date_column="charge_date" if dates else None)


def spend_summary(as_of: date, f: Filters) -> pl.DataFrame:
    """Per source tag: USD spend on `as_of`, month to date and over the 30 days ending `as_of`,
    plus requests and unpriced requests over those 30 days. Spend is NULL when a window has
    no rows; sums stay DECIMAL. The dimension filters apply, the date range does not."""
    where, params = _where(f, dates=False)
    return data.query(
        f"""
        with windows as (
            select ?::date as as_of, date_trunc('month', as_of)::date as month_start,
                as_of - 29 as start_30
        )
        select
            source_tag,
            sum(cost_usd) filter (where charge_date = as_of) as spend_day,
            sum(cost_usd) filter (where charge_date >= month_start) as spend_mtd,
            sum(cost_usd) filter (where charge_date >= start_30) as spend_30d,
            sum(requests) filter (where charge_date >= start_30) as requests_30d,
            sum(unpriced_requests) filter (where charge_date >= start_30) as unpriced_30d,
        from marts.fct_daily_cost, windows
        where charge_date between least(month_start, start_30) and as_of and {where}
        group by source_tag
        """,
        [as_of, *params],
    )


def month_end_projections(provider: str | None = None) -> pl.DataFrame:
    """The latest end-of-month projection of AI usage spend per source tag: in total, or for one
    provider. Empty when the analytics have not run."""
    if not data.table_exists("analytics", "cost_projections"):
        return pl.DataFrame()
    level, key = ("provider", provider) if provider else ("total", "total")
    return data.query(
        """
        select source_tag, period_start, period_end, actual_through, actual_to_date,
            projected_total, lo_80, hi_80, lo_95, hi_95, model_name,
        from analytics.cost_projections
        where period = 'month' and series_level = ? and series_key = ?
        qualify generated_at = max(generated_at) over (partition by source_tag)
        order by source_tag
        """,
        [level, key],
    )


def daily_spend(f: Filters) -> pl.DataFrame:
    """USD spend, requests and unpriced requests per day and source tag."""
    where, params = _where(f)
    return data.query(
        f"""
        select
            charge_date,
            source_tag,
            sum(cost_usd)::double as cost_usd,
            sum(requests) as requests,
            sum(unpriced_requests) as unpriced_requests,
        from marts.fct_daily_cost
        where {where}
        group by all
        order by charge_date, source_tag
        """,
        params,
    )


def spend_by_category(f: Filters) -> pl.DataFrame:
    """USD spend per source tag and service category (ai, cloud, saas), with the rows whose
    cost is unpriced (NULL, never $0) counted apart. Sums stay DECIMAL."""
    where, params = _where(f)
    return data.query(
        f"""
        select
            source_tag,
            coalesce(service_category, '{data.NONE_LABEL}') as service_category,
            sum(cost_usd) as cost_usd,
            count(*) filter (where cost_usd is null) as unpriced_rows,
            sum(unpriced_requests) as unpriced_requests,
        from marts.fct_daily_cost
        where {where}
        group by all
        order by source_tag, service_category
        """,
        params,
    )


def top_movers(
    as_of: date, f: Filters, dimension: str, *, days: int = 7, limit: int = 5
) -> pl.DataFrame:
    """Per source tag, the `limit` values of `dimension` whose USD spend changed most between
    the `days` days ending `as_of` and the `days` days before them."""
    column = {"model": "provider || '/' || coalesce(model, service)"}.get(dimension, dimension)
    where, params = _where(f, dates=False)
    recent = as_of - timedelta(days=days - 1)
    return data.query(
        f"""
        with spans as (
            select source_tag, coalesce(({column})::varchar, '{data.NONE_LABEL}') as label,
                sum(cost_usd) filter (where charge_date >= ?)::double as recent_usd,
                sum(cost_usd) filter (where charge_date < ?)::double as previous_usd,
            from marts.fct_daily_cost
            where charge_date between ? and ? and {where}
            group by all
        )
        select source_tag, label as {dimension}, coalesce(recent_usd, 0) as recent_usd,
            coalesce(previous_usd, 0) as previous_usd,
            coalesce(recent_usd, 0) - coalesce(previous_usd, 0) as change_usd,
        from spans
        qualify row_number() over (partition by source_tag order by abs(change_usd) desc) <= ?
        order by source_tag, abs(change_usd) desc
        """,
        [recent, recent, recent - timedelta(days=days), as_of, *params, limit],
    )


def measure_totals(f: Filters) -> pl.DataFrame:
    """Per source tag: billed, effective and list USD cost over the filters."""
    where, params = _where(f)
    return data.query(
        f"""
        select source_tag,
            sum(cost_usd) as billed_usd,
            sum(effective_cost_usd) as effective_usd,
            sum(list_cost_usd) as list_usd,
            count(*) filter (where cost_usd is null) as rows_without_usd,
        from marts.fct_daily_cost
        where {where}
        group by all
        order by source_tag
        """,
        params,
    )


def drill_values(f: Filters, by: str, *, within: tuple[str, str] | None = None) -> list[str]:
    """The values of `by` in the filtered spend, largest billed spend first."""
    assert by in EXPLORER_DIMENSIONS
    where, params = _where(f)
    extra, more = _within(within)
    df = data.query(
        f"""
        select coalesce({by}::varchar, '{data.NONE_LABEL}') as value
        from marts.fct_daily_cost
        where {where} {extra}
        group by all
        order by sum(cost_usd) desc nulls last, value
        """,
        [*params, *more],
    )
    return [] if df.is_empty() else df["value"].to_list()


def _within(within: tuple[str, str] | None) -> tuple[str, list]:
    if within is None:
        return "", []
    column, value = within
    assert column in EXPLORER_DIMENSIONS
    return f"and coalesce({column}::varchar, '{data.NONE_LABEL}') = ?", [value]


def explore(
    f: Filters,
    *,
    by: str,
    grain: str,
    measure: str,
    within: tuple[str, str] | None = None,
    top: int = 8,
) -> pl.DataFrame:
    """Spend per period (`grain`), source tag and value of `by` (within one value of another
    dimension when drilling down), with all three cost measures. Per tag, the `top` values by
    the chosen measure keep their name; the rest are summed as "(other)" — within that tag."""
    assert by in EXPLORER_DIMENSIONS and grain in GRAINS and measure in MEASURES
    where, params = _where(f)
    extra, more = _within(within)
    rank_on = MEASURES[measure]
    return data.query(
        f"""
        with picked as (
            select date_trunc('{grain}', charge_date)::date as period, source_tag,
                coalesce({by}::varchar, '{data.NONE_LABEL}') as value,
                cost_usd, effective_cost_usd, list_cost_usd, requests, unpriced_requests,
            from marts.fct_daily_cost
            where {where} {extra}
        ),
        ranked as (
            select source_tag, value,
                row_number() over (
                    partition by source_tag order by sum({rank_on}) desc nulls last, value
                ) as rank,
            from picked
            group by source_tag, value
        )
        select period, source_tag,
            if(rank <= ?, value, '(other)') as {by},
            sum(cost_usd)::double as billed_usd,
            sum(effective_cost_usd)::double as effective_usd,
            sum(list_cost_usd)::double as list_usd,
            sum(requests) as requests,
            sum(unpriced_requests) as unpriced_requests,
        from picked join ranked using (source_tag, value)
        group by all
        order by period, source_tag, billed_usd desc nulls last
        """,
        [*params, *more, top],
    )
