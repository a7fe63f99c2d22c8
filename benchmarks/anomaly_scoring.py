"""Scoring anomaly detectors against labelled incidents, and the two baselines Bimo is measured
against (`benchmarks/anomaly_accuracy.py` describes them)."""

from datetime import date

import polars as pl

SPIKE_RATIO, SPIKE_DAYS = 2.0, 7
Z, Z_DAYS, Z_MIN_DAYS = 3.0, 28, 14


def baseline_flags(frame: pl.DataFrame, *, per_day: int = 1) -> pl.DataFrame:
    """`frame` (unique_id, ds, y) sorted, with boolean `spike_rule` and `rolling_zscore`."""
    y, w, zw = pl.col("y"), SPIKE_DAYS * per_day, Z_DAYS * per_day
    mean = y.rolling_mean(w, min_samples=(w + 1) // 2).shift(1)
    z_mean = y.rolling_mean(zw, min_samples=Z_MIN_DAYS * per_day).shift(1)
    z_std = y.rolling_std(zw, min_samples=Z_MIN_DAYS * per_day).shift(1)
    return frame.sort("unique_id", "ds").with_columns(
        spike_rule=(y > SPIKE_RATIO * mean).over("unique_id").fill_null(False),
        rolling_zscore=((y - z_mean).abs() > Z * pl.max_horizontal(z_std, pl.lit(1e-9)))
        .over("unique_id")
        .fill_null(False),
    )


def f1(precision: float, recall: float) -> float:
    return round(2 * precision * recall / (precision + recall), 3) if precision + recall else 0.0


def matches(row: dict, label: dict) -> bool:
    if row["source_tag"] != label["source_tag"] or row["metric"] != label["metric"]:
        return False
    if (
        not date.fromisoformat(label["start_date"])
        <= row["anomaly_date"]
        <= date.fromisoformat(label["end_date"])
    ):
        return False
    if row["series_level"] == "total":
        return True
    if row["provider"] != label["provider"]:
        return False
    return row["series_level"] == "provider" or row["model"] in label["models"]


def score(flagged: pl.DataFrame, labels: list[dict]) -> dict:
    rows = flagged.to_dicts()
    tp = sum(any(matches(r, lab) for lab in labels) for r in rows)
    found = [lab["id"] for lab in labels if any(matches(r, lab) for r in rows)]
    precision = round(tp / len(rows), 3) if rows else 0.0
    recall = round(len(found) / len(labels), 3)
    return {
        "flagged": len(rows),
        "true_positives": tp,
        "precision": precision,
        "recall": recall,
        "f1": f1(precision, recall),
        "missed": sorted({lab["id"] for lab in labels} - set(found)),
        "false_positives": [
            f"{r['anomaly_date']} {r['source_tag']} {r['metric']} {r['series_key']}"
            for r in rows
            if not any(matches(r, lab) for lab in labels)
        ],
    }
