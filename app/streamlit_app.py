"""Bimo dashboard entry point: page setup, navigation over `app/app_pages/`, and the shared
filters (in the sidebar, bound to the URL) for the pages that use them."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import streamlit as st

from app import data, filters, theme

PAGES_DIR = Path(__file__).resolve().parent / "app_pages"
NO_CATEGORY = tuple(k for k in filters.ALL if k != "category")


class PageSpec(NamedTuple):
    file: str
    title: str
    icon: str
    filters: tuple[str, ...]


# Every page, by section, with the shared filters it applies.
SECTIONS: dict[str, list[PageSpec]] = {
    "Spend": [
        PageSpec("overview.py", "Overview", "monitoring", filters.ALL),
        PageSpec("costs.py", "Costs explorer", "query_stats", filters.ALL),
        PageSpec("ai_usage.py", "AI usage", "smart_toy", NO_CATEGORY),
        PageSpec("cloud.py", "Cloud", "cloud", NO_CATEGORY),
        PageSpec("saas.py", "SaaS", "group", ("dates", "tag", "team")),
        PageSpec("reconciliation.py", "Reconciliation", "balance", ("dates", "provider")),
    ],
    "Signals": [
        PageSpec(
            "anomalies.py", "Anomalies", "warning", ("dates", "tag", "provider", "project", "team")
        ),
        PageSpec("forecasts.py", "Forecasts", "trending_up", ("dates", "tag", "provider")),
        PageSpec("budgets.py", "Budgets & alerts", "savings", ("tag",)),
        PageSpec("insights.py", "Insights", "lightbulb", ("dates", "tag")),
    ],
    "Operate": [
        PageSpec("data_health.py", "Data health", "health_and_safety", ("dates",)),
        PageSpec("sql.py", "SQL", "terminal", ()),
    ],
}

st.set_page_config(page_title="Bimo", page_icon=":material/savings:", layout="wide")
pages, used = {}, {}
for section, specs in SECTIONS.items():
    pages[section] = []
    for spec in specs:
        page = st.Page(
            PAGES_DIR / spec.file,
            title=spec.title,
            icon=f":material/{spec.icon}:",
            default=spec.file == "overview.py",
        )
        pages[section].append(page)
        used[spec.title] = spec.filters
page = st.navigation(pages)
filters.sidebar(used.get(page.title, ()))
with st.sidebar:
    st.caption("Source tags — never added together: " + theme.legend_markdown())
try:
    page.run()
finally:
    data.close_connection()  # no connection outlives the run
