"""Anomaly detection accuracy on the demo company's labelled incidents.

    .venv/bin/python benchmarks/anomaly_accuracy.py [--seeds 7 11 23] [--days 90]

For each seed: generate the demo (ground truth in labels.json), load it with dlt, build the marts
with dbt, then score Bimo's detector and a naive baseline (trailing 14-day mean ± 3σ, no
seasonality) on the same series. A flagged day counts as a true positive when it falls inside an
incident's dates, in its source tag, on the total series, the incident's provider or one of its
models. Precision is over flagged (series, day) rows; recall is over incidents.
Results: benchmarks/results/anomaly_accuracy.{json,md}.
"""

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

import duckdb
import numpy as np
import polars as pl

from bimo.analytics.anomalies import detect
from bimo.analytics.series import (
    daily_cost_series,
    daily_error_rate_series,
    last_complete_day,
)
from bimo.dbt_runner import dbt_build
from bimo.demo import generate
from bimo.settings import get_settings
from bimo.warehouse import writer_lock
from ingestion.load import load_files
from ingestion.readers import expand_paths
from ingestion.tables import ensure_raw_tables

RESULTS = Path(__file__).parent / "results"
SOURCES = ("bimo-gateway", "litellm", "otel-genai", "cli-log")


def naive_baseline(series: pl.DataFrame, window: int = 14, k: float = 3.0) -> pl.DataFrame:
    """Flag y outside trailing mean ± k·std of the previous `window` days (no seasonality)."""
    flagged = []
    for _, g in series.sort("ds").group_by("unique_id", maintain_order=True):
        y = g["y"].to_numpy()
        for i in range(window, len(y)):
            hist = y[i - window : i]
            if abs(y[i] - hist.mean()) > k * max(hist.std(), 1e-9):
                flagged.append(g.row(i, named=True))
    return pl.DataFrame(flagged, schema=series.schema).rename({"ds": "anomaly_date"})


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
    return {
        "flagged": len(rows),
        "true_positives": tp,
        "precision": round(tp / len(rows), 3) if rows else 0.0,
        "recall": round(len(found) / len(labels), 3),
        "missed": sorted({lab["id"] for lab in labels} - set(found)),
        "false_positives": [
            f"{r['anomaly_date']} {r['source_tag']} {r['metric']} {r['series_key']}"
            for r in rows
            if not any(matches(r, lab) for lab in labels)
        ],
    }


def run_seed(seed: int, days: int, work: Path) -> dict:
    demo = work / f"demo-{seed}"
    generate(demo, days=days, requests_per_day=1500, seed=seed, end=date(2026, 10, 31))
    labels = json.loads((demo / "labels.json").read_text())["anomalies"]
    settings = get_settings(work / f"w-{seed}.duckdb")
    load_files({s: expand_paths([demo / s]) for s in SOURCES}, settings=settings)
    with writer_lock(settings):
        ensure_raw_tables(settings)
        assert dbt_build(settings).ok
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    through = last_complete_day(con)
    series = pl.concat(
        [daily_cost_series(con, through), daily_error_rate_series(con, through)],
        how="diagonal_relaxed",
    )
    con.close()
    t = time.perf_counter()
    bimo = detect(series)
    seconds = time.perf_counter() - t
    return {
        "seed": seed,
        "series": series["unique_id"].n_unique(),
        "days": days,
        "incidents": len(labels),
        "detect_seconds": round(seconds, 2),
        "bimo": score(bimo, labels),
        "naive_baseline": score(naive_baseline(series), labels),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23])
    p.add_argument("--days", type=int, default=90)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bimo-anomaly-"))
    try:
        runs = [run_seed(s, args.days, work) for s in args.seeds]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = {}
    for name in ("bimo", "naive_baseline"):
        flagged = sum(r[name]["flagged"] for r in runs)
        tp = sum(r[name]["true_positives"] for r in runs)
        recall = np.mean([r[name]["recall"] for r in runs])
        total[name] = {"precision": round(tp / flagged, 3) if flagged else 0.0,
                       "recall": round(float(recall), 3), "flagged": flagged}  # fmt: skip
    lines = [
        "| seed | detector | flagged | precision | recall | missed |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in runs:
        for name in ("bimo", "naive_baseline"):
            s = r[name]
            lines.append(f"| {r['seed']} | {name} | {s['flagged']} | {s['precision']} | "
                         f"{s['recall']} | {', '.join(s['missed']) or '-'} |")  # fmt: skip
    for name, s in total.items():
        lines.append(f"| all | {name} | {s['flagged']} | {s['precision']} | {s['recall']} | |")
    table = "\n".join(lines) + "\n"
    print(table)
    b, n = total["bimo"], total["naive_baseline"]
    print(f"precision ratio bimo/naive: {b['precision'] / max(n['precision'], 1e-9):.1f}x")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "anomaly_accuracy.json").write_text(
        json.dumps({"args": vars(args), "runs": runs, "total": total}, indent=2, default=str)
    )
    (RESULTS / "anomaly_accuracy.md").write_text(
        "# Anomaly detection accuracy on labelled demo incidents\n\n"
        f"`.venv/bin/python benchmarks/anomaly_accuracy.py --seeds {' '.join(map(str, args.seeds))}"
        f" --days {args.days}` — {runs[0]['incidents']} incidents per seed (cost spikes, runaway "
        "key, model switch, error burst, developer runaway), "
        f"{runs[0]['series']} daily series.\n\n" + table
    )


if __name__ == "__main__":
    main()
