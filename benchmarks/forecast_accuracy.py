"""Forecast accuracy on the demo company: Bimo's ensemble vs seasonal naive vs linear trend ± 20 %.

    .venv/bin/python benchmarks/forecast_accuracy.py [--seeds 7 11 23] [--days 90] [--quick]

For each seed: generate the demo, load it with dlt, build the marts with dbt, read the series
Bimo forecasts (daily AI cost per source tag, in total and per provider) and run the
rolling-origin backtest of `bimo.analytics.backtest` (4 origins 7 days apart, 30 days ahead).
Also times the production forecast (90 days) and the backtest on those series. Acceptance: mean
MASE below seasonal naive's, 80 % interval coverage between 0.70 and 0.90. `--quick` runs one
seed at a lighter traffic (< 60 s). Results: benchmarks/results/forecast_accuracy.{json,md}.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
sys.path.insert(0, str(Path(__file__).parent))

import duckdb
import polars as pl
from demo_warehouse import build_demo
from machine import machine_info

from bimo.analytics.backtest import summary
from bimo.analytics.forecast import forecast
from bimo.analytics.run import accuracy_table, forecast_series
from bimo.analytics.series import last_complete_day

RESULTS = Path(__file__).parent / "results"
METHODS = ("bimo", "seasonal_naive", "linear_trend_20pct")


def demo_series(seed: int, days: int, work: Path, requests_per_day: int = 1500) -> pl.DataFrame:
    """The forecast series of a freshly generated, loaded and built demo warehouse."""
    warehouse, _ = build_demo(seed, days, work, requests_per_day)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return forecast_series(con, last_complete_day(con))
    finally:
        con.close()


def accept(s: dict) -> bool:
    """The acceptance rule on one summary: MASE below seasonal naive's, 80 % coverage in range."""
    bimo = s["bimo"]
    return bimo["mase"] < s["seasonal_naive"]["mase"] and 0.70 <= bimo["coverage_80"] <= 0.90


def by_method(acc: pl.DataFrame) -> dict:
    return {r["method"]: r for r in summary(acc).to_dicts()}


def run_seed(seed: int, days: int, work: Path, requests_per_day: int = 1500) -> dict:
    series = demo_series(seed, days, work, requests_per_day)
    through = series["ds"].max()
    t = time.perf_counter()
    forecast(series, trained_through=through)
    forecast_seconds = time.perf_counter() - t
    t = time.perf_counter()
    acc = accuracy_table(series, trained_through=through)
    backtest_seconds = time.perf_counter() - t
    s = by_method(acc)
    return {
        "seed": seed,
        "days": days,
        "requests_per_day": requests_per_day,
        "series": series["unique_id"].n_unique(),
        "forecast_seconds_h90": round(forecast_seconds, 2),
        "backtest_seconds": round(backtest_seconds, 2),
        "summary": s,
        "accepted": accept(s),
        "accuracy": acc.with_columns(seed=pl.lit(seed)),
    }


