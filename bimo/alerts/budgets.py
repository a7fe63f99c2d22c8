"""Budget status: spend to date, % used, projection to the period end, days until exceeded, risk.

Spend is read from `marts.fct_daily_cost` (one source tag per budget). Days after the scope's
source tag has data (`data_through`) are projected, from `analytics.cost_forecast` when it covers
the scope and every day to project (`forecast_method = 'forecast'`), else at the trailing 7-day
average of recurring charges (`'run_rate'`); `'actual'` when no day is left to project.
Recurring charges are Usage and Purchase (daily commitment fees, SaaS seats); Tax, Credit and
Adjustment lines are one-offs: counted when booked, never projected.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import polars as pl

from bimo.alerts.config import Budget
from bimo.warehouse import table_exists

EPOCH = date(1970, 1, 1)
RUN_RATE_DAYS = 7
RECURRING = "('Usage', 'Purchase')"  # charge categories that recur daily, so are projected
FORECAST_SCOPE = {"source_tag", "provider", "service_category", "charge_category"}
STATUS_SCHEMA = {
    "budget_name": pl.String,
    "source_tag": pl.String,
    "scope": pl.String,
    "cost_type": pl.String,
    "period": pl.String,
    "period_key": pl.String,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "as_of": pl.Date,
    "data_through": pl.Date,
    "currency": pl.String,
    "amount_usd": pl.Float64,
    "spent_usd": pl.Float64,
    "pct_used": pl.Float64,
    "forecast_usd": pl.Float64,
    "forecast_pct": pl.Float64,
    "forecast_method": pl.String,
    "projected_daily_usd": pl.Float64,
    "days_until_exceeded": pl.Int32,
    "exceeds_on": pl.Date,
    "thresholds": pl.List(pl.Float64),
    "thresholds_crossed": pl.List(pl.Float64),
    "risk": pl.String,
    "rows_without_usd": pl.Int64,
    "computed_at": pl.Datetime("us"),
}


def period_bounds(budget: Budget, as_of: date) -> tuple[date, date, str]:
    """(start, end, key) of the budget's period containing `as_of`.

    A rolling window is the N days ending on `as_of`; its key is the fixed N-day block (counted
    from 1970-01-01) holding `as_of`, so a rolling budget alerts at most once per N days.
    """
    n = budget.rolling_days
    if n is not None:
        block = EPOCH + timedelta(days=(as_of - EPOCH).days // n * n)
        return as_of - timedelta(days=n - 1), as_of, f"{block.isoformat()}+{n}d"
    if budget.period == "weekly":
        start = as_of - timedelta(days=as_of.weekday())
        return start, start + timedelta(days=6), start.isoformat()
    months = 3 if budget.period == "quarterly" else 1
    first = (as_of.month - 1) // months * months + 1
    start = date(as_of.year, first, 1)
    nxt = date(start.year + (first + months - 1) // 12, (first + months - 1) % 12 + 1, 1)
    return start, nxt - timedelta(days=1), start.isoformat()


def scope_sql(scope: dict[str, tuple[str | None, ...]]) -> tuple[str, list[Any]]:
    """A `where` fragment and its parameters for a budget scope (None matches NULL)."""
    clauses, params = [], []
    for column, values in scope.items():
        named = [v for v in values if v is not None]
        parts = [f"{column} in ({', '.join('?' * len(named))})"] if named else []
        parts += [f"{column} is null"] if None in values else []
        clauses.append("(" + " or ".join(parts) + ")")
        params += named
    return " and ".join(clauses), params


def read_tag_extents(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, tuple[date, date]]:
    """First and last day with any cost row, per source tag, up to `as_of`."""
    rows = con.sql(
        "select source_tag, min(charge_date), max(charge_date) from marts.fct_daily_cost "
        "where charge_date <= ? group by 1",
        params=[as_of],
    ).fetchall()
    return {tag: (first, last) for tag, first, last in rows}


def read_spend(
    con: duckdb.DuckDBPyConnection, budget: Budget, since: date, as_of: date
) -> pl.DataFrame:
    """Daily spend of the budget's scope between `since` and `as_of`."""
    where, params = scope_sql(budget.scope)
    col = budget.cost_column
    return con.sql(
        f"""
        select charge_date,
               coalesce(sum({col}), 0)::double as cost,
               coalesce(sum({col}) filter (where charge_category in {RECURRING}), 0)::double
                   as recurring_cost,
               count(*) filter (where {col} is null) as rows_without_usd,
               count(*) filter (where service_category <> 'ai' or charge_category = 'Purchase')
                   as unforecast_rows
        from marts.fct_daily_cost
        where charge_date between ? and ? and {where}
        group by charge_date
        """,
        params=[since, as_of, *params],
    ).pl()


