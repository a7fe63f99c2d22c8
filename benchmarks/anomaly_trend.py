"""The anomaly fit's trend model: accuracy and time per AutoETS spec, on labelled demo incidents.

    .venv/bin/python benchmarks/anomaly_trend.py [--seeds 7 11 23] [--days 90 365]
        [--models ZZN ANN AAN]

The detector (`bimo.analytics.anomalies`) fits StatsForecast's MSTL to each cleaned series; MSTL
models its trend with AutoETS (`AnomalyConfig.trend_model`; "ZZN", MSTL's default, lets AutoETS
choose among six models, which is most of the fit's time). For each history length and seed:
generate the demo, load it and build the marts once (`anomaly_accuracy.demo_series`), then run
`detect` with each trend model on the same series, twice, in ABBA order, and score it as
`benchmarks/anomaly_accuracy.py` does (precision over flagged rows, recall over incidents).
Times are the median of the two runs; scores do not vary between them.
Results: benchmarks/results/anomaly_trend.{json,md}.
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean, median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from anomaly_accuracy import demo_series
from anomaly_scoring import score
from machine import command_line, machine_info, write_results

from bimo.analytics.anomalies import AnomalyConfig, detect

DEFAULT = AnomalyConfig().trend_model


def run(seed: int, days: int, models: list[str], work: Path) -> list[dict]:
    series, labels = demo_series(seed, days, work)
    times: dict[str, list[float]] = {m: [] for m in models}
    scores: dict[str, dict] = {}
    for order in (models, models[::-1]):
        for m in order:
            t = time.perf_counter()
            found = detect(series, AnomalyConfig(trend_model=m))
            times[m].append(time.perf_counter() - t)
            scores[m] = score(found, labels)
    rows = []
    for m in models:
        s = scores[m]
        rows.append(
            {
                "days": days,
                "seed": seed,
                "model": m,
                "detect_s": round(median(times[m]), 3),
                **{k: s[k] for k in ("flagged", "true_positives", "precision", "recall", "f1")},
                "missed": s["missed"],
            }
        )
        print(
            f"{days} days, seed {seed}, {m}: {median(times[m]):.2f} s, flagged {s['flagged']}, "
            f"precision {s['precision']}, recall {s['recall']}, F1 {s['f1']}",
            flush=True,
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23])
    p.add_argument("--days", type=int, nargs="+", default=[90, 365])
    p.add_argument("--models", nargs="+", default=["ZZN", "ANN", "AAN"])
    args = p.parse_args()
    # the product's model first: every other is compared with it
    models = [DEFAULT, *(m for m in args.models if m != DEFAULT)]
    for m in models:
        AnomalyConfig(trend_model=m)  # a clear error before any work
    info = machine_info()
    import statsforecast.models  # noqa: F401 - imported once here, not inside the first timing

    work = Path(tempfile.mkdtemp(prefix="bimo-anomaly-trend-"))
    rows = []
    try:
        for days in args.days:
            for seed in args.seeds:
                rows += run(seed, days, models, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pooled = []
    for days in args.days:
        default = {r["seed"]: r for r in rows if r["days"] == days and r["model"] == DEFAULT}
        for m in models:
            mine = [r for r in rows if r["days"] == days and r["model"] == m]
            pairs = [(r, default[r["seed"]]) for r in mine]
            pooled.append(
                {
                    "days": days,
                    "model": m,
                    "detect_s_median": round(median(r["detect_s"] for r in mine), 3),
                    "time_vs_default": round(
                        median(r["detect_s"] / b["detect_s"] for r, b in pairs), 2
                    ),
                    "flagged": sum(r["flagged"] for r in mine),
                    **{
                        k: round(mean(r[k] for r in mine), 3) for k in ("precision", "recall", "f1")
                    },
                    "runs_differing_from_default": sum(
                        (r["flagged"], r["true_positives"]) != (b["flagged"], b["true_positives"])
                        for r, b in pairs
                    ),
                }
            )
    command = command_line("anomaly_trend.py", seeds=args.seeds, days=args.days, models=models)
    lines = [
        "# The anomaly fit's trend model on labelled demo incidents",
        "",
        f"`{command}` — {info['date']}, {info['cpu']} ({info['cores']} cores), "
        f"1-minute load average {info['load_average_1m']} at the start.",
        "",
        f"{len(args.seeds)} demo seeds per history length, the same series for every model. "
        "Precision, recall and F1 are the mean over the seeds (as "
        "`benchmarks/anomaly_accuracy.py` scores them), *flagged* their sum; *detect s* is the "
        "median over the seeds of each seed's median of two runs, and *time* the median of its "
        f"ratio to the product's model, **{DEFAULT}**, on the same seed. *Runs differing*: seeds "
        "on which the model flagged another number of rows, or of true positives, than the "
        "product's.",
        "",
        "| days | trend model | detect s | time | flagged | precision | recall | F1 "
        "| runs differing |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in pooled:
        label = f"**{s['model']}** (the product's)" if s["model"] == DEFAULT else s["model"]
        lines.append(
            f"| {s['days']} | {label} | {s['detect_s_median']:.2f} | {s['time_vs_default']}× "
            f"| {s['flagged']} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} "
            f"| {s['runs_differing_from_default']} of {len(args.seeds)} |"
        )
    lines += ["", "Per seed:", "", "| days | seed | model | detect s | flagged | precision | F1 |"]
    lines.append("|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        lines.append(
            f"| {r['days']} | {r['seed']} | {r['model']} | {r['detect_s']:.2f} | {r['flagged']} "
            f"| {r['precision']} | {r['f1']} |"
        )
    payload = {"command": command, "machine": info, "default": DEFAULT, "runs": rows}
    write_results("anomaly_trend", payload | {"pooled": pooled}, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
