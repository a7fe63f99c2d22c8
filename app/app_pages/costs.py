"""Costs explorer: spend from `marts.fct_daily_cost` by any dimension, per day, week or month,
as billed, effective or list cost, with a drill-down into one value — each source tag apart."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from app import components as ui
from app import data, data_costs, filters, theme

MEASURE_HELP = (
    "billed: what the invoice charges (commitment-covered usage is $0, the commitment fee a "
    "purchase) · effective: amortized, commitments spread over the usage they cover · list: "
    "before any discount. Gateway and CLI estimates carry one cost, so the three are equal."
)
TOP = 8
PERIOD_FORMATS = {"day": "%Y-%m-%d", "week": "week of %Y-%m-%d", "month": "%Y-%m"}


def _controls() -> tuple[str, str, str, str | None, str | None]:
    """The explorer's own widgets, bound to the URL: dimension, grain, measure, drill-down."""
    dims = list(data_costs.EXPLORER_DIMENSIONS)
    c1, c2, c3 = st.columns([2, 2, 3])
    by = c1.selectbox("Break down by", dims, key="by", bind="query-params")
    grain = c2.segmented_control(
        "Grain",
        data_costs.GRAINS,
        default="day",
        key="grain",
        bind="query-params",
        required=True,
    )
    measure = c3.segmented_control(
        "Cost",
        list(data_costs.MEASURES),
        default="billed",
        key="cost",
        bind="query-params",
        required=True,
        help=MEASURE_HELP,
    )
    d1, d2 = st.columns(2)
    values = data_costs.drill_values(filters.current(), by)
    drill = d1.selectbox(
        f"Drill into one {by}",
        values,
        index=None,
        placeholder="(all values)",
        key="drill",
        bind="query-params",
    )
    then = None
    if drill is not None:
        others = [d for d in dims if d != by]
        then = d2.selectbox("…then break down by", others, key="then", bind="query-params")
    return by, grain or "day", measure or "billed", drill, then


def _totals(f: filters.Filters, tags: list[str]) -> None:
    """Billed, effective and list cost per tag over the filters."""
    df = data_costs.measure_totals(f)
    rows = {r["source_tag"]: r for r in df.iter_rows(named=True)}
    for tag in tags:
        row = rows.get(tag, {})
        cols = st.columns(3)
        for col, (name, column) in zip(
            cols,
            (("Billed", "billed_usd"), ("Effective", "effective_usd"), ("List", "list_usd")),
            strict=True,
        ):
            col.metric(f"{theme.badge(tag)} {name}", ui.usd(row.get(column)), border=True)


def _chart(df: pl.DataFrame, tag: str, *, by: str, grain: str, measure: str) -> alt.Chart:
    """One tag's spend per period, stacked by the values of `by` (parts of the same tag)."""
    column = {"billed": "billed_usd", "effective": "effective_usd", "list": "list_usd"}[measure]
    df = df.with_columns(label=pl.col("period").dt.strftime(PERIOD_FORMATS[grain]))
    title = theme.chart_title(tag)
    return (
        alt.Chart(df, height=280, title=title)
        .mark_bar()
        .encode(
            x=alt.X("label:O", title=None, axis=alt.Axis(labelOverlap=True, labelAngle=-45)),
            y=alt.Y(f"sum({column}):Q", title=f"{measure} USD per {grain}"),
            color=alt.Color(
                f"{by}:N",
                title=by,
                scale=alt.Scale(scheme=theme.SOURCE_SCHEMES.get(tag, "greys"), reverse=True),
            ),
            tooltip=[
                alt.Tooltip("label:O", title=grain),
                alt.Tooltip(f"{by}:N"),
                alt.Tooltip(f"{column}:Q", title=measure, format="$,.2f"),
                alt.Tooltip("requests:Q", format=","),
            ],
        )
    )


def render() -> None:
    """Draw the Costs explorer page."""
    st.title("Costs explorer")
    st.markdown(theme.legend_markdown())
    if data.cost_date_bounds() is None:
        st.info(data.NO_DATA_MESSAGE)
        return
    by, grain, measure, drill, then = _controls()
    f = filters.current()
    tags = f.tags()
    _totals(f, tags)
    group, within = (then, (by, drill)) if drill is not None and then else (by, None)
    df = data_costs.explore(f, by=group, grain=grain, measure=measure, within=within, top=TOP)
    scope = f" within {by} = {drill}" if within else ""
    st.subheader(f"{measure.capitalize()} cost by {group}{scope}, per {grain}")
    if df.is_empty():
        st.info("No spend for these filters. Widen the date range or clear a filter.")
        return
    for tag, part in ui.per_tag(df, tags):
        if part.is_empty():
            st.caption(f"{theme.badge(tag)} No spend for these filters.")
            continue
        st.altair_chart(_chart(part, tag, by=group, grain=grain, measure=measure), width="stretch")
    st.caption(
        f"The {TOP} largest values of each tag keep their name, the rest are summed as "
        "“(other)” — within the tag. Bars stack the parts of one tag; tags are never added."
    )
    ui.table(
        df,
        "costs",
        column_config={
            "period": st.column_config.DateColumn(grain),
            "billed_usd": st.column_config.NumberColumn("billed", format="dollar"),
            "effective_usd": st.column_config.NumberColumn("effective", format="dollar"),
            "list_usd": st.column_config.NumberColumn("list", format="dollar"),
        },
    )


render()
