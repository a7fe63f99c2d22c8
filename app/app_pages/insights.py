"""Insights page: explained, deterministic findings per source tag (a dominant provider, fast
growth, feature spikes, a pricier model than needed, idle seats, unpriced models), largest
monthly impact first, each with its evidence."""

from __future__ import annotations

import json

import streamlit as st

from app import components as ui
from app import data, data_ops, filters, theme

NOT_COMPUTED = (
    "Insights are not computed yet",
    "they appear once the analytics assets have run (`make demo`, `bimo run`, or materialise "
    "`analytics/insights` in Dagster); docs/insights.md explains each kind.",
)
SEVERITY_ICONS = {"high": ":red[●]", "medium": ":orange[●]", "low": ":gray[●]"}


def render() -> None:
    """Draw the Insights page."""
    st.title("Insights")
    st.markdown(theme.legend_markdown())
    if not data.table_exists("analytics", "insights"):
        ui.missing(*NOT_COMPUTED)
        return
    f = filters.current()
    df = data_ops.insights(f)
    if df.is_empty():
        st.success("No insights for these source tags and dates.")
        return
    for tag, part in ui.per_tag(df, f.tags()):
        if part.is_empty():
            continue
        impact = part["impact_usd_monthly"].sum()
        st.subheader(f"{theme.badge(tag)} {part.height} insight(s)")
        st.caption(f"{theme.SOURCE_MEANINGS.get(tag, '')} · about {ui.usd(impact)} a month")
        for row in part.iter_rows(named=True):
            icon = SEVERITY_ICONS.get(row["severity"], "")
            amount = row["impact_usd_monthly"]
            money = f" — {ui.usd(amount)}/month" if amount is not None else ""
            with st.expander(f"{icon} {row['title']}{money}"):
                st.markdown(row["explanation"])
                st.caption(
                    f"{row['kind']} · {row['period_start']:%Y-%m-%d} – {row['period_end']:%Y-%m-%d}"
                    f" · {row['metric']} = {row['metric_value']} (threshold {row['threshold']})"
                )
                if row["evidence"]:
                    st.json(json.loads(row["evidence"]), expanded=False)
    st.subheader("All insights")
    ui.table(
        df,
        "insights",
        column_config={
            "impact_usd_monthly": st.column_config.NumberColumn("$ / month", format="dollar"),
            "source_tag": "source",
        },
    )


render()
