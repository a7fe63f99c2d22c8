"""Overview page: spend per source tag, daily trend, top spenders, anomalies and the forecast."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import altair as alt
import polars as pl
import streamlit as st

from app import data, theme

ANALYTICS_MISSING = (
    "Analytics are not built yet — anomalies and forecasts appear once the analytics assets "
    "have run (`make demo`, or materialise them in Dagster)."
)
UNPRICED_HELP = (
    "Requests with no known price. Their cost is NULL, not $0, so they are left out of the "
    "spend figures rather than counted as free."
)
NO_REQUESTS_HELP = "Invoices and cost exports carry amounts, not request counts."


def _usd(value: Decimal | float | None) -> str:
    """A dollar amount for display; an em dash when there is nothing to show."""
    return "—" if value is None else f"${value:,.2f}"


def _filters(first: date, last: date, available: list[str]) -> tuple[date, date, list[str]]:
    """Sidebar widgets: the chosen date range (default: the last 90 days of data) and tags."""
    default_start = max(first, last - timedelta(days=89))
    with st.sidebar:
        picked = st.date_input(
            "Date range", value=(default_start, last), min_value=first, max_value=last
        )
        tags = st.multiselect("Source tags", available, default=available)
    picked = picked if isinstance(picked, tuple) else (picked,)
    start = picked[0] if picked else default_start
    end = picked[1] if len(picked) > 1 else last
    return start, end, theme.ordered_tags(tags)


def _spend_metrics(as_of: date, tags: list[str]) -> None:
    """One row of spend metrics per source tag; tags are never added together."""
    st.subheader("Spend (USD)")
    day_label = "Yesterday" if as_of == date.today() - timedelta(days=1) else f"{as_of:%b %d}"
    rows = {r["source_tag"]: r for r in data.spend_summary(as_of, tags).iter_rows(named=True)}
    notes = []
    for tag in tags:
        row = rows.get(tag, {})
        badge = theme.badge(tag)
        cols = st.columns(4)
        cols[0].metric(f"{badge} {day_label}", _usd(row.get("spend_day")), border=True)
        cols[1].metric(f"{badge} Month to date", _usd(row.get("spend_mtd")), border=True)
        cols[2].metric(f"{badge} Last 30 days", _usd(row.get("spend_30d")), border=True)
        if row and row.get("requests_30d") is None:  # invoices carry no request counts
            cols[3].metric(
                f"{badge} Unpriced requests (30 d)", "—", help=NO_REQUESTS_HELP, border=True
            )
            notes.append(f"{tag}: no request counts")
            continue
        unpriced, requests = row.get("unpriced_30d") or 0, row.get("requests_30d") or 0
        cols[3].metric(
            f"{badge} Unpriced requests (30 d)", f"{unpriced:,}", help=UNPRICED_HELP, border=True
        )
        notes.append(f"{tag}: {unpriced:,} of {requests:,}")
    st.caption(
        f"As of {as_of:%Y-%m-%d}. Unpriced requests in the last 30 days — {'; '.join(notes)}. "
        "Unpriced requests have a NULL cost, not $0: they are excluded from spend, not free."
    )


def _daily_chart(start: date, end: date, tags: list[str]) -> None:
    """Daily USD spend, one unstacked line per source tag."""
    st.subheader("Daily spend")
    df = data.daily_spend(start, end, tags)
    if df.is_empty():
        st.info("No spend in the selected range.")
        return
    base = alt.Chart(df).encode(
        x=alt.X("charge_date:T", title=None),
        y=alt.Y("cost_usd:Q", title="USD per day", stack=None),
        color=theme.color_encoding(),
    )
    line = base.mark_line(point=True).encode(
        tooltip=[
            alt.Tooltip("charge_date:T", title="date"),
            alt.Tooltip("source_tag:N", title="source"),
            alt.Tooltip("cost_usd:Q", title="spend", format="$,.2f"),
            alt.Tooltip("requests:Q", format=","),
            alt.Tooltip("unpriced_requests:Q", title="unpriced", format=","),
        ]
    )
    chart = (base.mark_area(opacity=0.12) + line).interactive(bind_y=False)
    st.altair_chart(chart, width="stretch")


def _category_bar(df: pl.DataFrame, tag: str) -> alt.LayerChart:
    """A small horizontal bar chart of one tag's USD spend per service category; a category
    whose cost is wholly unpriced gets no bar and an "unpriced" label, never $0."""
    labels = ["unpriced" if v is None else _usd(v) for v in df["cost_usd"]]
    df = df.with_columns(
        cost_usd=pl.col("cost_usd").cast(pl.Float64),
        label_at=pl.col("cost_usd").cast(pl.Float64).fill_null(0),
        label=pl.Series(labels, dtype=pl.String),
    )
    base = alt.Chart(df, height=30 * df.height + 20).encode(
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
    text = base.mark_text(align="left", dx=4).encode(x="label_at:Q", text="label:N")
    return bars + text


def _categories(start: date, end: date, tags: list[str]) -> None:
    """Spend per service category (ai / cloud / saas), one small chart per source tag."""
    st.subheader("Spend by service category (ai / cloud / saas)")
    df = data.spend_by_category(start, end, tags)
    cols = st.columns(len(tags))
    for col, tag in zip(cols, tags, strict=True):
        part = df.filter(pl.col("source_tag") == tag) if not df.is_empty() else df
        col.markdown(theme.badge(tag))
        if part.is_empty():
            col.caption("No spend in the selected range.")
        else:
            col.altair_chart(_category_bar(part, tag), width="stretch")
    st.caption("Selected date range. Each tag is shown on its own; tags are never added up.")


def _top_bar(df: pl.DataFrame, dimension: str, tag: str) -> alt.Chart:
    """A horizontal bar chart of one tag's top `dimension` values by spend."""
    return (
        alt.Chart(df, height=28 * df.height + 20)
        .mark_bar(color=theme.SOURCE_COLORS.get(tag, "gray"))
        .encode(
            y=alt.Y(f"{dimension}:N", sort="-x", title=None),
            x=alt.X("cost_usd:Q", title="USD"),
            tooltip=[
                alt.Tooltip(f"{dimension}:N"),
                alt.Tooltip("cost_usd:Q", title="spend", format="$,.2f"),
                alt.Tooltip("requests:Q", format=","),
                alt.Tooltip("unpriced_requests:Q", title="unpriced", format=","),
            ],
        )
    )