def forecast_keys(budget: Budget) -> tuple[str, list[str]] | None:
    """(series_level, series keys) of `analytics.cost_forecast` that model this scope, if any.

    The forecast models daily AI Usage cost (billed, USD) per source tag, in total and per
    provider; any other filter means it does not cover the scope.
    """
    scope = budget.scope
    if budget.cost != "billed" or set(scope) - FORECAST_SCOPE:
        return None
    if scope.get("service_category", ("ai",)) != ("ai",):
        return None
    if scope.get("charge_category", ("Usage",)) != ("Usage",):
        return None
    providers = scope.get("provider")
    if providers is None:
        return "total", ["total"]
    if None in providers:
        return None
    return "provider", list(providers)  # type: ignore[arg-type]


def read_forecast(
    con: duckdb.DuckDBPyConnection, budget: Budget, start: date, end: date
) -> pl.DataFrame | None:
    """Forecast rows (`forecast_date`, `series_key`, `forecast`) for the scope, or None."""
    keys = forecast_keys(budget)
    if keys is None or not table_exists(con, "analytics", "cost_forecast"):
        return None
    level, series = keys
    return con.sql(
        f"""
        select forecast_date, series_key, forecast::double as forecast
        from analytics.cost_forecast
        where source_tag = ? and series_level = ? and forecast_date between ? and ?
          and series_key in ({", ".join("?" * len(series))})
        """,
        params=[budget.source_tag, level, start, end, *series],
    ).pl()


def evaluate(
    budget: Budget,
    *,
    as_of: date,
    spend: pl.DataFrame,
    extent: tuple[date, date] | None,
    forecast: pl.DataFrame | None,
    now: datetime,
) -> dict[str, Any]:
    """One budget's status row from its daily spend, its tag's data extent and a forecast."""
    start, end, key = period_bounds(budget, as_of)
    n = budget.rolling_days
    horizon = as_of + timedelta(days=n - 1) if n else end
    first, last = extent if extent else (None, None)
    through = min(last, as_of) if last else None
    actual = dict(zip(spend["charge_date"], spend["cost"], strict=True))
    proj_days = _days(max(through + timedelta(days=1), start) if through else start, horizon)

    method, projection = _project(budget, spend, forecast, proj_days, first, through)
    in_period = spend.filter(pl.col("charge_date").is_between(start, min(end, as_of)))
    spent = float(in_period["cost"].sum())
    daily = {**actual, **projection}
    if n:
        windows = [
            (e, sum(daily.get(d, 0.0) for d in _days(e - timedelta(days=n - 1), e)))
            for e in _days(as_of, horizon)
        ]
        forecast_total = windows[0][1]
    else:
        forecast_total, cum, windows = spent + sum(projection.values()), spent, []
        for d in proj_days:
            cum += projection[d]
            windows.append((d, cum))
    exceeds_on = as_of if spent >= budget.amount else None
    if exceeds_on is None:
        exceeds_on = next((d for d, total in windows if total >= budget.amount), None)
    days_until = max((exceeds_on - as_of).days, 0) if exceeds_on else None
    pct, forecast_pct = 100 * spent / budget.amount, 100 * forecast_total / budget.amount
    if days_until is not None:
        risk = "high"
    elif max(pct, forecast_pct) >= min(budget.thresholds):
        risk = "medium"
    else:
        risk = "low"
    return {
        "budget_name": budget.name,
        "source_tag": budget.source_tag,
        "scope": json.dumps({k: list(v) for k, v in budget.scope.items()}, sort_keys=True),
        "cost_type": budget.cost,
        "period": budget.period,
        "period_key": key,
        "period_start": start,
        "period_end": end,
        "as_of": as_of,
        "data_through": through,
        "currency": budget.currency,
        "amount_usd": budget.amount,
        "spent_usd": spent,
        "pct_used": pct,
        "forecast_usd": forecast_total,
        "forecast_pct": forecast_pct,
        "forecast_method": method,
        "projected_daily_usd": sum(projection.values()) / len(projection) if projection else None,
        "days_until_exceeded": days_until,
        "exceeds_on": exceeds_on,
        "thresholds": list(budget.thresholds),
        "thresholds_crossed": [t for t in budget.thresholds if pct >= t],
        "risk": risk,
        "rows_without_usd": int(in_period["rows_without_usd"].sum()),
        "computed_at": now,
    }


