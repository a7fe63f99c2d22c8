"""The dashboard's fixed source-tag colours and legend, shared by every page and chart."""

from __future__ import annotations

import altair as alt

SOURCE_TAGS: tuple[str, ...] = ("dev", "prod", "billing")
"""Every known source tag, in display order."""

SOURCE_COLORS: dict[str, str] = {"dev": "#F28E2B", "prod": "#4E79A7", "billing": "#59A14F"}
"""Hex colour of each source tag in charts; never reassigned by the data present."""

SOURCE_SCHEMES: dict[str, str] = {"dev": "oranges", "prod": "blues", "billing": "greens"}
"""Vega colour scheme in each tag's hue, for charts that split one tag into parts."""

SOURCE_BADGE_COLORS: dict[str, str] = {"dev": "orange", "prod": "blue", "billing": "green"}
"""Streamlit markdown colour name closest to each tag's chart colour."""

SOURCE_MEANINGS: dict[str, str] = {
    "dev": "developer estimates (CLI/SDK logs)",
    "prod": "live gateway logs (estimated cost)",
    "billing": "authoritative invoices",
}
"""What each source tag's numbers are."""


def ordered_tags(tags: list[str] | tuple[str, ...]) -> list[str]:
    """The given tags in display order; unknown tags follow the known ones, sorted."""
    known = [t for t in SOURCE_TAGS if t in tags]
    return known + sorted(t for t in tags if t not in SOURCE_TAGS)


def badge(tag: str) -> str:
    """Markdown for a coloured source-tag badge."""
    return f":{SOURCE_BADGE_COLORS.get(tag, 'gray')}-badge[{tag}]"


def legend_markdown() -> str:
    """One line of markdown explaining every source tag, with its badge."""
    return " · ".join(f"{badge(tag)} {meaning}" for tag, meaning in SOURCE_MEANINGS.items())


def color_encoding(field: str = "source_tag", *, title: str = "source") -> alt.Color:
    """An Altair colour encoding that maps each source tag to its fixed colour."""
    return alt.Color(
        f"{field}:N",
        title=title,
        scale=alt.Scale(domain=list(SOURCE_COLORS), range=list(SOURCE_COLORS.values())),
    )


def heading(tag: str) -> str:
    """Markdown naming a tag with its badge and what its numbers are."""
    return f"{badge(tag)} {SOURCE_MEANINGS.get(tag, '')}"


def chart_title(tag: str, text: str | None = None) -> alt.TitleParams:
    """A chart title naming one tag in its fixed colour, then `text` (default: what the tag
    means); every chart of a single tag has one."""
    text = SOURCE_MEANINGS.get(tag, "") if text is None else text
    label = f"{tag} — {text}" if text else tag
    return alt.TitleParams(label, color=SOURCE_COLORS.get(tag, "gray"), anchor="start")
