"""Data health page: freshness per source (`bimo status`), rows per source and day with the gaps
named, and quarantined records with their reasons (`bimo quarantine`)."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from app import components as ui
from app import data, data_health, filters
from bimo import source_health

STATUS_LABELS = {
    "fresh": ":green[fresh]",
    "stale": ":orange[stale]",
    "not loaded": ":gray[not loaded]",
}
MONTHLY_KINDS = {"invoice"}  # one delivery a month: a day without rows is not a gap
MAX_GAP_DAYS_SHOWN = 8
MONTHLY = [s.name for s in source_health.SOURCES if s.kind in MONTHLY_KINDS]


def _freshness() -> pl.DataFrame:
    st.subheader("Freshness per source")
    status = data_health.source_status()
    counts = dict(status.group_by("status").len().iter_rows()) if status.height else {}
    cols = st.columns(3)
    for col, name in zip(cols, ("fresh", "stale", "not loaded"), strict=True):
        col.metric(STATUS_LABELS[name], counts.get(name, 0), border=True)
    stale = status.filter(pl.col("status") == "stale")
    if not stale.is_empty():
        st.warning(
            "Stale: "
            + ", ".join(
                f"{r['source']} (newest {r['newest_data_date']}, {r['lag_days']} days behind, "
                f"expected ≤ {r['expected_lag_days']})"
                for r in stale.iter_rows(named=True)
            )
            + ". Load the newest files or check the Dagster schedule.",
            icon=":material/schedule:",
        )
    ui.table(
        status,
        "source_status",
        column_config={
            "lag_days": st.column_config.NumberColumn("lag (days)"),
            "expected_lag_days": st.column_config.NumberColumn("expected lag"),
        },
    )
    never = status.filter(pl.col("status") == "not loaded")["source"].to_list()
    if never:
        st.caption(
            f"Not loaded: {', '.join(never)}. Load one with `bimo load SOURCE FILES` (or its "
            "live API through Dagster); `BIMO_EXPECTED_LAG` sets the expected lags."
        )
    return status


def _grid(rows: pl.DataFrame, start, end) -> pl.DataFrame:
    """Every (source, day) from each source's first day in the range to the range end, with
    its rows (0 when the source has no row that day)."""
    days = pl.DataFrame({"day": pl.date_range(start, end, "1d", eager=True)})
    first = rows.group_by("source").agg(pl.col("day").min().alias("first"))
    return (
        first.join(days, how="cross")
        .filter(pl.col("day") >= pl.col("first"))
        .join(rows, on=["source", "day"], how="left")
        .with_columns(
            pl.col("rows").fill_null(0),
            state=pl.when(pl.col("rows") > 0)
            .then(pl.lit("rows"))
            .when(pl.col("covered_empty"))
            .then(pl.lit("pulled, empty"))
            .when(pl.col("source").is_in(MONTHLY))
            .then(pl.lit("monthly source"))
            .otherwise(pl.lit("no rows")),
        )
        .drop("first", "covered_empty")
        .sort("source", "day")
    )


def _completeness(f: filters.Filters) -> None:
    st.subheader("Rows per source and day")
    rows = data_health.completeness(f.start, f.end)
    if rows.is_empty():
        st.info(f"No source has rows between {f.start} and {f.end}.")
        return
    grid = _grid(rows, f.start, f.end)
    chart = (
        alt.Chart(grid, height=24 * grid["source"].n_unique() + 40)
        .mark_rect()
        .encode(
            x=alt.X("day:T", timeUnit="utcyearmonthdate", title=None),
            y=alt.Y("source:N", title=None),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(
                    domain=["rows", "pulled, empty", "no rows"],
                    range=["#4E79A7", "#BAB0AC", "#E15759"],
                ),
                title=None,
            ),
            tooltip=[
                "source:N",
                alt.Tooltip("day:T"),
                alt.Tooltip("rows:Q", format=","),
                "state:N",
            ],
        )
    )
    st.altair_chart(chart, width="stretch")
    gaps = (
        grid.filter(pl.col("state") == "no rows")
        .group_by("source")
        .agg(pl.len().alias("days_without_rows"), pl.col("day").sort().alias("days"))
        .sort("source")
    )
    if gaps.is_empty():
        st.success("Every loaded source has rows on every day since its first one in range.")
        return
    gaps = gaps.with_columns(
        pl.col("days").list.head(MAX_GAP_DAYS_SHOWN).cast(pl.List(pl.String)).list.join(", ")
    )
    st.warning(
        "Days without rows since the source's first day in the range — a feed that stopped, "
        "or an export not delivered yet.",
        icon=":material/event_busy:",
    )
    ui.table(gaps, "source_gaps")


def _quarantine() -> None:
    st.subheader("Quarantined records")
    counts, examples = data_health.quarantine()
    if counts.is_empty():
        st.success("Nothing quarantined.")
        return
    st.caption(
        "Bad records never stop a load: each goes to `raw_*.quarantine` with its reason "
        "(`bimo quarantine --source NAME`)."
    )
    ui.table(counts, "quarantine_reasons")
    with st.expander(f"Latest {examples.height} quarantined records"):
        ui.table(examples, "quarantine_records")


def render() -> None:
    """Draw the Data health page."""
    st.title("Data health")
    if not data.warehouse_published():
        st.info(data.NO_DATA_MESSAGE)
        return
    _freshness()
    f = filters.current()
    _completeness(f)
    st.caption(f"Rows per day in the raw tables, {f.start} – {f.end} (the date filter).")
    _quarantine()


render()
