"""The `analytics.insights` row: what every insight rule returns, and how it becomes a row."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date

import polars as pl

SCHEMA = {
    "insight_id": pl.String,
    "kind": pl.String,
    "source_tag": pl.String,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "subject_type": pl.String,
    "subject": pl.String,
    "scope": pl.String,
    "title": pl.String,
    "explanation": pl.String,
    "metric": pl.String,
    "metric_value": pl.Float64,
    "threshold": pl.Float64,
    "impact_usd_monthly": pl.Float64,
    "severity": pl.String,
    "evidence": pl.String,
}
SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class Insight:
    """One finding. `severity` None: from `impact` against the tag's monthly spend."""

    kind: str
    source_tag: str
    period: tuple[date, date]
    subject_type: str
    subject: str
    title: str
    explanation: str
    metric: str
    value: float
    threshold: float
    impact: float | None
    evidence: dict = field(default_factory=dict)
    scope: str = ""
    severity: str | None = None


def to_frame(
    insights: list[Insight], tag_monthly: dict[str, float], shares: tuple[float, float]
) -> pl.DataFrame:
    """Rows with deterministic ids, sorted by severity, then impact (largest first)."""
    rows = [_row(i, tag_monthly, shares) for i in insights]
    out = pl.DataFrame(rows, schema=SCHEMA, orient="row") if rows else pl.DataFrame(schema=SCHEMA)
    rank = pl.col("severity").replace_strict(SEVERITIES, range(len(SEVERITIES)))
    return out.sort(
        [rank, pl.col("impact_usd_monthly").fill_null(0.0), "kind", "insight_id"],
        descending=[False, True, False, False],
    )


def _row(i: Insight, tag_monthly: dict[str, float], shares: tuple[float, float]) -> dict:
    severity = i.severity
    if severity is None:
        scale = tag_monthly.get(i.source_tag) or 0.0
        share = (i.impact or 0.0) / scale if scale > 0 else 0.0
        severity = "high" if share >= shares[0] else "medium" if share >= shares[1] else "low"
    key = "|".join([i.kind, i.source_tag, i.subject_type, i.subject, i.scope, str(i.period[1])])
    return {
        "insight_id": hashlib.sha1(key.encode()).hexdigest()[:16],
        "kind": i.kind,
        "source_tag": i.source_tag,
        "period_start": i.period[0],
        "period_end": i.period[1],
        "subject_type": i.subject_type,
        "subject": i.subject,
        "scope": i.scope or None,
        "title": i.title,
        "explanation": i.explanation,
        "metric": i.metric,
        "metric_value": round(float(i.value), 6),
        "threshold": float(i.threshold),
        "impact_usd_monthly": None if i.impact is None else round(float(i.impact), 2),
        "severity": severity,
        "evidence": json.dumps(_rounded(i.evidence), sort_keys=True, default=str),
    }


def _rounded(value):
    """Evidence floats to 6 significant digits: stable text for the same numbers."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def usd(value: float) -> str:
    """$1,234 / $12.34 / $0.0042: enough digits for per-request costs."""
    if abs(value) >= 100:
        return f"${value:,.0f}"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    if abs(value) >= 0.1:
        return f"${value:.2f}"
    return f"${value:.2g}" if value else "$0"


def count(n: float) -> str:
    return f"{n:,.0f}"
