"""Run one benchmark task in a fresh Python process and read back its figures.

Every variant runs in its own process so its peak RSS is its own: the worker reports
`getrusage(RUSAGE_SELF)` (itself) and `RUSAGE_CHILDREN` (the largest process it waited for, e.g.
dbt) next to the seconds spent in the work itself (imports excluded).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
MARKER = "BENCH-RESULT "
ENV = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "RUNTIME__LOG_LEVEL": "ERROR",
}


class TaskFailed(RuntimeError):
    """A worker process exited with an error or without reporting."""


def run_task(task: str, timeout_s: float = 900, **args) -> dict:
    """Run `worker.py task` with keyword arguments (JSON); its report plus `process_s`, the
    wall time of the whole process (interpreter start and imports included)."""
    env = {**os.environ, **ENV}
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(WORKER), task, json.dumps(args, default=str)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout_s,
    )
    elapsed = time.perf_counter() - t
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARKER)]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise TaskFailed(f"{task} {args} failed (exit {proc.returncode}):\n{tail}")
    report = json.loads(lines[-1][len(MARKER) :])
    report["process_s"] = round(elapsed, 3)
    return report


def repeat(task: str, n: int, timeout_s: float = 900, **args) -> list[dict]:
    """`n` runs of the same task, each in a fresh process."""
    return [run_task(task, timeout_s=timeout_s, **args) for _ in range(n)]


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarise(runs: list[dict], *keys: str) -> dict:
    """Median of each key over the runs, the per-run values, the max peak RSS and n."""
    out: dict = {"n": len(runs)}
    for key in keys:
        values = [r[key] for r in runs if r.get(key) is not None]
        out[key] = round(median(values), 4) if values else None
        out[f"{key}_runs"] = values
    out["peak_rss_mb"] = max((peak_rss_mb(r) for r in runs), default=None)
    return out


def peak_rss_mb(report: dict) -> float:
    """The memory a run held at its peak: the largest single process (the worker itself or a
    process it waited for, such as dbt), or, when larger, the worker and its descendants
    together as sampled every 0.25 s (a load with its parse workers)."""
    single = max(report.get("rss_self_mb", 0), report.get("rss_children_mb", 0))
    return round(max(single, report.get("rss_tree_mb", 0)), 1)


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


IMPORTS = {"dlt": "import dlt", "statsforecast": "import statsforecast.models"}
IMPORTS |= {"dagster": "import dagster", "dbt": "import dbt.cli.main"}


def import_costs(n: int = 3) -> dict:
    """Seconds a fresh process spends importing each library an increment stage needs (median of
    `n`, a bare interpreter's start subtracted): fixed costs every stage process pays again."""

    def run(code: str) -> float:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **ENV})
        return time.perf_counter() - t

    bare = median([run("pass") for _ in range(n)])
    out = {name: median([run(code) for _ in range(n)]) - bare for name, code in IMPORTS.items()}
    out = {name: round(s, 2) for name, s in out.items()}
    return {"n": n, "interpreter_s": round(bare, 3), "seconds": out}
