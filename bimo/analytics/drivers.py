"""The top driver of a spend anomaly: the sub-dimension value that moved most that day.

For a spend anomaly on series S (say `prod` total, or provider `openai`), every dimension that S
does not fix (provider, service, model, project, team, feature) is split into its values within
S's scope. Each value's expected spend that day is the median of the same weekday in the
`weeks` weeks before and after (days without spend count as $0; days after the tag's last
complete day and the tag's incomplete days are left out), so a one- to three-day incident does
not move it. The driver is the value whose change (actual − expected) goes furthest in the
anomaly's direction; among values within `tie` of that change, the one of the most specific
dimension (the most distinct values in scope) wins, so one model that explains its provider's
whole spike is named rather than the provider. A dimension with a single value in scope says
nothing and is skipped. Signal anomalies (error rate, …) have no driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

import polars as pl

from bimo.analytics.coverage import Coverage
from bimo.analytics.series import DIMENSIONS
from bimo.analytics.spend import SPEND_LEVELS

DRIVER_COLUMNS = {
    "driver_dimension": pl.String,
    "driver_value": pl.String,
    "driver_delta_usd": pl.Float64,
}


def with_drivers(
    anomalies: pl.DataFrame,
    rows: pl.DataFrame,
    coverage: Coverage | None = None,
    *,
    weeks: int = 4,
    tie: float = 0.9,
) -> pl.DataFrame:
    """`anomalies` plus `driver_dimension`, `driver_value` and `driver_delta_usd` (spend rows as
    returned by `bimo.analytics.spend.spend_rows`). Anomalies of the same series share one
    `Scope`: its daily spend per dimension value is summed once."""
    holes = coverage.holes if coverage else {}
    scopes: dict[tuple, Scope | None] = {}
    found = []
    for a in anomalies.filter(pl.col("metric") == "cost_usd").iter_rows(named=True):
        fixed = SPEND_LEVELS.get(a["series_level"], ())
        key = (a["source_tag"], fixed, *(a[d] for d in fixed))
        if key not in scopes:
            scopes[key] = Scope.of(rows, a["source_tag"], {d: a[d] for d in fixed})
        scope = scopes[key]
        holes_of_tag = holes.get(a["source_tag"], frozenset())
        driver = scope.driver(a, holes_of_tag, weeks=weeks, tie=tie) if scope else None
        if driver:
            found.append({"anomaly_id": a["anomaly_id"], **driver})
    drivers = pl.DataFrame(found, schema={"anomaly_id": pl.String, **DRIVER_COLUMNS})
    return anomalies.drop(list(DRIVER_COLUMNS), strict=False).join(
        drivers, on="anomaly_id", how="left"
    )


@dataclass(frozen=True)
class Scope:
    """The spend rows of one series (a source tag, with its level's dimensions fixed), as
    daily spend per value of every other dimension that has at least two values in scope."""

    first: date
    last: date
    # dimension -> (specificity: distinct values in scope, {day: {value: spend}})
    daily: dict[str, tuple[int, dict[date, dict[str, float]]]]

    @classmethod
    def of(cls, rows: pl.DataFrame, source_tag: str, fixed: dict[str, object]) -> Scope | None:
        scope = rows.filter(
            pl.col("source_tag") == source_tag, *[pl.col(d) == v for d, v in fixed.items()]
        )
        if scope.is_empty():
            return None
        daily = {}
        for dim in (d for d in DIMENSIONS if d not in fixed):
            split = scope.filter(pl.col(dim).is_not_null())
            specificity = split[dim].n_unique()
            if specificity < 2:  # one value in scope is the series itself: it explains nothing
                continue
            by_day: dict[date, dict[str, float]] = {}
            sums = split.group_by("ds", dim, maintain_order=True).agg(pl.col("y").sum())
            for ds, value, y in sums.iter_rows():
                by_day.setdefault(ds, {})[value] = y
            daily[dim] = (specificity, by_day)
        return cls(scope["ds"].min(), scope["ds"].max(), daily)

    def driver(
        self, anomaly: dict, holes: frozenset[date], *, weeks: int = 4, tie: float = 0.9
    ) -> dict | None:
        """The driver of one spend anomaly of this series, or None."""
        day, sign = anomaly["anomaly_date"], 1.0 if anomaly["direction"] == "spike" else -1.0
        refs = [
            d
            for k in range(1, weeks + 1)
            for d in (day - timedelta(days=7 * k), day + timedelta(days=7 * k))
            if self.first <= d <= self.last and d not in holes
        ]
        if not refs:
            return None
        candidates = []
        for dim, (specificity, by_day) in self.daily.items():
            values = dict.fromkeys(v for d in (day, *refs) for v in by_day.get(d, {}))
            for value in values:  # days without spend count as $0
                actual = by_day.get(day, {}).get(value, 0.0)
                expected = median(by_day.get(d, {}).get(value, 0.0) for d in refs)
                candidates.append((dim, value, actual - expected, specificity))
        if not candidates:
            return None
        best = max(sign * delta for _, _, delta, _ in candidates)
        if best <= 0:
            return None
        near = [c for c in candidates if sign * c[2] >= tie * best]
        dim, value, delta, _ = max(near, key=lambda c: (c[3], sign * c[2]))
        return {"driver_dimension": dim, "driver_value": value, "driver_delta_usd": delta}
