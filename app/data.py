"""The dashboard's only access to the warehouse: cached, read-only queries on the published copy.

Each query opens a short-lived sandboxed connection to the read copy and closes it, so the
dashboard never blocks the pipeline. Results are cached for a minute and keyed by the copy's
modification time, so a newly published warehouse shows up on the next rerun.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl
import streamlit as st

from bimo.settings import get_settings
from bimo.warehouse import read_connection

NO_DATA_MESSAGE = "No data yet — run `make demo` or `bimo load SOURCE FILES`."
RECONCILIATION_COLUMNS = """
    prod_estimate_usd, billing_usd, variance_usd, variance_pct,
    gap_unlogged_usd, gap_dev_tools_usd, gap_price_usd, gap_token_category_usd,
    gap_credits_tax_fees_usd, gap_fx_usd, gap_unexplained_usd, prod_requests, billing_line_items,
"""
TOP_DIMENSIONS = {
    "model": "provider || '/' || coalesce(model, service, '(unknown)')",
    "project": "coalesce(project, '(none)')",
}


def _snapshot_version() -> tuple[str, int] | None:
    """The read copy's path and modification time, or None when nothing is published."""
    snapshot = get_settings().snapshot
    try:
        return str(snapshot), snapshot.stat().st_mtime_ns
    except FileNotFoundError:
        return None


@st.cache_data(ttl=60, show_spinner=False)
def _cached_query(version: tuple[str, int], sql: str, params: list | None) -> pl.DataFrame:
    """Run `sql` on the read copy identified by `version`; a missing table gives an empty frame."""
    con = read_connection(get_settings())
    if con is None:
        return pl.DataFrame()
    try:
        return con.sql(sql, params=params).pl()
    except duckdb.CatalogException:
        return pl.DataFrame()
    finally:
        con.close()


def query(sql: str, params: list | None = None) -> pl.DataFrame:
    """The result of a read-only query, cached for 60 s; empty when no warehouse is published."""
    version = _snapshot_version()
    if version is None:
        return pl.DataFrame()
    return _cached_query(version, sql, params)


def warehouse_published() -> bool:
    """Whether a read copy of the warehouse exists."""
    return _snapshot_version() is not None


def table_exists(schema: str, table: str) -> bool:
    """Whether `schema.table` exists in the published warehouse."""
    df = query(
        "select count(*) as n from information_schema.tables"
        " where table_schema = ? and table_name = ?",
        [schema, table],
    )
    return not df.is_empty() and df.item(0, "n") > 0


def cost_date_bounds() -> tuple[date, date] | None:
    """First and last charge date in the daily cost mart, or None when it is missing or empty."""
    df = query("select min(charge_date) as lo, max(charge_date) as hi from marts.fct_daily_cost")
    if df.is_empty() or df.item(0, "hi") is None:
        return None
    return df.item(0, "lo"), df.item(0, "hi")


def source_tags() -> list[str]:
    """The source tags present in the daily cost mart."""
    df = query("select distinct source_tag from marts.fct_daily_cost order by 1")
    return [] if df.is_empty() else df["source_tag"].to_list()


def spend_summary(as_of: date, tags: list[str]) -> pl.DataFrame:
    """Per source tag: USD spend on `as_of`, month to date and over the 30 days ending `as_of`,
    plus requests and unpriced requests over those 30 days. Spend is NULL when a window has
    no rows; sums stay DECIMAL."""
    return query(
        """
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
        where charge_date between least(month_start, start_30) and as_of
            and list_contains(?::varchar[], source_tag)
        group by source_tag
        """,
        [as_of, tags],
    )


def daily_spend(start: date, end: date, tags: list[str]) -> pl.DataFrame:
    """USD spend, requests and unpriced requests per day and source tag between two dates."""
    return query(
        """
        select
            charge_date,
            source_tag,
            sum(cost_usd)::double as cost_usd,
            sum(requests) as requests,
            sum(unpriced_requests) as unpriced_requests,
        from marts.fct_daily_cost
        where charge_date between ? and ? and list_contains(?::varchar[], source_tag)
        group by all
        order by charge_date, source_tag
        """,
        [start, end, tags],
    )


def top_spend(dimension: str, as_of: date, tags: list[str], *, limit: int = 10) -> pl.DataFrame:
    """The `limit` largest `dimension` values ('model' or 'project') by USD spend in the 30 days
    ending `as_of`, ranked separately within each source tag."""
    expr = TOP_DIMENSIONS[dimension]
    return query(
        f"""
        with labelled as (
            select source_tag, {expr} as label, cost_usd, requests, unpriced_requests,
            from marts.fct_daily_cost
            where charge_date between ? and ? and list_contains(?::varchar[], source_tag)
        )
        select
            source_tag,
            label as {dimension},
            sum(cost_usd)::double as cost_usd,
            sum(requests) as requests,
            sum(unpriced_requests) as unpriced_requests,
        from labelled
        group by source_tag, label
        qualify row_number() over (partition by source_tag order by sum(cost_usd) desc) <= ?
        order by source_tag, cost_usd desc
        """,
        [as_of - timedelta(days=29), as_of, tags, limit],
    )


def anomalies(start: date, end: date, tags: list[str]) -> pl.DataFrame:
    """Flagged anomalies dated between two dates for the given source tags, latest first."""
    return query(
        """
        select
            anomaly_date, source_tag, metric, series_level, series_key, severity, direction,
            actual, expected, lower_bound, upper_bound, impact_usd, score, method, status,
            detected_at,
        from analytics.cost_anomalies
        where anomaly_date between ? and ? and list_contains(?::varchar[], source_tag)
        order by anomaly_date desc, detected_at desc, impact_usd desc nulls last
        """,
        [start, end, tags],
    )


