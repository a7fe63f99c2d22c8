"""A day through the daily job as the Dagster daemon and UI launch it: a process per step
(Dagster's default executor, which Bimo's jobs had) against every step in the run's process.

    .venv/bin/python benchmarks/dagster_executor.py [--work /tmp/bimo-bench/S/run]
        [--landing /tmp/bimo-bench/S/landing] [--day 2026-10-31] [--repeat 2]

Needs a scale benchmark's warehouse and landing files (`bench.py --sections scales --scales S
--work /tmp/bimo-bench` leaves them). A scheduled or UI-launched run executes in a run worker
process with the job's own executor (`execute_job` of the job rebuilt from its module, as
Dagster's run worker calls it); `bimo run` uses `execute_in_process`, always one process, which
`results.md` §3 times. Each run is its own fresh process (`harness.run_task`), with a Dagster
instance holding the project's `dagster_home/dagster.yaml` (its pools), after a parse of the day
before's window in the warehouse's target folder (as a daily run finds it), re-loading the same
day each time (the same work). The variants alternate (ABBA), `--repeat` pairs.
Results: benchmarks/results/dagster_executor.{json,md}.
"""

import argparse
import os
import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import load_average, run_task
from machine import command_line, machine_info, write_results

from bimo.settings import PROJECT_ROOT

VARIANTS = ("a process per step", "one process")


def daily_job():
    """The daily job as the definitions give it (every step in the run's process)."""
    from orchestration.definitions import defs

    return defs.resolve_job_def("bimo_daily")


def daily_job_per_step():
    """The daily job with Dagster's default executor, as Bimo's jobs had it: a process per
    step, each importing the definitions again."""
    import dagster as dg

    return daily_job().with_executor_def(dg.multi_or_in_process_executor)


def launched_day(work: str, landing: str, day: str, home: str, variant: str) -> dict:
    """One day through the daily job in a run worker as the daemon launches it: seconds per
    step from the run's events, and the processes its steps ran in."""
    import dagster as dg

    from orchestration.run import PARTITION_RANGE_END, PARTITION_RANGE_START, job_assets

    os.environ.update(
        BIMO_WAREHOUSE=str(Path(work) / "warehouse.duckdb"),
        BIMO_LANDING_DIR=landing,
        DAGSTER_HOME=home,
    )
    job = daily_job if variant == "one process" else daily_job_per_step
    instance = dg.DagsterInstance.get()
    result = dg.execute_job(
        dg.reconstructable(job),
        instance,
        asset_selection=job_assets("bimo_daily", ("gateway", "saas")),
        tags={PARTITION_RANGE_START: day, PARTITION_RANGE_END: day},
        raise_on_error=False,
    )
    if not result.success:
        raise RuntimeError(f"the launched run of {day} failed: {result.get_failed_step_keys()}")
    started, steps, pids = {}, {}, set()
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.pid is not None:  # planning events name no process
            pids.add(event.pid)
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS":
            steps[event.step_key] = round(entry.timestamp - started[event.step_key], 3)
    return {"steps": steps, "step_processes": len(pids)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default="/tmp/bimo-bench/S/run")
    p.add_argument("--landing", default="/tmp/bimo-bench/S/landing")
    p.add_argument("--day", default="2026-10-31")
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    info = machine_info()
    before = (date.fromisoformat(args.day) - timedelta(days=1)).isoformat()
    home = Path(tempfile.mkdtemp(prefix="bimo-dagster-home-"))
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    try:
        for r in range(args.repeat * 2):
            for variant in VARIANTS if r % 2 == 0 else VARIANTS[::-1]:
                run_task("pipeline:dbt_parse", work=args.work, window=[before, args.day])
                load = load_average()
                out = run_task(
                    "dagster_executor:launched_day",
                    work=args.work,
                    landing=args.landing,
                    day=args.day,
                    home=str(home),
                    variant=variant,
                )
                runs[variant].append(out | {"load_average": load})
                print(f"{variant}: {out['process_s']:.1f} s", flush=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    base = median(r["process_s"] for r in runs["one process"])
    rows = []
    for variant in VARIANTS:
        done = runs[variant]
        keys = done[0]["result"]["steps"]
        steps = {k: median(r["result"]["steps"][k] for r in done) for k in keys}
        rows.append(
            {
                "variant": variant,
                "n": len(done),
                "process_s": round(median(r["process_s"] for r in done), 2),
                "process_runs": [r["process_s"] for r in done],
                "vs_one_process": round(median(r["process_s"] for r in done) / base, 2),
                "steps_s": round(sum(steps.values()), 2),
                "step_processes": max(r["result"]["step_processes"] for r in done),
                "slowest": sorted(steps.items(), key=lambda kv: -kv[1])[:4],
                "peak_rss_mb": max(r["rss_tree_mb"] for r in done),
                "load_averages": [r["load_average"] for r in done],
            }
        )
    command = command_line(
        "dagster_executor.py",
        work=args.work,
        landing=args.landing,
        day=args.day,
        repeat=args.repeat,
    )
    lines = [
        "# A day through the daily job, as the Dagster daemon and UI launch it",
        "",
        f"`{command}` — {info['date']}, {info['cpu']} ({info['cores']} cores), "
        f"1-minute load average {info['load_average_1m']} at the start.",
        "",
        "The daily job for one day on the scale benchmark's warehouse, run as Dagster's run "
        "worker runs a scheduled or UI-launched run (the job rebuilt from its module, its own "
        "executor): *a process per step*, Dagster's default executor, which Bimo's jobs had "
        "(every step's process imports the definitions again), against *one process*, the "
        "executor Bimo's definitions now give every job. Each run is a fresh process after a "
        "parse of the day before's window, re-loading the same day (the same work), in ABBA "
        "order; times are medians. *Steps s*: the steps' own time summed, from the run's events; "
        "*processes*: how many processes its steps reported from.",
        "",
        "| executor | n | process s | vs one process | steps s | processes "
        "| slowest steps (s) | peak RSS MB | runs (s) |",
        "|---|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in rows:
        slowest = ", ".join(f"{k} {v:.1f}" for k, v in r["slowest"])
        lines.append(
            f"| {r['variant']} | {r['n']} | **{r['process_s']:.1f}** | {r['vs_one_process']:.2f}× "
            f"| {r['steps_s']:.1f} | {r['step_processes']} | {slowest} "
            f"| {r['peak_rss_mb']:,.0f} | {', '.join(f'{s:.1f}' for s in r['process_runs'])} |"
        )
    write_results("dagster_executor", {"command": command, "machine": info, "runs": rows}, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
