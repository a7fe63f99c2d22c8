"""AI usage page: requests, tokens by type, cost per 1k tokens, latency, errors and unpriced
requests, per model — each source tag apart (`dev` estimates, `prod` gateway logs)."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from app import components as ui
from app import data_ai, filters, theme

NO_USAGE = (
    "No AI usage yet",
    "load gateway or developer logs (`bimo load bimo-gateway 'logs/**/*.jsonl.gz'`, "
    "`litellm`, `otel-genai`, `cli-log`) or run `make demo`.",
)

BILLING_NOTE = (
    "This page shows what Bimo's logs recorded (`dev` and `prod`). The providers' own "
    "`billing` AI usage and invoices are on the Reconciliation and Costs explorer pages."
)


def _summary(f: filters.Filters, tags: list[str]) -> None:
    """Per tag: requests, tokens, estimated cost, cost per 1k tokens, error rate, unpriced."""
    rows = {r["source_tag"]: r for r in data_ai.summary(f).iter_rows(named=True)}
    for tag in tags:
        row, badge = rows.get(tag), theme.badge(tag)
        if row is None:
            st.caption(f"{badge} No AI usage logged for these filters.")
            continue
        cols = st.columns(6)
        cols[0].metric(
            f"{badge} Requests",
            ui.compact(row["requests"]),
            help=f"{row['requests']:,}",
            border=True,
        )
        cols[1].metric(
            f"{badge} Tokens",
            ui.compact(row["total_tokens"]),
            help=f"{row['total_tokens']:,}",
            border=True,
        )
        cols[2].metric(f"{badge} Est. cost", ui.usd(row["estimated_cost_usd"]), border=True)
        per_1k = row["cost_per_1k_tokens"]
        cols[3].metric(
            f"{badge} $ / 1k tokens",
            "—" if per_1k is None else f"${per_1k:,.4f}",
            help="Estimated cost ÷ tokens of priced requests × 1,000.",
            border=True,
        )
        cols[4].metric(f"{badge} Error rate", ui.pct(row["error_rate"]), border=True)
        cols[5].metric(
            f"{badge} Unpriced",
            ui.compact(row["unpriced_requests"] or 0),
            help="No known price: cost NULL, not $0 (left out of the cost, not free).",
            border=True,
        )


def _tokens(daily: pl.DataFrame, tags: list[str]) -> None:
    """Tokens per day by type, one chart per tag (the types add up to the tag's total)."""
    st.subheader("Tokens by type")
    long = daily.unpivot(
        index=["usage_date", "source_tag"],
        on=list(data_ai.TOKEN_TYPES),
        variable_name="type",
        value_name="tokens",
    ).with_columns(pl.col("type").replace_strict(data_ai.TOKEN_TYPES))
    cols = st.columns(len(tags))
    for col, (tag, part) in zip(cols, ui.per_tag(long, tags), strict=True):
        if part.is_empty():
            col.caption(f"{theme.badge(tag)} No tokens.")
            continue
        chart = (
            alt.Chart(part, height=260, title=theme.chart_title(tag))
            .mark_area()
            .encode(
                x=alt.X("usage_date:T", title=None),
                y=alt.Y("tokens:Q", title="tokens per day", stack=True),
                color=alt.Color(
                    "type:N",
                    sort=list(data_ai.TOKEN_TYPES.values()),
                    scale=alt.Scale(scheme=theme.SOURCE_SCHEMES.get(tag, "greys"), reverse=True),
                ),
                tooltip=["usage_date:T", "type:N", alt.Tooltip("tokens:Q", format=",")],
            )
            .interactive(bind_y=False)
        )
        col.altair_chart(chart, width="stretch")


def _latency_errors(f: filters.Filters, daily: pl.DataFrame) -> None:
    """Latency p50/p95 and error rate per day, one line per tag."""
    c1, c2 = st.columns(2)
    with c1:
        st.subheader("Latency")
        st.caption("From per-day latency histograms: within ±2.5 % of the exact percentile.")
        lat = data_ai.latency_daily(f)
        if lat.is_empty():
            st.caption("No request latencies logged.")
        else:
            long = lat.unpivot(
                index=["request_date", "source_tag"],
                on=["p50_ms", "p95_ms"],
                variable_name="percentile",
                value_name="ms",
            )
            chart = (
                alt.Chart(long, height=260)
                .mark_line(point=True)
                .encode(
                    x=alt.X("request_date:T", title=None),
                    y=alt.Y("ms:Q", title="ms", stack=None),
                    color=theme.color_encoding(),
                    strokeDash=alt.StrokeDash("percentile:N", title="percentile"),
                    tooltip=[
                        "request_date:T",
                        "source_tag:N",
                        "percentile:N",
                        alt.Tooltip("ms:Q", format=",.0f"),
                    ],
                )
                .interactive(bind_y=False)
            )
            st.altair_chart(chart, width="stretch")
    with c2:
        st.subheader("Error rate")
        chart = ui.tag_lines(
            daily,
            x="usage_date",
            y="error_rate",
            y_title="failed / requests",
            y_format=".2%",
            tooltip=[alt.Tooltip("error_requests:Q", title="failed", format=",")],
            height=260,
        )
        st.altair_chart(chart, width="stretch")


def _models(f: filters.Filters) -> None:
    """Per tag and model: requests, tokens, cost per 1k tokens, latency, errors, unpriced."""
    st.subheader("Models")
    df = data_ai.models(f)
    ui.table(
        df,
        "ai_models",
        column_config={
            "source_tag": "source",
            "estimated_cost_usd": st.column_config.NumberColumn("estimated cost", format="dollar"),
            "cost_per_1k_tokens": st.column_config.NumberColumn("$ / 1k tokens", format="$%.4f"),
            "error_rate": st.column_config.NumberColumn("error rate", format="percent"),
            "latency_p50_ms": st.column_config.NumberColumn("p50 ms", format="%.0f"),
            "latency_p95_ms": st.column_config.NumberColumn("p95 ms", format="%.0f"),
        },
    )


def _errors_unpriced(f: filters.Filters) -> None:
    c1, c2 = st.columns(2)
    with c1:
        st.subheader("Errors by type")
        errors = data_ai.error_types(f)
        if errors.is_empty():
            st.caption("No failed requests.")
        else:
            ui.table(errors, "ai_errors")
    with c2:
        st.subheader("Unpriced models")
        unpriced = data_ai.unpriced(f)
        if unpriced.is_empty():
            st.success("Every request has a price.")
        else:
            ui.table(unpriced, "ai_unpriced")
            st.caption(
                "Add a price in `dbt_project/seeds/price_overrides.csv` (then `dbt build`): "
                "until then these requests cost NULL, not $0."
            )


def render() -> None:
    """Draw the AI usage page."""
    st.title("AI usage")
    st.markdown(theme.legend_markdown())
    if not data_ai.has_usage():
        ui.missing(*NO_USAGE)
        return
    f = filters.current()
    tags = [t for t in f.tags() if t != "billing"]
    if not tags:
        st.info(BILLING_NOTE)
        return
    _summary(f, tags)
    daily = data_ai.daily(f)
    if daily.is_empty():
        st.info("No AI usage for these filters. Widen the date range or clear a filter.")
        return
    _tokens(daily, tags)
    _latency_errors(f, daily)
    _models(f)
    _errors_unpriced(f)
    st.caption(BILLING_NOTE)


render()
