"""Reconciliation page: `prod` estimates vs `billing` invoices per provider, the gap explained."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import altair as alt
import polars as pl
import streamlit as st

from app import components as ui
from app import data_recon, filters, theme

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

MISSING = (
    "Reconciliation needs billing data: load it with `bimo load openai-costs FILE` (or the demo)."
)
# The mart's gap columns, in waterfall order, with their labels; they add up to the variance.
GAPS: dict[str, str] = {
    "gap_unlogged_usd": "unlogged traffic",
    "gap_dev_tools_usd": "developer tools",
    "gap_price_usd": "price difference",
    "gap_token_category_usd": "token category",
    "gap_credits_tax_fees_usd": "credits / tax / fees",
    "gap_fx_usd": "FX",
    "gap_unexplained_usd": "unexplained",
}
GAP_COLORS = {"adds to the bill": "#E15759", "reduces the bill": "#76B7B2"}
TABLE_COLUMNS = (
    "prod_estimate_usd",
    "billing_usd",
    "variance_usd",
    "variance_pct",
    "beyond_threshold",
    "prod_requests",
    "billing_line_items",
)
COLUMN_LABELS = {
    "month": "month",
    "prod_estimate_usd": "prod estimate",
    "billing_usd": "billed",
    "variance_usd": "variance $",
    "variance_pct": "variance %",
    "beyond_threshold": "beyond threshold",
    "prod_requests": "prod requests",
    "billing_line_items": "billing line items",
}


def _pct(value: float | None) -> str:
    """A signed percentage for display; an em dash when billing was 0."""
    return ui.pct(value, signed=True)


def _month_end(month: date) -> date:
    """The last day of the month starting `month`."""
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _with_flag(df: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """`df` with `beyond_threshold`: |variance %| above `threshold`, or a variance against a
    zero bill (whose percentage is undefined)."""
    pct, usd = pl.col("variance_pct"), pl.col("variance_usd")
    flag = pl.when(pct.is_null()).then(usd.fill_null(0) != 0).otherwise(pct.abs() > threshold)
    return df.with_columns(beyond_threshold=flag)


def _styled(df: pl.DataFrame) -> Styler:
    """A pandas Styler of a reconciliation table: money and % formatted, rows beyond the
    threshold highlighted."""
    money = [c for c in ("prod_estimate_usd", "billing_usd") if c in df.columns]

    def highlight(row):
        style = "background-color: rgba(225, 87, 89, 0.18)" if row["beyond_threshold"] else ""
        return [style] * len(row)

    return (
        df.to_pandas()
        .style.format(ui.usd, subset=money)
        .format(lambda v: ui.usd(v, signed=True), subset=["variance_usd"])
        .format(_pct, subset=["variance_pct"])
        .format("{:,.0f}", subset=["prod_requests", "billing_line_items"], na_rep="—")
        .format(lambda m: f"{m:%Y-%m}", subset=[c for c in ("month",) if c in df.columns])
        .apply(highlight, axis=1)
    )


def _months(f: filters.Filters) -> tuple[date, date]:
    """The first and last month the shared date range touches."""
    return f.start.replace(day=1), f.end.replace(day=1)


def _threshold() -> float:
    """The variance threshold (a page setting, kept in the URL)."""
    with st.sidebar:
        threshold = st.slider(
            "Highlight variance beyond (%)",
            0.0,
            50.0,
            5.0,
            step=0.5,
            key="recon_threshold",
            bind="query-params",
        )
    return threshold / 100


def _monthly_table(df: pl.DataFrame, threshold: float) -> None:
    """The monthly estimate vs billed table per provider, highlighted and downloadable."""
    st.subheader("Monthly estimate vs billed")
    table = df.select("month", "provider", *TABLE_COLUMNS)
    ui.table(table, "reconciliation_monthly", styled=_styled(table), column_config=COLUMN_LABELS)
    flagged = table["beyond_threshold"].sum()
    st.caption(
        f"Variance = billed − prod estimate; % of billed. {flagged} of {table.height} "
        f"provider-months are beyond ±{threshold:.1%} (highlighted)."
    )


def _daily_charts(first: date, last: date, providers: list[str] | None) -> None:
    """Daily prod estimate vs billed, one two-line chart per provider."""
    st.subheader("Daily estimate vs billed")
    df = data_recon.daily(first, _month_end(last), providers)
    if df.is_empty():
        st.info("No daily reconciliation rows for the selected providers and months.")
        return
    cols = st.columns(2)
    for i, provider in enumerate(df["provider"].unique(maintain_order=True)):
        chart = (
            alt.Chart(df.filter(pl.col("provider") == provider), title=provider)
            .mark_line(point=True)
            .encode(
                x=alt.X("day:T", title=None),
                y=alt.Y("usd:Q", title="USD per day", stack=None),
                color=theme.color_encoding(),
                tooltip=[
                    alt.Tooltip("day:T", title="date"),
                    alt.Tooltip("source_tag:N", title="source"),
                    alt.Tooltip("usd:Q", title="USD", format="$,.2f"),
                ],
            )
            .interactive(bind_y=False)
        )
        cols[i % 2].altair_chart(chart, width="stretch")


def _waterfall(row: dict) -> alt.LayerChart:
    """prod estimate, then each gap component stacked on it, ending at the billed amount."""
    steps, level = [], row["prod_estimate_usd"] or Decimal(0)
    steps.append(("prod estimate", Decimal(0), level, level, "prod"))
    for column, label in GAPS.items():
        amount = row[column] or Decimal(0)
        kind = "adds to the bill" if amount >= 0 else "reduces the bill"
        steps.append((label, level, level + amount, amount, kind))
        level += amount
    billed = row["billing_usd"] or Decimal(0)
    steps.append(("billed", Decimal(0), billed, billed, "billing"))
    frame = pl.DataFrame(
        [
            {"step": s, "start": float(a), "end": float(b), "usd": float(d), "kind": k}
            for s, a, b, d, k in steps
        ]
    )
    colors = {"prod": theme.SOURCE_COLORS["prod"], "billing": theme.SOURCE_COLORS["billing"]}
    colors |= GAP_COLORS
    base = alt.Chart(frame).encode(x=alt.X("step:N", sort=[s[0] for s in steps], title=None))
    bars = base.mark_bar().encode(
        y=alt.Y("start:Q", title="USD"),
        y2="end:Q",
        color=alt.Color(
            "kind:N",
            title=None,
            scale=alt.Scale(domain=list(colors), range=list(colors.values())),
        ),
        tooltip=[alt.Tooltip("step:N"), alt.Tooltip("usd:Q", title="USD", format="$,.2f")],
    )
    labels = base.mark_text(dy=-8, color="gray").encode(
        y="end:Q", text=alt.Text("usd:Q", format="$,.2f")
    )
    return bars + labels


def _breakdown(df: pl.DataFrame, threshold: float) -> None:
    """The gap between prod and billing for one provider and month, component by component."""
    st.subheader("Where the gap comes from")
    c1, c2 = st.columns(2)
    provider = c1.selectbox("Provider", sorted(df["provider"].unique()), key="recon_bd_provider")
    part = df.filter(pl.col("provider") == provider)
    months = sorted(part["month"].unique().to_list(), reverse=True)
    month = c2.selectbox("Month", months, format_func=lambda m: f"{m:%b %Y}", key="recon_bd_month")
    row = part.filter(pl.col("month") == month).row(0, named=True)

    cols = st.columns(3)
    cols[0].metric(f"{theme.badge('prod')} Estimate", ui.usd(row["prod_estimate_usd"]), border=True)
    cols[1].metric(f"{theme.badge('billing')} Billed", ui.usd(row["billing_usd"]), border=True)
    cols[2].metric(
        "Variance (billed − estimate)",
        ui.usd(row["variance_usd"], signed=True),
        delta=None if row["variance_pct"] is None else f"{row['variance_pct']:+.1%} of billed",
        delta_color="off",
        border=True,
    )
    st.altair_chart(_waterfall(row), width="stretch")

    components = pl.DataFrame(
        {"component": list(GAPS.values()), "usd": [row[c] for c in GAPS]},
        schema_overrides={"usd": df.schema["variance_usd"]},
    )
    ui.table(
        components,
        "reconciliation_gap",
        column_config={"usd": st.column_config.NumberColumn("USD", format="dollar")},
    )
    explained = sum((v or Decimal(0) for v in components["usd"]), Decimal(0))
    variance = row["variance_usd"] or Decimal(0)
    if explained == variance:
        st.caption(f"The seven components add up to the variance, {ui.usd(variance, signed=True)}.")
    else:
        st.warning(
            f"The components add up to {ui.usd(explained, signed=True)}, not the variance "
            f"{ui.usd(variance, signed=True)}: the reconciliation mart is inconsistent."
        )
    _by_model(month, provider, threshold)


def _by_model(month: date, provider: str, threshold: float) -> None:
    """The same month's estimate vs billed per model of the provider."""
    models = data_recon.models(month, provider)
    if models.is_empty():
        st.caption(f"No per-model rows for {provider} in {month:%b %Y}.")
        return
    st.markdown(f"**By model — {provider}, {month:%b %Y}**")
    table = _with_flag(models, threshold).select("model", *TABLE_COLUMNS)
    ui.table(table, "reconciliation_models", styled=_styled(table), column_config=COLUMN_LABELS)


def render() -> None:
    """Draw the Reconciliation page."""
    st.title("Reconciliation")
    st.markdown(
        f"{theme.badge('prod')} {theme.SOURCE_MEANINGS['prod']} vs "
        f"{theme.badge('billing')} {theme.SOURCE_MEANINGS['billing']}, per provider."
    )
    if data_recon.periods().is_empty():
        st.info(MISSING)
        return
    f = filters.current()
    threshold = _threshold()
    first, last = _months(f)
    providers = list(f.chosen("provider")) or None
    monthly = data_recon.monthly(first, last, providers)
    if monthly.is_empty():
        st.info(
            "No reconciliation rows for the selected providers and months "
            f"({first:%b %Y} – {last:%b %Y}). Widen the date range or clear the provider filter."
        )
        return
    monthly = _with_flag(monthly, threshold)
    _monthly_table(monthly, threshold)
    _daily_charts(first, last, providers)
    _breakdown(monthly, threshold)


render()
