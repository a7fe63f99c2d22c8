"""The rows of `analytics.cost_anomalies` that detection produces: stable ids, severity,
direction, and the first day of each run of anomalous days."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import polars as pl

from bimo.analytics.series import DIMENSIONS, LONG_COLUMNS


def anomaly_id(source_tag: str, metric: str, level: str, key: str, day: object) -> str:
    """The stable id of one series × day: the same anomaly keeps it across recomputes."""
    return _hash(f"{source_tag}|{metric}|{level}|{key}|{day}")


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


ANOMALY_COLUMNS = [
    "anomaly_id",
    "anomaly_date",
    "first_seen",
    "source_tag",
    "metric",
    "series_level",
    "series_key",
    *DIMENSIONS,
    "actual",
    "expected",
    "lower_bound",
    "upper_bound",
    "score",
    "severity",
    "direction",
    "impact_usd",
    "method",
    "status",
    "detected_at",
]


def anomaly_rows(flagged: pl.DataFrame | None) -> pl.DataFrame:
    """Flagged scored points (`LONG_COLUMNS` plus expected, bounds, score, delta, impact_usd,
    method) as anomaly rows in `ANOMALY_COLUMNS`; None gives the empty table."""
    if flagged is None:
        return anomaly_rows(_empty())
    now = datetime.now(UTC).replace(tzinfo=None)
    abs_score = pl.col("score").abs()
    direction = pl.when(pl.col("delta") > 0).then(pl.lit("spike")).otherwise(pl.lit("drop"))
    # A run: consecutive anomalous days of one series in one direction; first_seen is its start.
    new_run = (
        (pl.col("ds").diff().dt.total_days() != 1)
        | (pl.col("direction") != pl.col("direction").shift())
    ).fill_null(True)
    key = ["source_tag", "metric", "series_level", "series_key", pl.col("ds").cast(pl.String)]
    return (
        flagged.sort("unique_id", "ds")
        .with_columns(direction=direction)
        .with_columns(run=new_run.cum_sum().over("unique_id"))
        .with_columns(
            first_seen=pl.col("ds").min().over("unique_id", "run"),
            anomaly_id=pl.concat_str(key, separator="|").map_elements(
                _hash, return_dtype=pl.String
            ),
            severity=pl.when(abs_score >= 12)
            .then(pl.lit("high"))
            .when(abs_score >= 8)
            .then(pl.lit("medium"))
            .otherwise(pl.lit("low")),
            status=pl.lit("open"),
            detected_at=pl.lit(now),
        )
        .rename({"ds": "anomaly_date", "y": "actual"})
        .select(ANOMALY_COLUMNS)
        .sort(["anomaly_date", "source_tag", "metric", "series_level", "series_key"])
    )


def _empty() -> pl.DataFrame:
    schema = {c: pl.String for c in LONG_COLUMNS} | {
        "ds": pl.Date,
        **dict.fromkeys(("y", "weight", "reference_usd", "volume", "expected"), pl.Float64),
        "lower_bound": pl.Float64,
        **dict.fromkeys(("upper_bound", "score", "delta", "impact_usd"), pl.Float64),
        "method": pl.String,
    }
    return pl.DataFrame(schema=schema)
