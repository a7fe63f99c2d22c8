"""Forecasting many series: wall time and peak memory of Bimo's ensemble vs seasonal naive.

    .venv/bin/python benchmarks/forecast_scale.py [--series 1000] [--days 730] [--horizon 90]
        [--n-jobs 2] [--quick]

Simulates daily cost series with known structure (a log-normal level from $1 to $10k a day,
growth from -20 % to +100 % a year, a weekly profile with quieter weekends, 5-20 % noise and
rare 2-5x spikes), then forecasts them `--horizon` days ahead with 80 % and 95 % intervals in
one process: first the seasonal naive baseline, then `forecast_long` (outlier cleaning + the
AutoETS/AutoTheta ensemble) fitted to each series' last `TRAINING_DAYS` days as the product
fits it, then the same fitted to every day (the window's saving), on `--n-jobs` worker
processes. Peak RSS is measured twice: the
main process's high-water mark (VmHWM, reset before each run) and the sum of the RSS of the
process and its workers, sampled every 50 ms (shared pages of forked workers count once per
process, so this overstates). `--quick`: 100 series (< 60 s).
Results: benchmarks/results/forecast_scale.{json,md}.
"""

import argparse
import json
import os
import resource
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
import polars as pl
from machine import machine_info

from bimo.analytics.backtest import seasonal_naive
from bimo.analytics.forecast import TRAINING_DAYS, forecast_long

RESULTS = Path(__file__).parent / "results"
START = date(2024, 11, 1)


