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

from datetime import date, timedelta

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
    returned by `bimo.analytics.spend.spend_rows`)."""
    holes = coverage.holes if coverage else {}
    found = []
    for a in anomalies.filter(pl.col("metric") == "cost_usd").iter_rows(named=True):
        driver = top_driver(a, rows, holes.get(a["source_tag"], frozenset()), weeks=weeks, tie=tie)
        if driver:
            found.append({"anomaly_id": a["anomaly_id"], **driver})
    drivers = pl.DataFrame(found, schema={"anomaly_id": pl.String, **DRIVER_COLUMNS})
    return anomalies.drop(list(DRIVER_COLUMNS), strict=False).join(
        drivers, on="anomaly_id", how="left"
    )


def top_driver(
    anomaly: dict, rows: pl.DataFrame, holes: frozenset[date], *, weeks: int = 4, tie: float = 0.9
) -> dict | None:
    """The driver of one spend anomaly (a row of `cost_anomalies`), or None."""
    day, sign = anomaly["anomaly_date"], 1.0 if anomaly["direction"] == "spike" else -1.0
    fixed = SPEND_LEVELS.get(anomaly["series_level"], ())
    scope = rows.filter(
        pl.col("source_tag") == anomaly["source_tag"], *[pl.col(d) == anomaly[d] for d in fixed]
    )
    if scope.is_empty():
        return None
    first, last = scope["ds"].min(), scope["ds"].max()
    refs = [
        d
        for k in range(1, weeks + 1)
        for d in (day - timedelta(days=7 * k), day + timedelta(days=7 * k))
        if first <= d <= last and d not in holes
    ]
    if not refs:
        return None
    window = scope.filter(pl.col("ds").is_in([day, *refs]))
    candidates = []
    for dim in (d for d in DIMENSIONS if d not in fixed):
        split = window.filter(pl.col(dim).is_not_null())
        specificity = scope[dim].drop_nulls().n_unique()
        if specificity < 2:  # one value in scope is the series itself: it explains nothing
            continue
        daily = split.group_by(dim, "ds").agg(pl.col("y").sum())
        grid = (
            daily.select(dim)
            .unique()
            .join(pl.DataFrame({"ds": [day, *refs]}), how="cross")
            .join(daily, on=[dim, "ds"], how="left")
            .with_columns(pl.col("y").fill_null(0.0))
        )
        change = grid.group_by(dim).agg(
            actual=pl.col("y").filter(pl.col("ds") == day).sum(),
            expected=pl.col("y").filter(pl.col("ds") != day).median(),
        )
        for value, actual, expected in change.iter_rows():
            candidates.append((dim, value, actual - expected, specificity))
    if not candidates:
        return None
    best = max(sign * delta for _, _, delta, _ in candidates)
    if best <= 0:
        return None
    near = [c for c in candidates if sign * c[2] >= tie * best]
    dim, value, delta, _ = max(near, key=lambda c: (c[3], sign * c[2]))
    return {"driver_dimension": dim, "driver_value": value, "driver_delta_usd": delta}