def _top_spend(as_of: date, tags: list[str]) -> None:
    """Top models and projects by spend over the last 30 days, ranked within each source tag."""
    st.subheader("Top models and projects — last 30 days")
    frames = {dim: data.top_spend(dim, as_of, tags) for dim in ("model", "project")}
    for tag in tags:
        st.markdown(f"{theme.badge(tag)} {theme.SOURCE_MEANINGS.get(tag, '')}")
        for col, (dim, df) in zip(st.columns(2), frames.items(), strict=True):
            part = df.filter(pl.col("source_tag") == tag) if not df.is_empty() else df
            if part.is_empty():
                col.caption(f"No {dim} spend.")
            else:
                col.altair_chart(_top_bar(part, dim, tag), width="stretch")


def _anomalies(start: date, end: date, tags: list[str]) -> None:
    """Flagged anomalies in the selected range, latest first."""
    st.subheader("Flagged anomalies")
    if not data.table_exists("analytics", "cost_anomalies"):
        st.info(ANALYTICS_MISSING)
        return
    df = data.anomalies(start, end, tags)
    if df.is_empty():
        st.success("No anomalies flagged in the selected range.")
        return
    st.dataframe(
        df,
        hide_index=True,
        column_config={
            "anomaly_date": st.column_config.DateColumn("date"),
            "source_tag": "source",
            "impact_usd": st.column_config.NumberColumn("impact", format="dollar"),
            "detected_at": st.column_config.DatetimeColumn("detected"),
        },
    )


def _y(field: str) -> alt.Y:
    """A daily-USD y encoding; every layer of the forecast chart shares its axis title."""
    return alt.Y(f"{field}:Q", title="USD per day")


def _forecast(last: date) -> None:
    """prod total spend: the last 60 days of actuals and the forecast with 80 % / 95 % bands."""
    st.subheader("Forecast — prod total spend")
    if not data.table_exists("analytics", "cost_forecast"):
        st.info(ANALYTICS_MISSING)
        return
    fc = data.total_forecast("prod")
    if fc.is_empty():
        st.info("No forecast for prod yet.")
        return
    actual = data.daily_spend(last - timedelta(days=59), last, ["prod"])
    color = theme.SOURCE_COLORS["prod"]
    x = alt.X("date:T", title=None)
    bands = alt.Chart(fc.rename({"forecast_date": "date"})).encode(x=x)
    usd = ("forecast", "lo_80", "hi_80", "lo_95", "hi_95")
    layers = [
        bands.mark_area(opacity=0.15, color=color).encode(y=_y("lo_95"), y2="hi_95:Q"),
        bands.mark_area(opacity=0.3, color=color).encode(y=_y("lo_80"), y2="hi_80:Q"),
        bands.mark_line(color=color, strokeDash=[6, 4], point=True).encode(
            y=_y("forecast"),
            tooltip=[alt.Tooltip("date:T"), *(alt.Tooltip(f"{c}:Q", format="$,.2f") for c in usd)],
        ),
    ]
    if not actual.is_empty():
        layers.append(
            alt.Chart(actual.rename({"charge_date": "date"}))
            .mark_line(color=color)
            .encode(
                x=x,
                y=_y("cost_usd"),
                tooltip=[alt.Tooltip("date:T"), alt.Tooltip("cost_usd:Q", format="$,.2f")],
            )
        )
    st.altair_chart(alt.layer(*layers).interactive(bind_y=False), width="stretch")
    st.caption(
        f"Solid: actual prod spend. Dashed: forecast by `{fc.item(0, 'model_name')}`, trained "
        f"through {fc.item(0, 'trained_through'):%Y-%m-%d}. Shaded: 80 % (darker) and 95 % "
        "(lighter) prediction intervals."
    )


def render() -> None:
    """Draw the Overview page."""
    st.title("Overview")
    st.markdown(theme.legend_markdown())
    bounds = data.cost_date_bounds() if data.warehouse_published() else None
    if bounds is None:
        st.info(data.NO_DATA_MESSAGE)
        return
    first, last = bounds
    start, end, tags = _filters(first, last, theme.ordered_tags(data.source_tags()))
    if not tags:
        st.warning("Select at least one source tag in the sidebar.")
        return
    as_of = max(start, min(end, date.today() - timedelta(days=1)))
    _spend_metrics(as_of, tags)
    _daily_chart(start, end, tags)
    _categories(start, end, tags)
    _top_spend(as_of, tags)
    _anomalies(start, end, tags)
    _forecast(last)


render()
