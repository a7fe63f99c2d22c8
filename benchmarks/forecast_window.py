"""The forecast's training window: accuracy and time on a year of demo history, per window.

    .venv/bin/python benchmarks/forecast_window.py [--seeds 7 11 23] [--days 365]
        [--windows 0 91 126 182 273]

For each seed: generate the demo for `--days` days, load it and build the marts
(`forecast_accuracy.demo_series`), then, on the same series, for each training window (0: every
day), time the production forecast (90 days) and the rolling-origin backtest and score the
backtest (`bimo.analytics.backtest`: 4 origins 7 days apart, 30 days ahead). The product fits
its models to the last `bimo.analytics.forecast.TRAINING_DAYS` days; this measures what that
costs in accuracy and saves in time against the other windows. The demo's growth is the same all
year, the case where every day of history helps a model most.
Results: benchmarks/results/forecast_window.{json,md}.
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).parent))

import polars as pl
from forecast_accuracy import by_method, demo_series
from machine import command_line, machine_info, write_results

from bimo.analytics.forecast import TRAINING_DAYS, forecast
from bimo.analytics.run import accuracy_table

SCORES = (
    "mase",
    "median_mase",
    "skill",
    "wape",
    "bias",
    "coverage_80",
    "coverage_95",
    "total_coverage_80",
)


def run_seed(seed: int, days: int, windows: list[int | None], work: Path) -> tuple[list, dict]:
    series = demo_series(seed, days, work)
    through = series["ds"].max()
    rows, accuracy = [], {}
    for w in windows:
        t = time.perf_counter()
        forecast(series, trained_through=through, training_days=w)
        forecast_s = time.perf_counter() - t
        t = time.perf_counter()
        acc = accuracy_table(series, trained_through=through, training_days=w)
        backtest_s = time.perf_counter() - t
        accuracy[w] = acc
        bimo = by_method(acc)["bimo"]
        rows.append(
            {
                "seed": seed,
                "window": w,
                "forecast_s": round(forecast_s, 2),
                "backtest_s": round(backtest_s, 2),
                **{k: bimo[k] for k in SCORES},
            }
        )
        print(
            f"seed {seed}, window {w or 'every day'}: forecast {forecast_s:.2f} s, backtest "
            f"{backtest_s:.2f} s, MASE {bimo['mase']:.3f}, 80 % coverage "
            f"{bimo['coverage_80']:.3f}",
            flush=True,
        )
    return rows, accuracy


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23])
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--windows", type=int, nargs="+", default=[0, 91, 126, 182, 273])
    args = p.parse_args()
    windows = [w or None for w in args.windows]
    info = machine_info()
    import statsforecast.models  # noqa: F401 - imported once here, not inside the first timing

    work = Path(tempfile.mkdtemp(prefix="bimo-forecast-window-"))
    rows, pooled_parts = [], {w: [] for w in windows}
    try:
        for seed in args.seeds:
            seed_rows, accuracy = run_seed(seed, args.days, windows, work)
            rows += seed_rows
            for w, acc in accuracy.items():
                pooled_parts[w].append(acc)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pooled = {}
    for w in windows:
        methods = by_method(pl.concat(pooled_parts[w]))
        per_seed = [r for r in rows if r["window"] == w]
        pooled[w] = {
            **{k: methods["bimo"][k] for k in SCORES},
            "seasonal_naive_mase": methods["seasonal_naive"]["mase"],
            "forecast_s_median": median([r["forecast_s"] for r in per_seed]),
            "backtest_s_median": median([r["backtest_s"] for r in per_seed]),
        }
    command = command_line(
        "forecast_window.py", seeds=args.seeds, days=args.days, windows=args.windows
    )
    lines = [
        f"# The forecast's training window on {args.days} days of demo history",
        "",
        f"`{command}` — {info['date']}, {info['cpu']} ({info['cores']} cores), "
        f"1-minute load average {info['load_average_1m']} at the start.",
        "",
        f"{len(args.seeds)} demo seeds, each a company's daily AI cost per source tag, in "
        "total and per provider (the series the product forecasts). The "
        "backtest's scores of the `bimo` method pooled over the seeds (as "
        "`benchmarks/forecast_accuracy.py` pools them); times are the median over the seeds, "
        f"in one process. The product's window is **{TRAINING_DAYS} days**.",
        "",
        "| training window | MASE (mean) | MASE (median) | skill | WAPE | bias | 80 % coverage "
        "| 95 % coverage | 30-day total in 80 % | forecast s (h=90) | backtest s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for w, s in pooled.items():
        label = "every day" if w is None else f"last {w} days"
        if w == TRAINING_DAYS:
            label = f"**{label}** (the product's)"
        lines.append(
            f"| {label} | {s['mase']:.3f} | {s['median_mase']:.3f} | {s['skill']:+.3f} | "
            f"{s['wape']:.3f} | {s['bias']:+.3f} | {s['coverage_80']:.3f} | "
            f"{s['coverage_95']:.3f} | {s['total_coverage_80']:.3f} | "
            f"{s['forecast_s_median']:.2f} | {s['backtest_s_median']:.2f} |"
        )
    lines += [
        "",
        "Seasonal naive's MASE on the same origins: "
        f"{pooled[windows[0]]['seasonal_naive_mase']:.3f}.",
        "",
    ]
    payload = {
        "command": command,
        "machine": info,
        "args": vars(args),
        "production_window": TRAINING_DAYS,
        "runs": rows,
        "pooled": {str(w or 0): v for w, v in pooled.items()},
    }
    write_results("forecast_window", payload, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