def table(label: str, s: dict) -> list[str]:
    def f(v, fmt=".3f"):
        return "–" if v is None else format(v, fmt)

    return [
        f"| {label} | {m} | {s[m]['series']} | {f(s[m]['mase'])} | {f(s[m]['median_mase'])} | "
        f"{f(s[m]['skill'], '+.3f')} | {f(s[m]['wape'])} | {f(s[m]['bias'], '+.3f')} | "
        f"{f(s[m]['coverage_80'])} | {f(s[m]['coverage_95'])} | {f(s[m]['total_coverage_80'])} |"
        for m in METHODS
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23])
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--requests-per-day", type=int, default=1500)
    p.add_argument("--quick", action="store_true", help="seed 7 only, 600 requests a day")
    args = p.parse_args()
    if args.quick:
        args.seeds, args.requests_per_day = [7], 600
    started, info = time.perf_counter(), machine_info()
    import statsforecast.models  # noqa: F401 - imported once here, not inside the first timing

    work = Path(tempfile.mkdtemp(prefix="bimo-forecast-"))
    try:
        runs = [run_seed(s, args.days, work, args.requests_per_day) for s in args.seeds]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pooled = by_method(pl.concat([r["accuracy"] for r in runs]))
    lines = [
        "| seed | method | series | MASE (mean) | MASE (median) | skill | WAPE | bias | "
        "80 % coverage | 95 % coverage | 30-day total in 80 % |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines += table(str(r["seed"]), r["summary"])
    if len(runs) > 1:
        lines += table("all", pooled)
    result_table = "\n".join(lines) + "\n"
    b, n = pooled["bimo"], pooled["seasonal_naive"]
    ratios = (
        f"ratios vs seasonal naive (same process): MASE {b['mase'] / n['mase']:.2f}x, "
        f"WAPE {b['wape'] / n['wape']:.2f}x; linear trend ± 20 %: MASE "
        f"{pooled['linear_trend_20pct']['mase'] / n['mase']:.2f}x"
    )
    timing = ", ".join(
        f"seed {r['seed']}: {r['series']} series, forecast h=90 {r['forecast_seconds_h90']} s, "
        f"backtest {r['backtest_seconds']} s"
        for r in runs
    )
    verdict = "PASS" if accept(pooled) and all(r["accepted"] for r in runs) else "FAIL"
    print(result_table)
    print(ratios)
    print(timing)
    print(f"acceptance (MASE < seasonal naive, 0.70 <= 80 % coverage <= 0.90): {verdict}")
    command = "benchmarks/forecast_accuracy.py" + (
        " --quick"
        if args.quick
        else f" --seeds {' '.join(map(str, args.seeds))} --days {args.days}"
        f" --requests-per-day {args.requests_per_day}"
    )
    info["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    RESULTS.mkdir(exist_ok=True)
    stem = "forecast_accuracy_quick" if args.quick else "forecast_accuracy"
    (RESULTS / f"{stem}.json").write_text(
        json.dumps(
            {
                "command": f".venv/bin/python {command}",
                "machine": info,
                "args": vars(args),
                "seconds": round(time.perf_counter() - started, 1),
                "pooled": pooled,
                "acceptance": verdict,
                "runs": [{k: v for k, v in r.items() if k != "accuracy"} for r in runs],
                "per_series": pl.concat([r["accuracy"] for r in runs])
                .drop("generated_at")
                .to_dicts(),
            },
            indent=2,
            default=str,
        )
    )
    (RESULTS / f"{stem}.md").write_text(
        "# Forecast accuracy on the demo company\n\n"
        f"`.venv/bin/python {command}` — {info['date']}, {info['cpu']} ({info['cores']} cores), "
        f"Python {info['python']}, statsforecast {info['statsforecast']}; 1-minute load "
        f"average {info['load_average_1m']} before, {info['load_average_1m_end']} after.\n\n"
        f"Rolling-origin backtest: 4 origins 7 days apart, 30 days ahead, on {runs[0]['series']} "
        f"daily series per seed (AI cost per source tag, total and per provider; a series that is "
        "always $0 is not scored). MASE is scaled by the in-sample seasonal-naive MAE (lag 7); "
        "skill = 1 − MASE / MASE of seasonal naive, averaged over series; WAPE and bias are "
        "per-series values averaged with the series' points as weights, coverages are pooled "
        "over all points. The linear trend's only band is ± 20 % (shown as "
        "80 %). Last column: share of origins whose 30-day total is within the summed daily "
        "80 % bounds (how `analytics.cost_projections` bounds a sum).\n\n"
        + result_table
        + f"\n{ratios}.\n\nTimings: {timing}.\n\nAcceptance (MASE below seasonal naive, 80 % "
        f"coverage in [0.70, 0.90], every seed and pooled): **{verdict}**.\n"
    )


if __name__ == "__main__":
    main()
