"""The filters every page shares: date range, source tag, provider, service category, project,
team and environment.

The entry script draws them in the sidebar (`sidebar`) for the pages that use them; pages read
them with `current()`. Each widget is bound to the URL query string under its key (`?tag=prod&
provider=openai&dates=2026-10-01&dates=2026-10-31`), so a view can be bookmarked and shared; a
filter left at its default is not written to the URL. A multi-select left empty means *all*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import streamlit as st

from app import data, theme

DATES_KEY = "dates"
DEFAULT_DAYS = 90


@dataclass(frozen=True)
class Dimension:
    """A filterable dimension: its URL key, its label and where its options come from."""

    key: str
    label: str
    sources: tuple[tuple[str, str], ...]  # (schema.table, column) pairs holding its values


DIMENSIONS: dict[str, Dimension] = {
    d.key: d
    for d in (
        Dimension("tag", "Source tag", (("marts.fct_daily_cost", "source_tag"),)),
        Dimension(
            "provider",
            "Provider",
            (
                ("marts.fct_daily_cost", "provider"),
                ("marts.fct_llm_usage_daily", "provider"),
                ("marts.fct_reconciliation", "provider"),
            ),
        ),
        Dimension("category", "Service category", (("marts.fct_daily_cost", "service_category"),)),
        Dimension("project", "Project", (("marts.fct_daily_cost", "project"),)),
        Dimension(
            "team",
            "Team",
            (("marts.fct_daily_cost", "team"), ("marts.fct_saas_seats_daily", "team")),
        ),
        Dimension("env", "Environment", (("marts.fct_daily_cost", "environment"),)),
    )
}
ALL: tuple[str, ...] = (DATES_KEY, *DIMENSIONS)
"""Every filter key, in sidebar order."""
DAILY_COST_COLUMNS: dict[str, str] = {
    "tag": "source_tag",
    "provider": "provider",
    "category": "service_category",
    "project": "project",
    "team": "team",
    "env": "environment",
}
"""Each dimension's column in `marts.fct_daily_cost`."""


@dataclass(frozen=True)
class Filters:
    """The chosen filters: a date range and, per dimension, the chosen values (empty: all)."""

    start: date
    end: date
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def chosen(self, key: str) -> tuple[str, ...]:
        """The values chosen for a dimension (empty: all)."""
        return tuple(self.values.get(key, ()))

    def tags(self, available: Sequence[str] = theme.SOURCE_TAGS) -> list[str]:
        """The source tags to show, in display order: the chosen ones, else all `available`."""
        return theme.ordered_tags(list(self.chosen("tag") or available))

    def clause(
        self, columns: Mapping[str, str], *, date_column: str | None = None
    ) -> tuple[str, list]:
        """A SQL condition (and its parameters) for the dimensions mapped in `columns` (key →
        SQL expression) and, when `date_column` is given, the date range. Dimensions not in
        `columns` are not applied; "(none)" matches NULL."""
        parts, params = ["true"], []
        if date_column:
            parts.append(f"{date_column} between ? and ?")
            params += [self.start, self.end]
        for key, expr in columns.items():
            chosen = self.chosen(key)
            if chosen:
                parts.append(f"list_contains(?::varchar[], coalesce({expr}::varchar, ?))")
                params += [list(chosen), data.NONE_LABEL]
        return " and ".join(parts), params


def default_range() -> tuple[date, date]:
    """The last `DEFAULT_DAYS` days of cost data, else the 30 days up to yesterday."""
    bounds = data.cost_date_bounds()
    if bounds is None:
        end = data.yesterday()
        return end - timedelta(days=29), end
    first, last = bounds
    return max(first, last - timedelta(days=DEFAULT_DAYS - 1)), last


def _range(picked: object, default: tuple[date, date]) -> tuple[date, date]:
    """A complete (start, end) from a date input value (a range being picked has one end)."""
    picked = tuple(picked) if isinstance(picked, list | tuple) else (picked,)
    picked = tuple(d for d in picked if isinstance(d, date))
    if not picked:
        return default
    return picked[0], (picked[-1] if len(picked) > 1 else max(picked[0], default[1]))


def current() -> Filters:
    """The filters as chosen in the sidebar (or the URL), defaults where none was chosen."""
    start, end = _range(st.session_state.get(DATES_KEY), default_range())
    values = {key: tuple(st.session_state.get(key) or ()) for key in DIMENSIONS}
    return Filters(start=start, end=end, values=values)


def _options(dimension: Dimension) -> list[str]:
    values = data.distinct_values(dimension.sources)
    if dimension.key == "tag":
        return theme.ordered_tags(list({*theme.SOURCE_TAGS, *values}))
    return values


def _reset(keys: Sequence[str]) -> None:
    for key in keys:
        if key == DATES_KEY:
            st.session_state[key] = default_range()
        else:
            st.session_state[key] = []


def sidebar(keys: Sequence[str] = ALL) -> None:
    """Draw the filter widgets named by `keys` in the sidebar, each bound to the URL."""
    if not keys:
        return
    with st.sidebar.expander("Filters", expanded=True, icon=":material/filter_list:"):
        if DATES_KEY in keys:
            start, end = default_range()
            bounds = data.cost_date_bounds()
            st.date_input(
                "Dates",
                value=(start, end),
                min_value=bounds[0] if bounds else None,
                max_value=max(end, date.today()),
                key=DATES_KEY,
                bind="query-params",
            )
        for key in keys:
            if key in DIMENSIONS:
                dimension = DIMENSIONS[key]
                st.multiselect(
                    dimension.label,
                    _options(dimension),
                    key=key,
                    placeholder="All",
                    bind="query-params",
                )
        st.button("Reset filters", on_click=_reset, args=(tuple(keys),), key="reset_filters")
        st.caption("Empty means all. The filters are kept in the URL: bookmark a view to keep it.")