def total_forecast(tag: str, *, horizon_days: int = 30) -> pl.DataFrame:
    """The latest forecast of a source tag's total daily spend: its first `horizon_days` days
    with the 80 % and 95 % intervals."""
    return query(
        """
        with latest as (
            select *
            from analytics.cost_forecast
            where source_tag = ? and series_level = 'total'
            qualify generated_at = max(generated_at) over ()
        )
        select forecast_date, model_name, forecast, lo_80, hi_80, lo_95, hi_95, trained_through,
        from latest
        qualify row_number() over (partition by forecast_date order by model_name) = 1
        order by forecast_date
        limit ?
        """,
        [tag, horizon_days],
    )


def spend_by_category(start: date, end: date, tags: list[str]) -> pl.DataFrame:
    """USD spend per source tag and service category (ai, cloud, saas) between two dates, with
    the rows whose cost is unpriced (NULL, never $0) counted apart. Sums stay DECIMAL."""
    return query(
        """
        select
            source_tag,
            coalesce(service_category, '(none)') as service_category,
            sum(cost_usd) as cost_usd,
            count(*) filter (where cost_usd is null) as unpriced_rows,
            sum(unpriced_requests) as unpriced_requests,
        from marts.fct_daily_cost
        where charge_date between ? and ? and list_contains(?::varchar[], source_tag)
        group by all
        order by source_tag, service_category
        """,
        [start, end, tags],
    )


def reconciliation_periods() -> pl.DataFrame:
    """Every (month, provider) the reconciliation mart covers at provider level."""
    return query(
        """
        select distinct period_start as month, provider,
        from marts.fct_reconciliation
        where period_grain = 'month' and model is null
        order by month, provider
        """
    )


def reconciliation_monthly(start: date, end: date, providers: list[str]) -> pl.DataFrame:
    """Monthly prod estimate vs billing per provider (all models) for months starting between
    two dates, with the variance and its gap breakdown; money stays DECIMAL."""
    return query(
        f"""
        select period_start as month, provider, {RECONCILIATION_COLUMNS}
        from marts.fct_reconciliation
        where period_grain = 'month' and model is null
            and period_start between ? and ? and list_contains(?::varchar[], provider)
        order by month desc, provider
        """,
        [start, end, providers],
    )


def reconciliation_models(month: date, provider: str) -> pl.DataFrame:
    """One provider's monthly prod estimate vs billing per model, largest billing first."""
    return query(
        f"""
        select model, {RECONCILIATION_COLUMNS}
        from marts.fct_reconciliation
        where period_grain = 'month' and model is not null
            and period_start = ? and provider = ?
        order by billing_usd desc nulls last, model
        """,
        [month, provider],
    )


def reconciliation_daily(start: date, end: date, providers: list[str]) -> pl.DataFrame:
    """Daily prod estimate and billing per provider (all models) between two dates, as one row
    per day, provider and source tag (`prod` or `billing`) with its USD amount (double)."""
    return query(
        """
        with daily as (
            select period_start as day, provider, prod_estimate_usd, billing_usd,
            from marts.fct_reconciliation
            where period_grain = 'day' and model is null
                and period_start between ? and ? and list_contains(?::varchar[], provider)
        )
        select day, provider, 'prod' as source_tag, prod_estimate_usd::double as usd, from daily
        union all
        select day, provider, 'billing', billing_usd::double, from daily
        order by provider, day, source_tag
        """,
        [start, end, providers],
    )


def saas_date_bounds() -> tuple[date, date] | None:
    """First and last snapshot day in the SaaS seat mart, or None when it is missing or empty."""
    if not table_exists("marts", "fct_saas_seats_daily"):
        return None
    df = query("select min(date) as lo, max(date) as hi from marts.fct_saas_seats_daily")
    if df.is_empty() or df.item(0, "hi") is None:
        return None
    return df.item(0, "lo"), df.item(0, "hi")


def saas_spend_by_tool(start: date, end: date, tags: list[str]) -> pl.DataFrame:
    """SaaS USD spend per tool (service) and source tag between two dates."""
    return query(
        """
        select service as tool, source_tag, sum(cost_usd)::double as cost_usd,
            count(*) filter (where cost_usd is null) as unconverted_rows
        from marts.fct_daily_cost
        where service_category = 'saas' and charge_date between ? and ?
            and list_contains(?::varchar[], source_tag)
        group by all
        order by tool, source_tag
        """,
        [start, end, tags],
    )


def saas_seats(start: date, end: date) -> pl.DataFrame:
    """Paid, assigned and active seats per snapshot day and tool (every team summed)."""
    return query(
        """
        select date, tool, sum(seats_paid) as seats_paid, sum(seats_assigned) as seats_assigned,
            sum(seats_active) as seats_active, sum(idle_seats) as idle_seats,
            sum(idle_seat_cost_month_usd)::double as idle_cost_month_usd
        from marts.fct_saas_seats_daily
        where date between ? and ?
        group by all
        order by date, tool
        """,
        [start, end],
    )


def saas_idle_seats() -> pl.DataFrame:
    """The idle seats on each tool's latest snapshot, the most expensive and longest idle first."""
    if not table_exists("marts", "fct_saas_idle_seats"):
        return pl.DataFrame()
    return query(
        """
        select tool, coalesce(user_name, '(deleted user)') as user_name, team, plan,
            idle_since, days_idle, monthly_cost_usd::double as monthly_cost_usd,
            pending_cancellation_date, as_of_date
        from marts.fct_saas_idle_seats
        order by monthly_cost_usd desc nulls last, days_idle desc, tool, user_name
        """
    )
