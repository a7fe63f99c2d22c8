"""SaaS queries: seats in `marts.fct_saas_seats_daily` and `fct_saas_idle_seats`, SaaS spend in
`marts.fct_daily_cost` (`prod` seat estimates and `billing` invoices, never added)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import polars as pl

from app import data

if TYPE_CHECKING:
    from app.filters import Filters

SPEND_COLUMNS = {"tag": "source_tag", "team": "team"}
SEAT_COLUMNS = {"team": "team"}


def date_bounds() -> tuple[date, date] | None:
    """First and last snapshot day in the SaaS seat mart, or None when it is missing or empty."""
    if not data.table_exists("marts", "fct_saas_seats_daily"):
        return None
    df = data.query("select min(date) as lo, max(date) as hi from marts.fct_saas_seats_daily")
    if df.is_empty() or df.item(0, "hi") is None:
        return None
    return df.item(0, "lo"), df.item(0, "hi")


def spend_by_tool(f: Filters) -> pl.DataFrame:
    """SaaS USD spend per tool (service) and source tag."""
    where, params = f.clause(SPEND_COLUMNS, date_column="charge_date")
    return data.query(
        f"""
        select service as tool, source_tag, sum(cost_usd)::double as cost_usd,
            count(*) filter (where cost_usd is null) as unconverted_rows
        from marts.fct_daily_cost
        where service_category = 'saas' and {where}
        group by all
        order by tool, source_tag
        """,
        params,
    )


def seats(f: Filters) -> pl.DataFrame:
    """Paid, assigned and active seats per snapshot day and tool (the chosen teams summed)."""
    where, params = f.clause(SEAT_COLUMNS, date_column="date")
    return data.query(
        f"""
        select date, tool, sum(seats_paid) as seats_paid, sum(seats_assigned) as seats_assigned,
            sum(seats_active) as seats_active, sum(idle_seats) as idle_seats,
            sum(idle_seat_cost_month_usd)::double as idle_cost_month_usd
        from marts.fct_saas_seats_daily
        where {where}
        group by all
        order by date, tool
        """,
        params,
    )


def idle_seats(f: Filters) -> pl.DataFrame:
    """The idle seats on each tool's latest snapshot, the most expensive and longest idle first."""
    if not data.table_exists("marts", "fct_saas_idle_seats"):
        return pl.DataFrame()
    where, params = f.clause(SEAT_COLUMNS)
    return data.query(
        f"""
        select tool, coalesce(user_name, '(deleted user)') as user_name, team, plan,
            idle_since, days_idle, monthly_cost_usd::double as monthly_cost_usd,
            pending_cancellation_date, as_of_date
        from marts.fct_saas_idle_seats
        where {where}
        order by monthly_cost_usd desc nulls last, days_idle desc, tool, user_name
        """,
        params,
    )
