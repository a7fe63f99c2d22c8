"""Reconciliation queries on `marts.fct_reconciliation`: the `prod` estimate against the
`billing` invoice per provider, month and day, with the gap explained in seven parts."""

from __future__ import annotations

from datetime import date

import polars as pl

from app import data

RECONCILIATION_COLUMNS = """
    prod_estimate_usd, billing_usd, variance_usd, variance_pct,
    gap_unlogged_usd, gap_dev_tools_usd, gap_price_usd, gap_token_category_usd,
    gap_credits_tax_fees_usd, gap_fx_usd, gap_unexplained_usd, prod_requests, billing_line_items,
"""
_PROVIDERS = "(?::varchar[] is null or list_contains(?::varchar[], provider))"


def _providers(providers: list[str] | None) -> list:
    return [providers, providers]


def periods() -> pl.DataFrame:
    """Every (month, provider) the reconciliation mart covers at provider level."""
    if not data.table_exists("marts", "fct_reconciliation"):
        return pl.DataFrame()
    return data.query(
        """
        select distinct period_start as month, provider,
        from marts.fct_reconciliation
        where period_grain = 'month' and model is null
        order by month, provider
        """
    )


def monthly(start: date, end: date, providers: list[str] | None) -> pl.DataFrame:
    """Monthly prod estimate vs billing per provider (all models; `None`: every provider) for
    months starting between two dates, with the variance and its gap breakdown; money stays
    DECIMAL."""
    return data.query(
        f"""
        select period_start as month, provider, {RECONCILIATION_COLUMNS}
        from marts.fct_reconciliation
        where period_grain = 'month' and model is null
            and period_start between ? and ? and {_PROVIDERS}
        order by month desc, provider
        """,
        [start, end, *_providers(providers)],
    )


def models(month: date, provider: str) -> pl.DataFrame:
    """One provider's monthly prod estimate vs billing per model, largest billing first."""
    return data.query(
        f"""
        select model, {RECONCILIATION_COLUMNS}
        from marts.fct_reconciliation
        where period_grain = 'month' and model is not null
            and period_start = ? and provider = ?
        order by billing_usd desc nulls last, model
        """,
        [month, provider],
    )


def daily(start: date, end: date, providers: list[str] | None) -> pl.DataFrame:
    """Daily prod estimate and billing per provider (all models) between two dates, as one row
    per day, provider and source tag (`prod` or `billing`) with its USD amount (double)."""
    return data.query(
        f"""
        with daily as (
            select period_start as day, provider, prod_estimate_usd, billing_usd,
            from marts.fct_reconciliation
            where period_grain = 'day' and model is null
                and period_start between ? and ? and {_PROVIDERS}
        )
        select day, provider, 'prod' as source_tag, prod_estimate_usd::double as usd, from daily
        union all
        select day, provider, 'billing', billing_usd::double, from daily
        order by provider, day, source_tag
        """,
        [start, end, *_providers(providers)],
    )
