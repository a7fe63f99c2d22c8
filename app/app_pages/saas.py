"""SaaS page: spend per tool by source tag, paid vs active seats over time, idle seats to cut."""

from __future__ import annotations

from datetime import timedelta

import altair as alt
import polars as pl
import streamlit as st

from app import data, theme

NO_SAAS = (
    "No SaaS data yet — load seat snapshots and invoices (`bimo load github-copilot-seats "
    "FILES`, `slack-billable`, `zoom-users`, `saas-invoices`), or run `make demo`."
)

st.title("SaaS")
st.caption(theme.legend_markdown())

bounds = data.saas_date_bounds()
if bounds is None:
    st.info(NO_SAAS)
    st.stop()
first, last = bounds
with st.sidebar:
    picked = st.date_input(
        "Date range",
        value=(max(first, last - timedelta(days=89)), last),
        min_value=first,
        max_value=last,
        key="saas_range",
    )
picked = picked if isinstance(picked, tuple) else (picked,)
start = picked[0] if picked else first
end = picked[1] if len(picked) > 1 else last

st.subheader("Spend by tool")
st.caption(
    "`prod`: paid seats in the seat snapshots × seat price; `billing`: invoices (spread over "
    "their month) and GitHub billing usage. The two describe the same spend and are never added."
)
spend = data.saas_spend_by_tool(start, end, list(theme.SOURCE_TAGS))
if spend.is_empty():
    st.info("No SaaS spend in the selected range.")
else:
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
    st.altair_chart(chart, use_container_width=True)
    if spend["unconverted_rows"].sum():
        st.warning(
            "Some invoices are in a currency with no rate in `fx_rates`: they are left out "
            "of the USD totals, not counted as $0."
        )
    st.download_button(
        "Download CSV", spend.write_csv(), "saas_spend.csv", "text/csv", key="dl_saas_spend"
    )

st.subheader("Seats paid vs active")
seats = data.saas_seats(start, end)
if seats.is_empty():
    st.info("No seat snapshots in the selected range.")
else:
    long = seats.unpivot(
        index=["date", "tool"],
        on=["seats_paid", "seats_active"],
        variable_name="measure",
        value_name="seats",
    ).with_columns(pl.col("measure").str.replace("seats_", ""))
    chart = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("date:T", title=None),
            y=alt.Y("seats:Q", title="seats"),
            color=alt.Color("tool:N"),
            strokeDash=alt.StrokeDash("measure:N", title="seats"),
            tooltip=["date:T", "tool:N", "measure:N", "seats:Q"],
        )
    )
    st.altair_chart(chart, use_container_width=True)
    st.caption(
        "Active = used within the last 30 days (dbt var `saas_active_days`); Slack bills only "
        "active users, so its paid and active seats are the same."
    )

st.subheader("Idle seats")
idle = data.saas_idle_seats()
if idle.is_empty():
    st.success("No idle paid seats on the latest snapshots.")
else:
    total = idle["monthly_cost_usd"].sum()
    st.metric("Idle seats cost per month", f"${total:,.2f}", f"{idle.height} seats", border=True)
    st.dataframe(idle, hide_index=True, use_container_width=True)
    st.download_button(
        "Download CSV", idle.write_csv(), "idle_seats.csv", "text/csv", key="dl_idle_seats"
    )