def simulate(n_series: int, days: int, seed: int = 0) -> pl.DataFrame:
    """A long `unique_id / ds / y` frame of `n_series` daily cost series (see the docstring)."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    weekday = (START.weekday() + t) % 7
    level = np.exp(rng.uniform(np.log(1), np.log(10_000), n_series))
    growth = rng.uniform(-0.2, 1.0, n_series)
    weekend = rng.uniform(0.3, 1.0, n_series)
    noise = rng.uniform(0.05, 0.2, n_series)
    profile = np.where(weekday[None, :] >= 5, weekend[:, None], 1.0)
    trend = (1 + growth[:, None]) ** (t[None, :] / 365)
    y = level[:, None] * trend * profile * np.exp(rng.normal(0, noise[:, None], (n_series, days)))
    spikes = rng.random((n_series, days)) < 0.01
    y = np.where(spikes, y * rng.uniform(2, 5, (n_series, days)), y)
    ds = pl.date_range(START, START + timedelta(days=days - 1), eager=True)
    return pl.DataFrame(
        {
            "unique_id": np.repeat([f"s{i:05d}" for i in range(n_series)], days),
            "ds": pl.concat([ds] * n_series),
            "y": y.ravel(),
        }
    )


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS"))
    except (OSError, StopIteration):
        return 0


def _descendants(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        return out
    return out + [d for c in out for d in _descendants(c)]


class PeakMemory:
    """Peak RSS of this process (VmHWM, reset on entry) and of it plus its workers (sampled)."""

    def __enter__(self):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        self.before_mb = _rss_kb(os.getpid()) / 1024
        self.total_mb, self._stop = self.before_mb, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        me = os.getpid()
        while not self._stop.wait(0.05):
            kb = _rss_kb(me) + sum(_rss_kb(p) for p in _descendants(me))
            self.total_mb = max(self.total_mb, kb / 1024)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        with open("/proc/self/status") as f:
            hwm = next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM"))
        self.main_mb = hwm / 1024


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished (joined) workers."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measure(name: str, run) -> dict:
    with PeakMemory() as mem:
        t, cpu = time.perf_counter(), _cpu_seconds()
        fc = run()
        seconds, cpu = time.perf_counter() - t, _cpu_seconds() - cpu
    print(
        f"{name}: {seconds:.1f} s wall, {cpu:.1f} s CPU, peak RSS main {mem.main_mb:.0f} MB, "
        f"with workers {mem.total_mb:.0f} MB"
    )
    return {
        "method": name,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "ms_per_series": round(1000 * seconds / fc["unique_id"].n_unique(), 1),
        "cpu_ms_per_series": round(1000 * cpu / fc["unique_id"].n_unique(), 1),
        "rss_before_mb": round(mem.before_mb),
        "peak_rss_main_mb": round(mem.main_mb),
        "peak_rss_with_workers_mb": round(mem.total_mb),
        "forecast_rows": fc.height,
        "models": dict(fc.group_by("model_name").agg(pl.col("unique_id").n_unique()).rows()),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", type=int, default=1000)
    p.add_argument("--days", type=int, default=730)
    p.add_argument("--horizon", type=int, default=90)
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="100 series")
    args = p.parse_args()
    if args.quick:
        args.series = 100
    import statsforecast.models  # noqa: F401 - imported before either timing

    info = machine_info()
    df = simulate(args.series, args.days)
    h, jobs = args.horizon, args.n_jobs
    runs = [
        measure("seasonal_naive", lambda: seasonal_naive(df, h, n_jobs=jobs)),
        measure(
            "bimo_ensemble",
            lambda: forecast_long(df, horizon=h, n_jobs=jobs, max_points=TRAINING_DAYS),
        ),
        measure("bimo_ensemble_all_days", lambda: forecast_long(df, horizon=h, n_jobs=jobs)),
    ]
    base, ens, every_day = runs
    ratios = {
        "time": round(ens["seconds"] / base["seconds"], 1),
        "all_days_time": round(every_day["seconds"] / ens["seconds"], 1),
        "cpu": round(ens["cpu_seconds"] / base["cpu_seconds"], 1),
        "peak_rss_main": round(ens["peak_rss_main_mb"] / base["peak_rss_main_mb"], 2),
        "peak_rss_with_workers": round(
            ens["peak_rss_with_workers_mb"] / base["peak_rss_with_workers_mb"], 2
        ),
    }
    print(
        f"ratios ensemble / seasonal naive (same process): time {ratios['time']}x, CPU "
        f"{ratios['cpu']}x, peak RSS "
        f"main {ratios['peak_rss_main']}x, with workers {ratios['peak_rss_with_workers']}x"
    )
    command = ".venv/bin/python benchmarks/forecast_scale.py" + (
        " --quick"
        if args.quick
        else f" --series {args.series} --days {args.days} --horizon {h} --n-jobs {jobs}"
    )
    info["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    RESULTS.mkdir(exist_ok=True)
    stem = "forecast_scale_quick" if args.quick else "forecast_scale"
    (RESULTS / f"{stem}.json").write_text(
        json.dumps(
            {
                "command": command,
                "machine": info,
                "args": vars(args),
                "runs": runs,
                "ratios": ratios,
            },
            indent=2,
        )
    )
    lines = [
        "| method | wall s | wall ms / series | CPU s | CPU ms / series | peak RSS main (MB) "
        "| peak RSS with workers (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {r['method']} | {r['seconds']} | {r['ms_per_series']} | {r['cpu_seconds']} | "
            f"{r['cpu_ms_per_series']} | {r['peak_rss_main_mb']} | "
            f"{r['peak_rss_with_workers_mb']} |"
            for r in runs
        ],
    ]
    (RESULTS / f"{stem}.md").write_text(
        f"# Forecasting {args.series:,} daily series of {args.days} days, h={h}\n\n"
        f"`{command}` — {info['date']}, {info['cpu']} ({info['cores']} cores, "
        f"{info['memory_gb']} GB), Python {info['python']}, statsforecast "
        f"{info['statsforecast']}, {jobs} worker process(es); 1-minute load average "
        f"{info['load_average_1m']} before, {info['load_average_1m_end']} after (other work on "
        "the machine slows the timings).\n\n"
        "Simulated series with known structure (level $1–$10k a day, −20 % to +100 % growth a "
        "year, weekly profile, 5–20 % noise, 1 % of days spiking 2–5x); 80 % and 95 % "
        "intervals. The ensemble's time includes the outlier cleaning. Main-process RSS before "
        f"the runs: {base['rss_before_mb']} MB (the series, polars, statsforecast).\n\n"
        + "\n".join(lines)
        + f"\n\nEnsemble (the product's {TRAINING_DAYS}-day training window) / seasonal "
        f"naive: wall time **{ratios['time']}x**, CPU time {ratios['cpu']}x, peak RSS main "
        f"process {ratios['peak_rss_main']}x, with workers {ratios['peak_rss_with_workers']}x. "
        f"Fitted to every day of the {args.days}, the ensemble takes {ratios['all_days_time']}x "
        "the windowed one's wall time.\n"
    )


if __name__ == "__main__":
    main()
