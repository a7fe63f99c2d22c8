"""Budgets, alerts and insights: `analytics.budget_status`, `analytics.alerts`,
`analytics.alert_deliveries` and `analytics.insights`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from app import data

if TYPE_CHECKING:
    from app.filters import Filters

TAG = {"tag": "source_tag"}


def budget_status(f: Filters) -> pl.DataFrame:
    """Every budget's current period: spent, forecast at period end, risk (one row each)."""
    if not data.table_exists("analytics", "budget_status"):
        return pl.DataFrame()
    where, params = f.clause(TAG)
    return data.query(
        f"""
        select budget_name, source_tag, period, period_start, period_end, as_of, data_through,
            amount_usd, spent_usd, pct_used, forecast_usd, forecast_pct, forecast_method,
            days_until_exceeded, exceeds_on, risk, thresholds, thresholds_crossed, cost_type,
            scope, rows_without_usd, computed_at,
        from analytics.budget_status
        where {where}
        order by case risk when 'high' then 0 when 'medium' then 1 else 2 end, pct_used desc
        """,
        params,
    )


def alerts(f: Filters, *, limit: int = 500) -> pl.DataFrame:
    """The latest alerts for the chosen source tags (alerts without a tag always show)."""
    if not data.table_exists("analytics", "alerts"):
        return pl.DataFrame()
    tags = list(f.chosen("tag"))
    return data.query(
        """
        select created_at, severity, kind, source_tag, title, message, subject, subject_date,
            amount_usd, reference_usd, impact_usd, superseded_by, alert_id,
        from analytics.alerts
        where ?::varchar[] = [] or source_tag is null or list_contains(?::varchar[], source_tag)
        order by created_at desc, alert_id
        limit ?
        """,
        [tags, tags, limit],
    )


def deliveries(f: Filters) -> pl.DataFrame:
    """Every delivery attempt record (alert × channel) with its alert, failures first."""
    if not data.table_exists("analytics", "alert_deliveries"):
        return pl.DataFrame()
    tags = list(f.chosen("tag"))
    join = data.table_exists("analytics", "alerts")
    columns = "a.title, a.source_tag, a.severity," if join else ""
    source = (
        "analytics.alert_deliveries d left join analytics.alerts a using (alert_id)"
        if join
        else "analytics.alert_deliveries d"
    )
    tag_filter = (
        "and (?::varchar[] = [] or a.source_tag is null or list_contains(?::varchar[], "
        "a.source_tag))"
        if join
        else ""
    )
    return data.query(
        f"""
        select d.channel, d.channel_type, d.status, d.attempts, {columns}
            d.last_attempt_at, d.delivered_at, d.next_attempt_at, d.last_error, d.alert_id,
        from {source}
        where true {tag_filter}
        order by d.status = 'delivered', d.last_attempt_at desc nulls last, d.channel
        """,
        [tags, tags] if join else [],
    )


def insights(f: Filters) -> pl.DataFrame:
    """Insights for the chosen source tags whose period overlaps the date range, largest
    monthly impact first."""
    if not data.table_exists("analytics", "insights"):
        return pl.DataFrame()
    where, params = f.clause(TAG)
    return data.query(
        f"""
        select severity, source_tag, kind, title, explanation, impact_usd_monthly, subject_type,
            subject, scope, metric, metric_value, threshold, period_start, period_end,
            evidence::varchar as evidence, insight_id,
        from analytics.insights
        where {where} and period_end >= ? and period_start <= ?
        order by impact_usd_monthly desc nulls last, severity, insight_id
        """,
        [*params, f.start, f.end],
    )
