"""Small building blocks every page uses: money formats, tables with a CSV download, empty
states that say what to load, and the tag-coloured Altair charts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal

import altair as alt
import polars as pl
import streamlit as st

from app import theme

NESTED = (pl.List, pl.Array, pl.Struct, pl.Object)


def usd(value: Decimal | float | None, *, signed: bool = False) -> str:
    """A dollar amount for display; an em dash when there is nothing to show."""
    if value is None or value != value:  # None or NaN
        return "—"
    sign = "−" if value < 0 else ("+" if signed and value > 0 else "")
    return f"{sign}${abs(value):,.2f}"


def pct(value: float | None, *, signed: bool = False) -> str:
    """A ratio as a percentage; an em dash when unknown."""
    if value is None or value != value:
        return "—"
    return (f"{value:+.1%}" if signed else f"{value:.1%}").replace("-", "−")


def compact(value: float | Decimal | None) -> str:
    """A count in a few characters: 14.3k, 562.2M; an em dash when unknown."""
    if value is None:
        return "—"
    value = float(value)
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:,.1f}{suffix}"
    return f"{value:,.0f}"


def csv_bytes(df: pl.DataFrame) -> bytes:
    """The frame as CSV; list and struct columns are written as JSON text."""
    nested = [c for c, t in df.schema.items() if isinstance(t, NESTED)]
    if nested:
        df = df.with_columns(
            pl.col(c).map_elements(
                lambda v: json.dumps(v.to_list() if isinstance(v, pl.Series) else v, default=str),
                return_dtype=pl.String,
            )
            for c in nested
        )
    return df.write_csv().encode()


def table(
    df: pl.DataFrame,
    name: str,
    *,
    column_config: Mapping | None = None,
    styled: object | None = None,
    height: int | str = "auto",
) -> None:
    """A dataframe (or its pandas `styled` version) and a button to download it as CSV; dates
    show as dates, not midnight timestamps."""
    config = {c: st.column_config.DateColumn(c) for c, t in df.schema.items() if t == pl.Date}
    st.dataframe(
        df if styled is None else styled,
        hide_index=True,
        column_config=config | dict(column_config or {}),
        height=height,
    )
    download(df, name)


def download(df: pl.DataFrame, name: str, *, label: str = "Download CSV") -> None:
    """A button that downloads the frame as `bimo_<name>.csv` (without rerunning the page)."""
    st.download_button(
        label,
        csv_bytes(df),
        file_name=f"bimo_{name}.csv",
        mime="text/csv",
        key=f"dl_{name}",
        icon=":material/download:",
        on_click="ignore",
    )


def missing(what: str, how: str) -> None:
    """An empty state: what is missing and how to load it."""
    st.info(f"{what} — {how}", icon=":material/info:")


def tag_lines(
    df: pl.DataFrame,
    *,
    x: str,
    y: str,
    y_title: str,
    y_format: str = "$,.2f",
    tooltip: Sequence[alt.Tooltip] = (),
    height: int = 300,
    legend: bool = True,
    x_domain: tuple | None = None,
) -> alt.Chart:
    """One line per source tag in its fixed colour, never stacked."""
    color = theme.color_encoding()
    if not legend:
        color = color.legend(None)
    scale = alt.Scale(domain=[d.isoformat() for d in x_domain]) if x_domain else alt.Undefined
    return (
        alt.Chart(df, height=height)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:T", title=None, scale=scale),
            y=alt.Y(f"{y}:Q", title=y_title, stack=None),
            color=color,
            tooltip=[
                alt.Tooltip(f"{x}:T", title="date"),
                alt.Tooltip("source_tag:N", title="source"),
                alt.Tooltip(f"{y}:Q", title=y_title, format=y_format),
                *tooltip,
            ],
        )
        .interactive(bind_y=False)
    )


def tag_charts(
    df: pl.DataFrame,
    tags: Sequence[str],
    *,
    x: str,
    y: str,
    y_title: str,
    y_format: str = "$,.2f",
    tooltip: Sequence[alt.Tooltip] = (),
    height: int = 170,
    x_domain: tuple | None = None,
) -> None:
    """One small chart per source tag (its own scale, its colour, its name in the title), so a
    small tag is readable beside a large one and no tags are added."""
    for tag, part in per_tag(df, tags):
        if part.is_empty():
            st.caption(f"{theme.heading(tag)}: no rows for these filters.")
            continue
        chart = tag_lines(
            part,
            x=x,
            y=y,
            y_title=y_title,
            y_format=y_format,
            tooltip=tooltip,
            height=height,
            legend=False,  # the title names the tag in its colour
            x_domain=x_domain,
        ).properties(title=theme.chart_title(tag))
        st.altair_chart(chart, width="stretch")


def per_tag(df: pl.DataFrame, tags: Sequence[str]) -> list[tuple[str, pl.DataFrame]]:
    """`df` split by source tag, in display order, one (tag, rows) pair per requested tag."""
    if df.is_empty() or "source_tag" not in df.columns:
        return [(tag, df.clear()) for tag in tags]
    return [(tag, df.filter(pl.col("source_tag") == tag)) for tag in tags]
