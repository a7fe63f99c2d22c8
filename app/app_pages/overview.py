"""Overview page: spend per source tag (yesterday, month to date, forecast month end), the daily
trend, spend by service category, top movers and the latest open anomalies."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import altair as alt
import polars as pl
import streamlit as st

from app import components as ui
from app import data, data_costs, data_signals, filters, theme

UNPRICED_HELP = (
    "Requests with no known price. Their cost is NULL, not $0, so they are left out of the "
    "spend figures rather than counted as free."
)
NO_REQUESTS_HELP = "Invoices and cost exports carry amounts, not request counts."
NO_FORECAST_HELP = (
    "No projection yet: forecasts appear once the analytics assets have run (`make demo`, or "
    "materialise `analytics/cost_projections` in Dagster)."
)
MOVER_DAYS = 7
CARD = {"border": True, "height": "stretch"}  # metric cards of one row share its height


def _projection_help(row: dict, f: filters.Filters) -> str:
    """What a month-end projection covers, and which chosen filters it cannot apply (forecasts
    exist per tag, in total and per provider)."""
    ignored = [
        filters.DIMENSIONS[k].label.lower()
        for k in ("category", "project", "team", "env")
        if f.chosen(k)
    ]
    if len(f.chosen("provider")) > 1:
        ignored.insert(0, "provider (several chosen: the total is shown)")
    note = f" Not filtered by {', '.join(ignored)}." if ignored else ""
    return (
        f"AI usage spend projected for {row['period_start']:%B %Y}: "
        f"{ui.usd(row['actual_to_date'])} actual through {row['actual_through']:%b %d} plus "
        f"the forecast of the remaining days ({row['model_name']}). 80 % range "
        f"{ui.usd(row['lo_80'])} – {ui.usd(row['hi_80'])}.{note}"
    )


def _spend_metrics(as_of: date, f: filters.Filters, tags: list[str]) -> None:
    """One row of spend metrics per source tag; tags are never added together."""
    st.subheader("Spend (USD)")
    day_label = "Yesterday" if as_of == data.yesterday() else f"{as_of:%b %d}"
    rows = {r["source_tag"]: r for r in data_costs.spend_summary(as_of, f).iter_rows(named=True)}
    last_30 = data_costs.daily_spend(replace(f, start=as_of - timedelta(days=29), end=as_of))
    providers = f.chosen("provider")
    projected = data_costs.month_end_projections(providers[0] if len(providers) == 1 else None)
    projections = {r["source_tag"]: r for r in projected.iter_rows(named=True)}
    notes = []
    for tag in tags:
        row, badge = rows.get(tag, {}), theme.badge(tag)
        cols = st.columns(5)
        cols[0].metric(f"{badge} {day_label}", ui.usd(row.get("spend_day")), **CARD)
        cols[1].metric(f"{badge} Month to date", ui.usd(row.get("spend_mtd")), **CARD)
        proj = projections.get(tag)
        cols[2].metric(
            f"{badge} Forecast {proj['period_start']:%b}" if proj else f"{badge} Forecast",
            ui.usd(proj["projected_total"]) if proj else "—",
            f"AI only · 80 %: ${proj['lo_80']:,.0f}–${proj['hi_80']:,.0f}" if proj else None,
            delta_color="off",
            delta_arrow="off",
            help=_projection_help(proj, f) if proj else NO_FORECAST_HELP,
            **CARD,
        )
        spark = dict(ui.per_tag(last_30, [tag]))[tag]
        cols[3].metric(
            f"{badge} Last 30 days",
            ui.usd(row.get("spend_30d")),
            chart_data=spark["cost_usd"].fill_null(0).to_list() if spark.height > 1 else None,
            chart_type="area",
            **CARD,
        )
        if row and row.get("requests_30d") is None:  # invoices carry no request counts
            cols[4].metric(f"{badge} Unpriced (30 d)", "—", help=NO_REQUESTS_HELP, **CARD)
            notes.append(f"{tag}: no request counts")
            continue
        unpriced, requests = row.get("unpriced_30d") or 0, row.get("requests_30d") or 0
        cols[4].metric(f"{badge} Unpriced (30 d)", f"{unpriced:,}", help=UNPRICED_HELP, **CARD)
        notes.append(f"{tag}: {unpriced:,} of {requests:,}")
    missing = [t for t in tags if t not in rows]
    if missing:
        st.caption(
            f"No spend for {', '.join(missing)} in the 30 days to {as_of:%Y-%m-%d}: load it "
            "(`bimo load SOURCE FILES`) or widen the filters. Data health shows each source."
        )
    st.caption(
        f"As of {as_of:%Y-%m-%d}. Unpriced requests in the last 30 days — {'; '.join(notes)}. "
        "Unpriced requests have a NULL cost, not $0: they are excluded from spend, not free. "
        "Forecasts cover AI usage spend only (cloud and SaaS are not forecast)."
    )


def _daily_chart(f: filters.Filters, tags: list[str]) -> None:
    """Daily USD spend, one small chart per source tag, each on its own scale."""
    st.subheader("Daily spend")
    df = data_costs.daily_spend(f)
    if df.is_empty():
        st.info("No spend in the selected range.")
        return
    ui.tag_charts(
        df,
        tags,
        x_domain=(f.start, f.end),
        x="charge_date",
        y="cost_usd",
        y_title="USD per day",
        tooltip=[
            alt.Tooltip("requests:Q", format=","),
            alt.Tooltip("unpriced_requests:Q", title="unpriced", format=","),
        ],
    )
    missing_days = (f.end - f.start).days + 1 - df["charge_date"].n_unique()
    if missing_days > 0:
        st.caption(f"{missing_days} day(s) in the range have no spend rows at all.")


def _category_bar(df: pl.DataFrame, tag: str) -> alt.LayerChart:
    """A small horizontal bar chart of one tag's USD spend per service category; a category
    whose cost is wholly unpriced gets no bar and an "unpriced" label, never $0."""
    labels = ["unpriced" if v is None else ui.usd(v) for v in df["cost_usd"]]
    df = df.with_columns(
        cost_usd=pl.col("cost_usd").cast(pl.Float64),
        label_at=pl.col("cost_usd").cast(pl.Float64).fill_null(0),
        label=pl.Series(labels, dtype=pl.String),
    )
    base = alt.Chart(df, height=alt.Step(28)).encode(
        y=alt.Y("service_category:N", title=None, sort=["ai", "cloud", "saas"]),
        tooltip=[
            alt.Tooltip("service_category:N", title="category"),
            alt.Tooltip("cost_usd:Q", title="spend", format="$,.2f"),
            alt.Tooltip("unpriced_rows:Q", title="unpriced rows", format=","),
            alt.Tooltip("unpriced_requests:Q", title="unpriced requests", format=","),
        ],
    )
    bars = base.mark_bar(color=theme.SOURCE_COLORS.get(tag, "gray")).encode(
        x=alt.X("cost_usd:Q", title="USD")
    )
    text = base.mark_text(align="left", dx=4, color=theme.SOURCE_COLORS.get(tag, "gray")).encode(
        x="label_at:Q", text="label:N"
    )
    return bars + text


def _categories(f: filters.Filters, tags: list[str]) -> None:
    """Spend per service category (ai / cloud / saas), one small chart per source tag."""
    st.subheader("Spend by service category (ai / cloud / saas)")
    df = data_costs.spend_by_category(f)
    for col, (tag, part) in zip(st.columns(len(tags)), ui.per_tag(df, tags), strict=True):
        col.markdown(theme.badge(tag))
        if part.is_empty():
            col.caption("No spend in the selected range.")
        else:
            col.altair_chart(_category_bar(part, tag), width="stretch")
    st.caption("Selected date range. Each tag is shown on its own; tags are never added up.")


def _movers_chart(df: pl.DataFrame, dimension: str, tag: str) -> alt.Chart:
    """One tag's largest changes in spend, as bars left (down) or right (up) of zero."""
    return (
        alt.Chart(df, height=alt.Step(24), title=theme.chart_title(tag, f"by {dimension}"))
        .mark_bar(color=theme.SOURCE_COLORS.get(tag, "gray"))
        .encode(
            y=alt.Y(
                f"{dimension}:N",
                sort=alt.EncodingSortField("change_usd", op="sum", order="descending"),
                title=None,
            ),
            x=alt.X("change_usd:Q", title="USD change"),
            tooltip=[
                alt.Tooltip(f"{dimension}:N"),
                alt.Tooltip("recent_usd:Q", title=f"last {MOVER_DAYS} days", format="$,.2f"),
                alt.Tooltip("previous_usd:Q", title=f"{MOVER_DAYS} days before", format="$,.2f"),
                alt.Tooltip("change_usd:Q", title="change", format="+$,.2f"),
            ],
        )
    )


