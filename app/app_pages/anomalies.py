"""Anomalies page: the flagged days of every spend and AI-signal series, each with its expected
value, bounds and top driver; one anomaly's series charted with its bounds, and acknowledging it
with a reason (`bimo.analytics.acks`, the same as `bimo anomalies ack`)."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from app import components as ui
from app import data, data_signals, filters, theme
from bimo.analytics.acks import UnknownAnomalyError

NOT_COMPUTED = (
    "Anomalies are not computed yet",
    "they appear once the analytics assets have run (`make demo`, `bimo run`, or materialise "
    "`analytics/cost_anomalies` in Dagster) on loaded spend.",
)
STATUSES = ("open", "acknowledged", "all")
LIST_COLUMNS = (
    "anomaly_date",
    "source_tag",
    "severity",
    "metric",
    "series_level",
    "series_key",
    "direction",
    "actual",
    "expected",
    "lower_bound",
    "upper_bound",
    "impact_usd",
    "driver_dimension",
    "driver_value",
    "driver_delta_usd",
    "first_seen",
    "status",
    "ack_reason",
    "anomaly_id",
)
FLASH = "anomaly_ack_flash"


def _label(row: dict) -> str:
    return (
        f"{row['anomaly_date']:%Y-%m-%d} · {row['source_tag']} · {row['metric']} · "
        f"{row['series_level']} {row['series_key']} · {row['severity']}"
    )


def _value(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric in ("error_rate", "unpriced_share", "cache_hit_ratio"):
        return ui.pct(value)
    if metric == "cost_per_1k_tokens":
        return f"${value:,.4f}"
    return ui.usd(value)


def _chart(row: dict) -> alt.LayerChart | None:
    """The series around the anomaly (line, in its tag's colour) with every flagged day's
    expected value (tick) and bounds (rule); the chosen day is ringed."""
    actual = data_signals.anomaly_series(row)
    flagged = data_signals.series_anomalies(row).with_columns(
        chosen=pl.col("anomaly_id") == row["anomaly_id"]
    )
    if flagged.is_empty() and actual.is_empty():
        return None
    color = theme.SOURCE_COLORS.get(row["source_tag"], "gray")
    x = alt.X("day:T", title=None)
    fmt = ".2%" if row["metric"] in ("error_rate", "unpriced_share", "cache_hit_ratio") else ",.4f"
    layers = []
    if not actual.is_empty():
        layers.append(
            alt.Chart(actual)
            .mark_line(color=color)
            .encode(
                x=x,
                y=alt.Y("value:Q", title=row["metric"]),
                tooltip=[alt.Tooltip("day:T"), alt.Tooltip("value:Q", format=fmt)],
            )
        )
    marks = alt.Chart(flagged.rename({"anomaly_date": "day"})).encode(x=x)
    tooltip = [
        alt.Tooltip("day:T"),
        *(
            alt.Tooltip(f"{c}:Q", format=fmt)
            for c in ("actual", "expected", "lower_bound", "upper_bound")
        ),
        alt.Tooltip("severity:N"),
        alt.Tooltip("status:N"),
    ]
    layers += [
        marks.mark_rule(strokeWidth=6, opacity=0.35, color="gray").encode(
            y="lower_bound:Q", y2="upper_bound:Q", tooltip=tooltip
        ),
        marks.mark_tick(color="gray", thickness=2).encode(y="expected:Q", tooltip=tooltip),
        marks.mark_point(filled=True, color=color, size=70).encode(y="actual:Q", tooltip=tooltip),
        marks.transform_filter("datum.chosen")
        .mark_point(size=320, color=color, strokeWidth=2)
        .encode(y="actual:Q"),
    ]
    return alt.layer(*layers).properties(height=320).interactive(bind_y=False)


def _on_acknowledge(labels: dict[str, str]) -> None:
    """Button callback: acknowledge the anomaly chosen now (callbacks see the latest widget
    values) with the typed reason, then leave a message for the rerun."""
    anomaly_id = st.session_state.get("anomaly")
    if anomaly_id not in labels:
        return
    label = labels[anomaly_id]
    reason = (st.session_state.get("ack_reason") or "").strip()
    if not reason:
        st.session_state[FLASH] = ("warning", "Give a reason to acknowledge this anomaly.")
        return
    try:
        data_signals.acknowledge(anomaly_id, reason)
    except UnknownAnomalyError:
        st.session_state[FLASH] = (
            "error",
            "This anomaly is gone: the analytics were recomputed since the page loaded.",
        )
        return
    st.session_state[FLASH] = ("success", f"Acknowledged {label}: {reason}")
    st.session_state["ack_reason"] = ""


def _acknowledge(row: dict, labels: dict[str, str]) -> None:
    """The reason box and the button that acknowledges the anomaly (or updates its reason)."""
    acknowledged = row.get("status") == "acknowledged"
    if acknowledged:
        at = row.get("acknowledged_at")
        st.markdown(
            f"**Acknowledged**{f' on {at:%Y-%m-%d %H:%M} UTC' if at else ''}: "
            f"_{row.get('ack_reason') or ''}_"
        )
    st.text_input(
        "New reason" if acknowledged else "Reason (required)",
        key="ack_reason",
        placeholder="e.g. planned load test; new feature launch",
    )
    st.button(
        "Update the reason" if acknowledged else "Acknowledge",
        key="ack",
        type="primary",
        icon=":material/done:",
        on_click=_on_acknowledge,
        args=(labels,),
        help="Stored in analytics.anomaly_acks: it survives every recompute, and alerts skip it.",
    )


def _detail(df: pl.DataFrame) -> None:
    """One anomaly: its numbers, its series with bounds, its driver and the ack form."""
    rows = {r["anomaly_id"]: r for r in df.iter_rows(named=True)}
    chosen = st.selectbox(
        "Anomaly",
        list(rows),
        format_func=lambda i: _label(rows[i]),
        key="anomaly",
        bind="query-params",
    )
    if chosen is None:
        return
    row = rows[chosen]
    metric = row["metric"]
    cols = st.columns(3)
    badge = theme.badge(row["source_tag"])
    cols[0].metric(f"{badge} Actual", _value(metric, row["actual"]), border=True)
    cols[1].metric(
        "Expected",
        _value(metric, row["expected"]),
        f"bounds {_value(metric, row['lower_bound'])} – {_value(metric, row['upper_bound'])}",
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    cols[2].metric("Impact", ui.usd(row.get("impact_usd"), signed=True), border=True)
    facts = [
        f"**{row['severity']}** {row.get('direction') or ''} in `{metric}` of "
        f"{row['series_level']} `{row['series_key']}`"
    ]
    if row.get("driver_dimension"):
        facts.append(
            f"top driver: {row['driver_dimension']} `{row.get('driver_value')}` "
            f"({ui.usd(row.get('driver_delta_usd'), signed=True)})"
        )
    if row.get("first_seen"):
        facts.append(f"first seen {row['first_seen']:%Y-%m-%d}")
    if row.get("score") is not None:
        facts.append(f"score {row['score']:.1f} ({row.get('method') or 'detector'})")
    st.markdown(" · ".join(facts))
    chart = _chart(row)
    if chart is None:
        st.caption("No daily values to chart for this series.")
    else:
        st.altair_chart(chart, width="stretch")
        st.caption(
            "Line: the series' daily values (usage rows, as the detector reads them). Dots: "
            "flagged days; grey bar: their bounds; grey tick: the expected value; ringed: this "
            "anomaly."
        )
    _acknowledge(row, {i: _label(r) for i, r in rows.items()})


def render() -> None:
    """Draw the Anomalies page."""
    st.title("Anomalies")
    st.markdown(theme.legend_markdown())
    kind, message = st.session_state.pop(FLASH, (None, None))
    if kind:
        getattr(st, kind)(message)
    if not data.table_exists("analytics", "cost_anomalies"):
        ui.missing(*NOT_COMPUTED)
        return
    f = filters.current()
    c1, c2 = st.columns(2)
    status = c1.segmented_control(
        "Status", STATUSES, default="open", key="status", bind="query-params", required=True
    )
    severity = c2.multiselect(
        "Severity",
        ["high", "medium", "low"],
        key="severity",
        placeholder="All",
        bind="query-params",
    )
    df = data_signals.anomalies(f, status=None if status in (None, "all") else status)
    if severity and not df.is_empty():
        df = df.filter(pl.col("severity").is_in(severity))
    if df.is_empty():
        st.success(f"No {'' if status == 'all' else status + ' '}anomalies for these filters.")
        return
    for col, (tag, part) in zip(st.columns(3), ui.per_tag(df, f.tags()), strict=False):
        col.metric(
            f"{theme.badge(tag)} Anomalies",
            f"{part.height:,}",
            f"impact {ui.usd(part['impact_usd'].sum() if part.height else None, signed=True)}",
            delta_color="off",
            border=True,
        )
    st.subheader("Flagged days")
    ui.table(
        df.select([c for c in LIST_COLUMNS if c in df.columns]),
        "anomalies",
        column_config={
            "anomaly_date": st.column_config.DateColumn("date"),
            "source_tag": "source",
            "impact_usd": st.column_config.NumberColumn("impact", format="dollar"),
            "driver_delta_usd": st.column_config.NumberColumn("driver Δ", format="dollar"),
        },
    )
    st.subheader("Look into one")
    _detail(df)


render()
