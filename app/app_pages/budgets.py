"""Budgets & alerts page: every budget's current period (spent, forecast at period end, risk),
the alerts raised, and their deliveries per channel with the failures in front."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from app import components as ui
from app import data, data_ops, filters, theme

NO_BUDGETS = (
    "No budgets configured",
    "copy `config/budgets.example.yml` to `budgets.yml` beside the warehouse (or point "
    "`BIMO_BUDGETS` at it), then run the analytics (`bimo run`, or materialise "
    "`analytics/budget_status` in Dagster).",
)
NO_DELIVERIES = (
    "No alert deliveries yet",
    "configure channels in `alert_channels.yml` beside the warehouse (see "
    "`config/alert_channels.example.yml`); the Dagster sensor `bimo_alert_delivery` sends them.",
)
RISK_LABELS = {
    "high": ":red[high risk]",
    "medium": ":orange[medium risk]",
    "low": ":green[low risk]",
}


def _budget_chart(df: pl.DataFrame) -> alt.LayerChart:
    """Spent (bar, in the budget's tag colour) and forecast at period end (tick) against the
    amount (rule), per budget."""
    frame = df.select(
        "budget_name", "source_tag", "amount_usd", "spent_usd", "forecast_usd", "pct_used"
    )
    base = alt.Chart(frame, height=alt.Step(32)).encode(
        y=alt.Y("budget_name:N", title=None, sort=None)
    )
    tooltip = [
        "budget_name:N",
        "source_tag:N",
        *(
            alt.Tooltip(f"{c}:Q", format="$,.2f")
            for c in ("spent_usd", "forecast_usd", "amount_usd")
        ),
        alt.Tooltip("pct_used:Q", title="% used", format=".1f"),
    ]
    return alt.layer(
        base.mark_bar(opacity=0.85).encode(
            x=alt.X("spent_usd:Q", title="USD"), color=theme.color_encoding(), tooltip=tooltip
        ),
        base.mark_tick(thickness=3, size=24, color="gray").encode(
            x="forecast_usd:Q", tooltip=tooltip
        ),
        base.mark_tick(thickness=2, size=30, color="#E15759").encode(
            x="amount_usd:Q", tooltip=tooltip
        ),
    )


def _budgets(f: filters.Filters) -> None:
    st.subheader("Budgets")
    df = data_ops.budget_status(f)
    if df.is_empty():
        ui.missing(*NO_BUDGETS)
        return
    counts = df["risk"].value_counts()
    risks = dict(zip(counts["risk"], counts["count"], strict=True))
    cols = st.columns(3)
    for col, risk in zip(cols, ("high", "medium", "low"), strict=True):
        col.metric(RISK_LABELS[risk], risks.get(risk, 0), border=True)
    st.altair_chart(_budget_chart(df), width="stretch")
    st.caption(
        "Bar: spent this period (the budget's source tag colour). Grey tick: forecast at "
        "period end. Red tick: the budget amount."
    )
    ui.table(
        df,
        "budget_status",
        column_config={
            "source_tag": "source",
            "pct_used": st.column_config.ProgressColumn(
                "% used", format="%.0f%%", min_value=0, max_value=100
            ),
            "amount_usd": st.column_config.NumberColumn("amount", format="dollar"),
            "spent_usd": st.column_config.NumberColumn("spent", format="dollar"),
            "forecast_usd": st.column_config.NumberColumn("forecast", format="dollar"),
        },
    )


def _alerts(f: filters.Filters) -> None:
    st.subheader("Alerts")
    if not data.table_exists("analytics", "alerts"):
        ui.missing(
            "Alerts are not computed yet",
            "they are raised by the analytics (`bimo run`, or materialise `analytics/alerts` "
            "in Dagster) from budgets, anomalies and spend spikes.",
        )
        return
    alerts = data_ops.alerts(f)
    if alerts.is_empty():
        st.success("No alerts raised.")
        return
    ui.table(alerts, "alerts", column_config={"source_tag": "source"})
    superseded = alerts["superseded_by"].is_not_null().sum()
    if superseded:
        st.caption(f"{superseded} threshold alert(s) superseded by a higher one: not delivered.")


def _deliveries(f: filters.Filters) -> None:
    st.subheader("Deliveries")
    df = data_ops.deliveries(f)
    if df.is_empty():
        ui.missing(*NO_DELIVERIES)
        return
    summary = df.group_by("channel", "status").len("deliveries").sort("channel", "status")
    failed = df.filter(pl.col("status") != "delivered")
    if not failed.is_empty():
        st.error(
            f"{failed.height} delivery(ies) not delivered — last error: "
            f"{failed.item(0, 'last_error') or 'unknown'} (channel {failed.item(0, 'channel')})",
            icon=":material/error:",
        )
    ui.table(summary, "delivery_summary")
    ui.table(df, "alert_deliveries")
    st.caption(
        "A failed delivery is retried with backoff until `max_attempts`; `next_attempt_at` "
        "empty means it is out of attempts (docs/budgets-and-alerts.md)."
    )


def render() -> None:
    """Draw the Budgets & alerts page."""
    st.title("Budgets & alerts")
    st.markdown(theme.legend_markdown())
    f = filters.current()
    _budgets(f)
    _alerts(f)
    _deliveries(f)


render()
