"""Alert rules: budget thresholds, forecast overruns, cost anomalies and spend spikes.

Every alert has a deterministic `dedupe_key` naming the condition, so re-running the rules never
fires the same condition twice (`bimo.alerts.tables.insert_new_alerts` keeps the first):

* `budget_threshold|<budget>|<period_key>|<threshold>` — once per budget × period × threshold;
* `budget_forecast|<budget>|<period_key>` — once per budget × period;
* `anomaly|<source_tag>|<metric>|<series_level>|<series_key>|<date>` — once per series × date;
* `spend_spike|<source_tag>|<provider>|<date>` — once per series × date.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import polars as pl

from bimo.alerts.budgets import RECURRING, read_tag_extents
from bimo.alerts.config import SEVERITIES, RuleSettings
from bimo.warehouse import table_exists

ALERT_SCHEMA = {
    "alert_id": pl.String,
    "dedupe_key": pl.String,
    "created_at": pl.Datetime("us"),
    "kind": pl.String,
    "severity": pl.String,
    "title": pl.String,
    "message": pl.String,
    "source_tag": pl.String,
    "subject": pl.String,
    "subject_date": pl.Date,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "threshold_pct": pl.Float64,
    "amount_usd": pl.Float64,
    "reference_usd": pl.Float64,
    "impact_usd": pl.Float64,
    "details": pl.String,
    "superseded_by": pl.String,
}
ANOMALY_SEVERITY = {"high": "critical", "medium": "warning", "low": "info"}
CLOSED_STATUSES = ("acknowledged", "resolved", "dismissed", "ignored", "closed")


def usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def alert(dedupe_key: str, now: datetime, **fields: Any) -> dict[str, Any]:
    """An alert row; `alert_id` is a short hash of the dedupe key."""
    details = fields.pop("details", None)
    row = dict.fromkeys(ALERT_SCHEMA)
    row.update(fields, dedupe_key=dedupe_key, created_at=now)
    row["alert_id"] = hashlib.sha1(dedupe_key.encode()).hexdigest()[:16]
    row["details"] = json.dumps(details, default=str, sort_keys=True) if details else None
    return row


def budget_alerts(status: pl.DataFrame, now: datetime) -> list[dict[str, Any]]:
    """Threshold crossings and forecast overruns from `analytics.budget_status` rows."""
    out = []
    for b in status.iter_rows(named=True):
        name, tag = b["budget_name"], b["source_tag"]
        period = f"{b['period']} period {b['period_start']}..{b['period_end']}"
        base = {
            "source_tag": tag,
            "subject": name,
            "subject_date": b["as_of"],
            "period_start": b["period_start"],
            "period_end": b["period_end"],
            "details": {k: b[k] for k in ("scope", "forecast_method", "data_through", "risk")}
            | {"rows_without_usd": b["rows_without_usd"], "forecast_usd": b["forecast_usd"]},
        }
        note = (
            f" {b['rows_without_usd']} cost rows have no USD amount and are not counted."
            if b["rows_without_usd"]
            else ""
        )
        for t in b["thresholds_crossed"] or []:
            out.append(
                alert(
                    f"budget_threshold|{name}|{b['period_key']}|{t:g}",
                    now,
                    kind="budget_threshold",
                    severity="critical" if t >= 100 else "warning",
                    title=f"Budget '{name}' passed {t:g}% ({b['pct_used']:.0f}% used)",
                    message=(
                        f"{tag} spend is {usd(b['spent_usd'])} of {usd(b['amount_usd'])} "
                        f"({b['pct_used']:.1f}%) for the {period}. Forecast at period end: "
                        f"{usd(b['forecast_usd'])} ({b['forecast_method']}).{note}"
                    ),
                    threshold_pct=t,
                    amount_usd=b["spent_usd"],
                    reference_usd=b["amount_usd"],
                    impact_usd=b["spent_usd"] - b["amount_usd"] * t / 100,
                    **base,
                )
            )
        days = b["days_until_exceeded"]
        if days is not None and b["spent_usd"] < b["amount_usd"]:
            out.append(
                alert(
                    f"budget_forecast|{name}|{b['period_key']}",
                    now,
                    kind="budget_forecast",
                    severity="warning",
                    title=f"Budget '{name}' is projected to be exceeded "
                    + (f"in {days} day{'s' * (days != 1)}" if days else "by now"),
                    message=(
                        f"{tag} spend is {usd(b['spent_usd'])} of {usd(b['amount_usd'])} for the "
                        f"{period}; projected ({b['forecast_method']}) to reach it on "
                        f"{b['exceeds_on']} and end at {usd(b['forecast_usd'])}.{note}"
                    ),
                    amount_usd=b["forecast_usd"],
                    reference_usd=b["amount_usd"],
                    impact_usd=b["forecast_usd"] - b["amount_usd"],
                    **base,
                )
            )
    return out


def anomaly_alerts(
    anomalies: pl.DataFrame, rules: RuleSettings, since: date, now: datetime
) -> list[dict[str, Any]]:
    """Open anomalies (status not acknowledged/resolved/…) on or after `since`."""
    floor = SEVERITIES.index(rules.anomaly_min_severity)
    out = []
    for a in anomalies.iter_rows(named=True):
        status = (a.get("status") or "open").lower()
        sev = a["severity"] if a["severity"] in SEVERITIES else "low"
        if a["anomaly_date"] < since or status in CLOSED_STATUSES or SEVERITIES.index(sev) < floor:
            continue
        tag, metric, level, key = a["source_tag"], a["metric"], a["series_level"], a["series_key"]
        is_cost = metric == "cost_usd"
        out.append(
            alert(
                f"anomaly|{tag}|{metric}|{level}|{key}|{a['anomaly_date']}",
                now,
                kind="anomaly",
                severity=ANOMALY_SEVERITY[sev],
                title=f"{(a.get('direction') or 'anomaly').capitalize()} in {tag} {metric} "
                f"({key}) on {a['anomaly_date']}",
                message=(
                    f"{metric} of {tag} / {level} {key} was {_fmt(a['actual'], is_cost)} on "
                    f"{a['anomaly_date']}, expected {_fmt(a['expected'], is_cost)} (bounds "
                    f"{_fmt(a['lower_bound'], is_cost)}..{_fmt(a['upper_bound'], is_cost)}, score "
                    f"{a['score'] or 0:.1f}, {sev} severity)."
                ),
                source_tag=tag,
                subject=f"{metric}|{level}|{key}",
                subject_date=a["anomaly_date"],
                amount_usd=a["actual"] if is_cost else None,
                reference_usd=a["expected"] if is_cost else None,
                impact_usd=a["impact_usd"],
                details={"anomaly_id": a.get("anomaly_id"), "metric": metric, "model": a["model"]},
            )
        )
    return out


def _fmt(value: float | None, is_cost: bool) -> str:
    if value is None:
        return "n/a"
    return usd(value) if is_cost else f"{value:.1%}"


def read_provider_spend(con: duckdb.DuckDBPyConnection, since: date, until: date) -> pl.DataFrame:
    """Daily recurring spend (Usage and Purchase, billed USD) per source tag and provider."""
    return con.sql(
        "select source_tag, provider, charge_date, coalesce(sum(cost_usd), 0)::double as cost "
        "from marts.fct_daily_cost where charge_date between ? and ? "
        f"and charge_category in {RECURRING} group by all",
        params=[since, until],
    ).pl()


def spike_alerts(
    spend: pl.DataFrame,
    first_days: dict[str, date],
    rules: RuleSettings,
    since: date,
    now: datetime,
) -> list[dict[str, Any]]:
    """Days on or after `since` whose spend is > factor × the trailing window's average (days
    with no rows count as 0; a day needs a full window of its tag's history)."""
    w = rules.spike_window_days
    out = []
    for (tag, provider), g in spend.group_by(["source_tag", "provider"]):
        values = dict(zip(g["charge_date"], g["cost"], strict=True))
        for day, y in sorted(values.items()):
            start = day - timedelta(days=w)
            if day < since or start < first_days.get(tag, day) or y < rules.spike_min_spend_usd:
                continue
            avg = sum(values.get(start + timedelta(days=i), 0.0) for i in range(w)) / w
            if y <= rules.spike_factor * avg:
                continue
            ratio = f"{y / avg:.1f}× its" if avg > 0 else "with no spend in its"
            out.append(
                alert(
                    f"spend_spike|{tag}|{provider}|{day}",
                    now,
                    kind="spend_spike",
                    severity="warning",
                    title=f"Spend spike: {provider} ({tag}) {usd(y)} on {day}",
                    message=(
                        f"{provider} {tag} spend was {usd(y)} on {day}, {ratio} trailing "
                        f"{w}-day average of {usd(avg)} (rule: > {rules.spike_factor:g}×)."
                    ),
                    source_tag=tag,
                    subject=provider,
                    subject_date=day,
                    amount_usd=y,
                    reference_usd=avg,
                    impact_usd=y - avg,
                    details={"provider": provider, "window_days": w},
                )
            )
    return out


def build_alerts(
    con: duckdb.DuckDBPyConnection,
    status: pl.DataFrame,
    rules: RuleSettings,
    *,
    as_of: date,
    now: datetime,
) -> pl.DataFrame:
    """Every alert the rules raise as of `as_of` (deduplication happens when they are stored)."""
    since = as_of - timedelta(days=rules.lookback_days - 1)
    rows = budget_alerts(status, now)
    if table_exists(con, "analytics", "cost_anomalies"):
        anomalies = con.sql(
            "select * from analytics.cost_anomalies where anomaly_date between ? and ?",
            params=[since, as_of],
        ).pl()
        rows += anomaly_alerts(anomalies, rules, since, now)
    extents = read_tag_extents(con, as_of)
    spend = read_provider_spend(con, since - timedelta(days=rules.spike_window_days), as_of)
    rows += spike_alerts(spend, {t: e[0] for t, e in extents.items()}, rules, since, now)
    return pl.DataFrame(rows, schema=ALERT_SCHEMA).unique("dedupe_key", keep="first")
