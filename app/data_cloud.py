"""Cloud queries: cloud spend in `marts.fct_daily_cost` and the billing line items behind it in
`marts.fct_cost_line_items` (services, charge kinds, commitments, top resources)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from app import data
from app.filters import DAILY_COST_COLUMNS

if TYPE_CHECKING:
    from app.filters import Filters

LINE_ITEM_COLUMNS = {
    "tag": "source_tag",
    "provider": "x_provider",
    "project": "x_project",
    "team": "x_team",
    "env": "x_environment",
}
"""Each filter's column in `marts.fct_cost_line_items` (its category is always cloud here)."""
DAILY_COLUMNS = {k: v for k, v in DAILY_COST_COLUMNS.items() if k != "category"}


def has_cloud() -> bool:
    """Whether any cloud spend is loaded."""
    if not data.table_exists("marts", "fct_daily_cost"):
        return False
    df = data.query(
        "select count(*) as n from marts.fct_daily_cost where service_category = 'cloud'"
    )
    return not df.is_empty() and df.item(0, "n") > 0


def daily_by_provider(f: Filters) -> pl.DataFrame:
    """Billed cloud USD per day, source tag and provider."""
    where, params = f.clause(DAILY_COLUMNS, date_column="charge_date")
    return data.query(
        f"""
        select charge_date, source_tag, coalesce(provider, '{data.NONE_LABEL}') as provider,
            sum(cost_usd)::double as cost_usd,
        from marts.fct_daily_cost
        where service_category = 'cloud' and {where}
        group by all
        order by charge_date, source_tag, provider
        """,
        params,
    )


def services(f: Filters) -> pl.DataFrame:
    """Per source tag, provider and service: billed, effective and list USD cost, and what
    discounts and commitments saved against list (list − effective)."""
    where, params = f.clause(DAILY_COLUMNS, date_column="charge_date")
    return data.query(
        f"""
        select source_tag, provider, service,
            sum(cost_usd) as billed_usd,
            sum(effective_cost_usd) as effective_usd,
            sum(list_cost_usd) as list_usd,
            sum(list_cost_usd) - sum(effective_cost_usd) as saved_vs_list_usd,
            count(*) filter (where cost_usd is null) as rows_without_usd,
        from marts.fct_daily_cost
        where service_category = 'cloud' and {where}
        group by all
        order by source_tag, billed_usd desc nulls last
        """,
        params,
    )


def charges(f: Filters) -> pl.DataFrame:
    """Per source tag and charge category (usage, purchases, tax, credits, adjustments):
    billed and effective USD."""
    where, params = f.clause(DAILY_COLUMNS, date_column="charge_date")
    return data.query(
        f"""
        select source_tag, coalesce(charge_category, '{data.NONE_LABEL}') as charge_category,
            sum(cost_usd) as billed_usd, sum(effective_cost_usd) as effective_usd,
        from marts.fct_daily_cost
        where service_category = 'cloud' and {where}
        group by all
        order by source_tag, charge_category
        """,
        params,
    )


def commitments(f: Filters) -> pl.DataFrame:
    """Commitment-covered usage per source tag, provider and status (used / unused): the
    amortized (effective) cost of savings plans and reservations."""
    if not data.table_exists("marts", "fct_cost_line_items"):
        return pl.DataFrame()
    where, params = f.clause(LINE_ITEM_COLUMNS, date_column="charge_date")
    return data.query(
        f"""
        select source_tag, x_provider as provider, commitment_discount_status as status,
            sum(effective_cost_usd) as effective_usd, sum(list_cost_usd) as list_usd,
        from marts.fct_cost_line_items
        where x_service_category = 'cloud' and commitment_discount_status is not null
            and {where}
        group by all
        order by source_tag, provider, status
        """,
        params,
    )


def top_resources(f: Filters, *, limit: int = 25) -> pl.DataFrame:
    """The `limit` cloud resources with the highest effective USD cost, per source tag."""
    if not data.table_exists("marts", "fct_cost_line_items"):
        return pl.DataFrame()
    where, params = f.clause(LINE_ITEM_COLUMNS, date_column="charge_date")
    return data.query(
        f"""
        select source_tag, x_provider as provider, service_name, resource_id,
            any_value(resource_name) as resource_name, any_value(region_id) as region,
            sum(cost_usd) as billed_usd, sum(effective_cost_usd) as effective_usd,
        from marts.fct_cost_line_items
        where x_service_category = 'cloud' and resource_id is not null and {where}
        group by source_tag, x_provider, service_name, resource_id
        qualify row_number() over (
            partition by source_tag order by sum(effective_cost_usd) desc nulls last
        ) <= ?
        order by source_tag, effective_usd desc nulls last
        """,
        [*params, limit],
    )