def _top_movers(as_of: date, f: filters.Filters, tags: list[str]) -> None:
    """The models and projects whose spend moved most, week on week, within each tag."""
    st.subheader(f"Top movers — last {MOVER_DAYS} days vs the {MOVER_DAYS} before")
    frames = {
        dim: data_costs.top_movers(as_of, f, dim, days=MOVER_DAYS) for dim in ("model", "project")
    }
    for tag in tags:
        cols = st.columns(2)
        for col, (dim, df) in zip(cols, frames.items(), strict=True):
            part = dict(ui.per_tag(df, [tag]))[tag]
            if part.is_empty() or not (part["change_usd"] != 0).any():
                col.caption(f"{theme.badge(tag)} No change in spend by {dim}.")
            else:
                col.altair_chart(_movers_chart(part, dim, tag), width="stretch")
    movers = pl.concat([df for df in frames.values() if not df.is_empty()], how="diagonal")
    if not movers.is_empty():
        with st.expander("Top movers as a table"):
            ui.table(movers, "top_movers")


def _anomalies(f: filters.Filters) -> None:
    """The latest open anomalies in the range; the Anomalies page has the rest."""
    st.subheader("Open anomalies")
    if not data.table_exists("analytics", "cost_anomalies"):
        ui.missing(
            "Analytics are not built yet",
            "anomalies and forecasts appear once the analytics assets have run (`make demo`, "
            "or materialise them in Dagster).",
        )
        return
    df = data_signals.anomalies(f, status="open")
    if df.is_empty():
        st.success("No open anomalies in the selected range.")
        return
    keep = [
        c
        for c in (
            "anomaly_date",
            "source_tag",
            "metric",
            "series_level",
            "series_key",
            "severity",
            "direction",
            "actual",
            "expected",
            "impact_usd",
            "driver_dimension",
            "driver_value",
        )
        if c in df.columns
    ]
    ui.table(
        df.select(keep).head(10),
        "open_anomalies",
        column_config={
            "anomaly_date": st.column_config.DateColumn("date"),
            "source_tag": "source",
            "impact_usd": st.column_config.NumberColumn("impact", format="dollar"),
        },
    )
    st.page_link(
        "app_pages/anomalies.py",
        label=f"All {df.height} open anomalies, with charts and acknowledgement",
        icon=":material/arrow_forward:",
    )


def render() -> None:
    """Draw the Overview page."""
    st.title("Overview")
    st.markdown(theme.legend_markdown())
    if data.cost_date_bounds() is None:
        st.info(data.NO_DATA_MESSAGE)
        return
    f = filters.current()
    tags = f.tags()
    as_of = max(f.start, min(f.end, data.yesterday()))
    _spend_metrics(as_of, f, tags)
    _daily_chart(f, tags)
    _categories(f, tags)
    _top_movers(as_of, f, tags)
    _anomalies(f)


render()