def _project(
    budget: Budget,
    spend: pl.DataFrame,
    forecast: pl.DataFrame | None,
    days: list[date],
    first: date | None,
    through: date | None,
) -> tuple[str, dict[date, float]]:
    """(forecast_method, projected spend per day) for the days with no data yet.

    The forecast is used only when it models the scope (`forecast_keys`), the scope had no
    spend the forecast does not model lately (non-AI rows, Purchase rows), and every day to
    project has a value for every series of the scope.
    """
    if not days:
        return "actual", {}
    keys = forecast_keys(budget)
    if forecast is not None and keys and int(spend["unforecast_rows"].sum()) == 0:
        daily = forecast.group_by("forecast_date").agg(pl.len(), pl.col("forecast").sum())
        by_day = {d: (count, value) for d, count, value in daily.iter_rows()}
        if all(by_day.get(d, (0, 0.0))[0] == len(keys[1]) for d in days):
            return "forecast", {d: max(by_day[d][1], 0.0) for d in days}
    return "run_rate", dict.fromkeys(days, _run_rate(budget, spend, first, through))


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _run_rate(budget: Budget, spend: pl.DataFrame, first: date | None, through: date | None):
    """Average daily recurring spend over the 7 days up to `through` (days with no rows count
    as 0; every charge when the scope itself filters on charge_category)."""
    if through is None or first is None:
        return 0.0
    since = max(through - timedelta(days=RUN_RATE_DAYS - 1), first)
    col = "cost" if "charge_category" in budget.scope else "recurring_cost"
    total = spend.filter(pl.col("charge_date").is_between(since, through))[col].sum()
    return max(float(total) / ((through - since).days + 1), 0.0)


def budget_status(
    con: duckdb.DuckDBPyConnection, budgets: tuple[Budget, ...], *, as_of: date, now: datetime
) -> pl.DataFrame:
    """One row per budget for its period containing `as_of` (see the module docstring)."""
    extents = read_tag_extents(con, as_of) if budgets else {}
    rows = []
    for budget in budgets:
        start, end, _ = period_bounds(budget, as_of)
        extent = extents.get(budget.source_tag)
        through = min(extent[1], as_of) if extent else as_of
        since = min(start, through - timedelta(days=RUN_RATE_DAYS))
        spend = read_spend(con, budget, since, as_of)
        n = budget.rolling_days
        fc = read_forecast(con, budget, since, as_of + timedelta(days=n - 1) if n else end)
        rows.append(evaluate(budget, as_of=as_of, spend=spend, extent=extent, forecast=fc, now=now))
    return pl.DataFrame(rows, schema=STATUS_SCHEMA)
