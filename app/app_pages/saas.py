"""SaaS page: spend per tool by source tag, paid vs active seats over time, idle seats to cut."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from app import components as ui
from app import data_saas, filters, theme

NO_SAAS = (
    "No SaaS data yet — load seat snapshots and invoices (`bimo load github-copilot-seats "
    "FILES`, `slack-billable`, `zoom-users`, `saas-invoices`), or run `make demo`."
)


def _spend(f: filters.Filters) -> None:
    st.subheader("Spend by tool")
    st.caption(
        "`prod`: paid seats in the seat snapshots × seat price; `billing`: invoices (spread "
        "over their month) and GitHub billing usage. The two describe the same spend and are "
        "never added."
    )
    spend = data_saas.spend_by_tool(f)
    if spend.is_empty():
        st.info("No SaaS spend in the selected range.")
        return
    chart = (
        alt.Chart(spend)
        .mark_bar()
        .encode(
            y=alt.Y("tool:N", title=None),
            x=alt.X("cost_usd:Q", title="USD"),
            yOffset="source_tag:N",
            color=theme.color_encoding(),
            tooltip=[
                alt.Tooltip("tool:N"),
                alt.Tooltip("source_tag:N", title="source"),
                alt.Tooltip("cost_usd:Q", title="spend", format="$,.2f"),
            ],
        )
    )
    st.altair_chart(chart, width="stretch")
    if spend["unconverted_rows"].sum():
        st.warning(
            "Some invoices are in a currency with no rate in `fx_rates`: they are left out "
            "of the USD totals, not counted as $0."
        )
    ui.download(spend, "saas_spend", label="Download spend by tool (CSV)")


def _seats(f: filters.Filters) -> None:
    st.subheader("Seats paid vs active")
    seats = data_saas.seats(f)
    if seats.is_empty():
        st.info("No seat snapshots in the selected range.")
        return
    long = seats.unpivot(
        index=["date", "tool"],
        on=["seats_paid", "seats_active"],
        variable_name="measure",
        value_name="seats",
    ).with_columns(pl.col("measure").str.replace("seats_", ""))
    chart = (
        alt.Chart(long, title=theme.chart_title("prod", "seat snapshots"))
        .mark_line(point=True)
        .encode(
            x=alt.X("date:T", title=None),
            y=alt.Y("seats:Q", title="seats"),
            color=alt.Color("tool:N"),
            strokeDash=alt.StrokeDash("measure:N", title="seats"),
            tooltip=["date:T", "tool:N", "measure:N", "seats:Q"],
        )
        .interactive(bind_y=False)
    )
    st.altair_chart(chart, width="stretch")
    st.caption(
        "Seat counts come from the vendors' APIs (`prod`). Active = used within the last 30 "
        "days (dbt var `saas_active_days`); Slack bills only active users, so its paid and "
        "active seats are the same."
    )


def _idle(f: filters.Filters) -> None:
    st.subheader("Idle seats")
    idle = data_saas.idle_seats(f)
    if idle.is_empty():
        st.success("No idle paid seats on the latest snapshots.")
        return
    total = idle["monthly_cost_usd"].sum()
    st.metric(
        f"{theme.badge('prod')} Idle seats cost per month",
        f"${total:,.2f}",
        f"{idle.height} seats",
        delta_color="off",
        border=True,
    )
    ui.table(idle, "idle_seats")


def render() -> None:
    """Draw the SaaS page."""
    st.title("SaaS")
    st.caption(theme.legend_markdown())
    if data_saas.date_bounds() is None:
        st.info(NO_SAAS)
        return
    f = filters.current()
    _spend(f)
    _seats(f)
    _idle(f)


render()
