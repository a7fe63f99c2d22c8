"""Anomaly detection accuracy: Bimo's detector against two baselines on labelled data.

    .venv/bin/python benchmarks/anomaly_accuracy.py [--seeds 7 11 23] [--days 90]
    .venv/bin/python benchmarks/anomaly_accuracy.py --input FILE.csv --time-col ts \
        --value-col y --label-col is_anomaly [--id-col series] [--freq 1h]

Three detectors run in the same process on the same series:

- `bimo`: on the demo, the warehouse's detector (`bimo.analytics.anomalies.detect`); on a CSV,
  Bimo's generic detector (`bimo.analytics.generic.detect_frame`, what `bimo detect-anomalies`
  runs, with the same validation and time axis).
- `spike_rule`: a point above `SPIKE_RATIO` (2) × the mean of the trailing `SPIKE_DAYS` (7) days,
  the point itself excluded; at least half of those days must have a value.
- `rolling_zscore`: |y − mean| > `Z` (3) × the standard deviation of the trailing `Z_DAYS` (28)
  days, the point excluded; at least `Z_MIN_DAYS` (14) days of history.

On a finer cadence the windows are the same number of days in steps.

**Demo** (no `--input`): for each seed, generate the demo (ground truth in labels.json), load it
with dlt, build the marts with dbt, and score the daily cost and error-rate series. A flagged day
is a true positive when it falls inside an incident's dates, in its source tag and metric, on the
total series, the incident's provider or one of its models. Precision is over flagged (series,
day) rows, recall over incidents, F1 = 2PR / (P + R); the mean is over seeds.

**Input CSV**: one row per timestamp (and series, with `--id-col`); the label column is 1, true,
yes, y or anomaly on an anomalous point and 0, false, no or empty otherwise. An incident is a run
of consecutive labelled steps of one series. Precision is the labelled share of flagged points,
recall the share of incidents with at least one flagged point; points without a value are
neither scored nor counted.

Results: benchmarks/results/anomaly_accuracy.{json,md} for the demo and
anomaly_accuracy_<csv name>.{json,md} for an input, each with the machine, date, command and the
git commit (listing detector files that differ from it).
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

import duckdb
import numpy as np
import polars as pl

from bimo.analytics import generic
from bimo.analytics.anomalies import detect
from bimo.analytics.series import daily_cost_series, daily_error_rate_series, last_complete_day

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anomaly_scoring import baseline_flags, f1, score
from demo_warehouse import build_demo

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"
DETECTORS = ("bimo", "spike_rule", "rolling_zscore")
BASELINES = DETECTORS[1:]
TRUE_LABELS = ("1", "true", "yes", "y", "anomaly")
FALSE_LABELS = ("", "0", "false", "no", "n", "normal")


def run_seed(seed: int, days: int, work: Path) -> dict:
    """Generate, load and build one demo seed; score the three detectors on its series."""
    series, labels = demo_series(seed, days, work)
    t = time.perf_counter()
    bimo = detect(series)
    seconds = time.perf_counter() - t
    flags = baseline_flags(series)
    return {
        "seed": seed,
        "series": series["unique_id"].n_unique(),
        "days": days,
        "incidents": len(labels),
        "detect_seconds": round(seconds, 2),
        "bimo": score(bimo, labels),
        **{
            name: score(flags.filter(name).rename({"ds": "anomaly_date"}), labels)
            for name in BASELINES
        },
    }


def demo_series(seed: int, days: int, work: Path) -> tuple[pl.DataFrame, list[dict]]:
    """(the daily cost and error-rate series, the incident labels) of one demo seed, generated,
    loaded and built in `work`."""
    warehouse, labels = build_demo(seed, days, work)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        through = last_complete_day(con)
        series = pl.concat(
            [daily_cost_series(con, through), daily_error_rate_series(con, through)],
            how="diagonal_relaxed",
        )
    finally:
        con.close()
    return series, labels


def run_csv(
    path: Path,
    *,
    time_col: str,
    value_col: str,
    label_col: str,
    id_col: str | None = None,
    freq: str | None = None,
) -> dict:
    """Score the three detectors on a labelled CSV (see the module docstring for its format)."""
    raw = generic.read_csv(path, time_col=time_col, value_col=value_col, id_col=id_col)
    if label_col not in raw.columns:
        raise generic.InputError(f"{path} has no label column {label_col!r}")
    text = raw[label_col].fill_null("").str.strip_chars().str.to_lowercase()
    if not (bad := raw.filter(~text.is_in(TRUE_LABELS + FALSE_LABELS))).is_empty():
        row = bad.row(0, named=True)
        allowed = ", ".join(TRUE_LABELS + FALSE_LABELS[1:])
        raise generic.InputError(
            f"line {row['_row'] + 2}: label {row[label_col]!r} is not one of {allowed} or empty"
        )
    labels = raw.select("_row", label=text.is_in(TRUE_LABELS))
    frame = generic.parse(raw, time_col=time_col, value_col=value_col, id_col=id_col)
    cad = generic.parse_freq(freq) if freq else generic.infer_cadence(frame)
    grid = generic.regular(frame, cad, min_points=2 * cad.seasons[0], task="score it")
    t = time.perf_counter()
    bimo = generic.detect_frame(grid, cad).select("_row", bimo="is_anomaly")
    seconds = time.perf_counter() - t
    points = (
        baseline_flags(grid, per_day=generic.DAY // cad.step)
        .join(labels, on="_row", how="left")
        .join(bimo, on="_row", how="left")
        .with_columns(
            label=pl.col("label").fill_null(False) & pl.col("y").is_not_null(),
            bimo=pl.col("bimo").fill_null(False),
        )
        .with_columns(  # runs of consecutive labelled steps, numbered per series
            incident=(pl.col("label") & ~pl.col("label").shift(1).fill_null(False))
            .cum_sum()
            .over("unique_id")
        )
        .filter(pl.col("y").is_not_null())
    )
    incidents = points.filter("label").select("unique_id", "incident").unique()
    results = {}
    for name in DETECTORS:
        hits = points.filter(name)
        found = hits.filter("label").select("unique_id", "incident").unique()
        precision = round(hits["label"].mean(), 3) if hits.height else 0.0
        recall = round(found.height / incidents.height, 3) if incidents.height else 0.0
        results[name] = {
            "flagged": hits.height,
            "true_positives": int(hits["label"].sum()),
            "precision": precision,
            "recall": recall,
            "f1": f1(precision, recall),
            "incidents_found": found.height,
            "labelled_points_found": int(hits["label"].sum()),
        }
    return {
        "input": str(path),
        "cadence": cad.label,
        "series": grid["unique_id"].n_unique(),
        "points": points.height,
        "labelled_points": int(points["label"].sum()),
        "incidents": incidents.height,
        "detect_seconds": round(seconds, 2),
        **results,
    }


def mean_scores(runs: list[dict]) -> dict:
    return {
        name: {
            m: round(float(np.mean([r[name][m] for r in runs])), 3)
            for m in ("precision", "recall", "f1")
        }
        for name in DETECTORS
    }


def ratios(scores: dict) -> dict:
    """Bimo's precision, recall and F1 ÷ each baseline's (None where the baseline scores 0)."""
    return {
        base: {
            m: round(scores["bimo"][m] / scores[base][m], 2) if scores[base][m] else None
            for m in ("precision", "recall", "f1")
        }
        for base in BASELINES
    }


def provenance(argv: list[str]) -> dict:
    """Machine, date, command and git state (detector-related files that differ from HEAD)."""

    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return run.stdout if run.returncode == 0 else ""

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _lines("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        (line.split()[1] for line in _lines("/proc/meminfo") if line.startswith("MemTotal")), None
    )
    changed = git("status", "--porcelain", "--", "bimo/analytics", "bimo/demo", "benchmarks")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([".venv/bin/python", "benchmarks/anomaly_accuracy.py", *argv]),
        "machine": {
            "cpu": cpu,
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "memory_gib": round(int(mem) / 2**20, 1) if mem else None,
        },
        "git": {
            "commit": git("rev-parse", "--short", "HEAD").strip(),
            "uncommitted": [line[3:] for line in changed.splitlines()],
        },
    }


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def report(meta: dict, rows: list[tuple[str, dict]], scores: dict, title: str, note: str) -> str:
    """The markdown page: provenance, one row per (run, detector), means and ratios."""
    m, g = meta["machine"], meta["git"]
    tree = f"`{g['commit']}`" + (
        f" plus uncommitted changes to {', '.join(f'`{p}`' for p in g['uncommitted'])}"
        if g["uncommitted"]
        else " (clean)"
    )
    lines = [
        f"# {title}\n",
        f"`{meta['command']}` — {meta['date']}, {m['cpu']} ({m['cores']} cores, "
        f"{m['memory_gib']} GiB), Python {m['python']}; tree {tree}.\n",
        note + "\n",
        "| run | detector | flagged | precision | recall | F1 | missed |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for run, r in rows:
        for name in DETECTORS:
            s = r[name]
            missed = ", ".join(s.get("missed", [])) or "-"
            lines.append(
                f"| {run} | {name} | {s['flagged']} | {s['precision']} | "
                f"{s['recall']} | {s['f1']} | {missed} |"
            )
    for name in DETECTORS:
        s = scores[name]
        lines.append(f"| mean | {name} | | {s['precision']} | {s['recall']} | {s['f1']} | |")
    lines += ["", "| Bimo ÷ baseline | precision | recall | F1 |", "|---|---:|---:|---:|"]
    for base, r in ratios(scores).items():
        cells = " | ".join(f"{v}×" if v is not None else "n/a" for v in r.values())
        lines.append(f"| {base} | {cells} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23])
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--input", type=Path, help="a labelled CSV instead of the demo")
    p.add_argument("--time-col", default="timestamp")
    p.add_argument("--value-col", default="value")
    p.add_argument("--label-col", default="is_anomaly")
    p.add_argument("--id-col")
    p.add_argument("--freq", help="the CSV's step (5min, 1h, 1d); default: inferred")
    p.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    args = p.parse_args(argv)
    meta = provenance(argv)
    if args.input:
        try:
            run = run_csv(
                args.input,
                time_col=args.time_col,
                value_col=args.value_col,
                label_col=args.label_col,
                id_col=args.id_col,
                freq=args.freq,
            )
        except generic.InputError as exc:
            sys.exit(f"error: {exc}")
        runs, scores = [run], {name: run[name] for name in DETECTORS}
        stem = f"anomaly_accuracy_{args.input.stem}"
        title = f"Anomaly detection accuracy on {args.input.name}"
        note = (
            f"{run['series']} series of {run['cadence']} steps, {run['points']:,} points, "
            f"{run['labelled_points']} labelled in {run['incidents']} incidents."
        )
        rows = [(args.input.name, run)]
    else:
        work = Path(tempfile.mkdtemp(prefix="bimo-anomaly-"))
        try:
            runs = [run_seed(s, args.days, work) for s in args.seeds]
        finally:
            shutil.rmtree(work, ignore_errors=True)
        scores, stem = mean_scores(runs), "anomaly_accuracy"
        title = "Anomaly detection accuracy on labelled demo incidents"
        note = (
            f"{runs[0]['incidents']} incidents per seed (cost spikes, runaway key, model "
            f"switch, error burst, developer runaway), {runs[0]['series']} daily series, "
            f"{args.days} days; the mean is over seeds."
        )
        rows = [(f"seed {r['seed']}", r) for r in runs]
    result = {
        **meta,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "runs": runs,
        "mean": scores,
        "ratios": ratios(scores),
    }
    page = report(meta, rows, scores, title, note)
    print(page)
    for base, r in result["ratios"].items():
        print(f"bimo vs {base}: " + ", ".join(f"{m} {v}×" for m, v in r.items()))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (args.out / f"{stem}.md").write_text(page)
    return result


if __name__ == "__main__":
    main()
