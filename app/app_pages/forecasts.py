"""Forecasts page: AI usage spend forecasts per source tag (in total or per provider) with their
80 % / 95 % intervals, each beside its own backtested accuracy (MASE, interval coverage, skill
against seasonal naive), and the month- and quarter-end projections."""

from __future__ import annotations

from datetime import timedelta

import altair as alt
import polars as pl
import streamlit as st

from app import components as ui
from app import data_signals, filters, theme

NOT_COMPUTED = (
    "Forecasts are not computed yet",
    "they appear once the analytics assets have run (`make demo`, `bimo run`, or materialise "
    "`analytics/cost_forecast` in Dagster) on loaded AI usage.",
)
HORIZONS = (30, 60, 90)
MAX_HISTORY_DAYS = 120
ACCURACY_HELP = {
    "mase": "Mean absolute scaled error: the forecast's error ÷ the error of repeating last "
    "week. Lower is better.",
    "coverage_80": "Share of backtested days whose actual fell inside the 80 % interval "
    "(nominal: 80 %).",
    "coverage_95": "Share of backtested days inside the 95 % interval (nominal: 95 %).",
    "skill": "1 − MASE ÷ MASE of seasonal naive on the same series: above 0 beats it.",
}


def _y(field: str) -> alt.Y:
    return alt.Y(f"{field}:Q", title="USD per day")


def _chart(tag: str, fc: pl.DataFrame, actual: pl.DataFrame) -> alt.LayerChart:
    """Actuals (solid) and the forecast (dashed) with 80 % (darker) and 95 % (lighter) bands."""
    color = theme.SOURCE_COLORS.get(tag, "gray")
    x = alt.X("date:T", title=None)
    bands = alt.Chart(fc.rename({"forecast_date": "date"})).encode(x=x)
    usd = ("forecast", "lo_80", "hi_80", "lo_95", "hi_95")
    layers = [
        bands.mark_area(opacity=0.15, color=color).encode(y=_y("lo_95"), y2="hi_95:Q"),
        bands.mark_area(opacity=0.3, color=color).encode(y=_y("lo_80"), y2="hi_80:Q"),
        bands.mark_line(
            color=color, strokeDash=[6, 4], point=alt.OverlayMarkDef(color=color)
        ).encode(
            y=_y("forecast"),
            tooltip=[alt.Tooltip("date:T"), *(alt.Tooltip(f"{c}:Q", format="$,.2f") for c in usd)],
        ),
    ]
    if not actual.is_empty():
        layers.append(
            alt.Chart(actual.rename({"day": "date"}))
            .mark_line(color=color)
            .encode(
                x=x,
                y=_y("cost_usd"),
                tooltip=[alt.Tooltip("date:T"), alt.Tooltip("cost_usd:Q", format="$,.2f")],
            )
        )
    return (
        alt.layer(*layers)
        .properties(title=theme.chart_title(tag), height=300)
        .interactive(bind_y=False)
    )


def _accuracy(acc: pl.DataFrame, tag: str, level: str, key: str) -> None:
    """The backtested accuracy of one series, beside its chart."""
    mine = (
        acc.filter(
            (pl.col("source_tag") == tag)
            & (pl.col("series_level") == level)
            & (pl.col("series_key") == key)
        )
        if not acc.is_empty()
        else acc
    )
    scores = {r["method"]: r for r in mine.iter_rows(named=True)}
    bimo, naive = scores.get("bimo"), scores.get("seasonal_naive")
    if bimo is None:
        st.caption(
            "Accuracy: not backtested yet — the backtest needs a few weeks more history "
            "than the forecast horizon (`analytics/forecast_accuracy`)."
        )
        return
    naive_mase = f" (seasonal naive {naive['mase']:.2f})" if naive and naive["mase"] else ""
    st.metric(
        "MASE",
        "—" if bimo["mase"] is None else f"{bimo['mase']:.2f}",
        help=ACCURACY_HELP["mase"] + naive_mase,
    )
    st.metric("80 % coverage", ui.pct(bimo["coverage_80"]), help=ACCURACY_HELP["coverage_80"])
    st.metric("95 % coverage", ui.pct(bimo["coverage_95"]), help=ACCURACY_HELP["coverage_95"])
    st.metric(
        "Skill vs seasonal naive",
        ui.pct(bimo["skill"], signed=True),
        help=ACCURACY_HELP["skill"],
    )
    st.caption(
        f"Backtest: {bimo['n_origins']} origins, {bimo['horizon_days']}-day horizon{naive_mase}."
    )


def _series_picker(series: pl.DataFrame, f: filters.Filters) -> tuple[str, str]:
    providers = sorted(
        series.filter(pl.col("series_level") == "provider")["series_key"].unique().to_list()
    )
    chosen = f.chosen("provider")
    options = ["total", *[p for p in providers if not chosen or p in chosen]]
    c1, c2 = st.columns([3, 2])
    key = c1.selectbox(
        "Series",
        options,
        format_func=lambda k: "every provider (total)" if k == "total" else k,
        key="series",
        bind="query-params",
    )
    c2.segmented_control(
        "Horizon (days)", HORIZONS, default=30, key="horizon", bind="query-params", required=True
    )
    key = key or "total"
    return ("total" if key == "total" else "provider"), key


def render() -> None:
    """Draw the Forecasts page."""
    st.title("Forecasts")
    st.markdown(theme.legend_markdown())
    series = data_signals.forecast_series()
    if series.is_empty():
        ui.missing(*NOT_COMPUTED)
        return
    f = filters.current()
    level, key = _series_picker(series, f)
    horizon = st.session_state.get("horizon") or 30
    st.caption(
        "What is forecast: daily **AI usage** spend (billed USD, `Usage` rows) per source tag. "
        "Cloud and SaaS spend, tax and credits are not forecast."
    )
    acc = data_signals.accuracy()
    shown = 0
    for tag in f.tags():
        fc = data_signals.forecast(tag, level, key, horizon_days=horizon)
        if fc.is_empty():
            continue
        shown += 1
        through = fc.item(0, "trained_through")
        start = max(f.start, through - timedelta(days=MAX_HISTORY_DAYS - 1))
        actual = data_signals.forecast_actuals(tag, level, key, start, through)
        c1, c2 = st.columns([4, 1])
        c1.altair_chart(_chart(tag, fc, actual), width="stretch")
        with c2:
            _accuracy(acc, tag, level, key)
        c1.caption(
            f"Solid: actual spend. Dashed: `{fc.item(0, 'model_name')}`, trained through "
            f"{through:%Y-%m-%d}. Shaded: 80 % (darker) and 95 % (lighter) intervals."
        )
    if not shown:
        st.info(f"No forecast of {key} for the chosen source tags.")
    st.subheader("Month- and quarter-end projections")
    projections = data_signals.projections()
    if not projections.is_empty():
        projections = projections.filter(pl.col("source_tag").is_in(f.tags()))
    if projections.is_empty():
        st.caption("No projections yet (`analytics/cost_projections`).")
    else:
        money = ("actual_to_date", "forecast_remaining", "projected_total", "lo_80", "hi_80")
        ui.table(
            projections,
            "projections",
            column_config={c: st.column_config.NumberColumn(c, format="dollar") for c in money},
        )
        st.caption("Projection = actual to date + forecast of the remaining days of the period.")
    st.subheader("Backtested accuracy of every series")
    if acc.is_empty():
        st.caption("Not backtested yet (`analytics/forecast_accuracy`).")
    else:
        ui.table(acc.filter(pl.col("source_tag").is_in(f.tags())), "forecast_accuracy")


render()
