"""A daily run's dbt build (one day's window) with the dbt project of each of two or more git
revisions, on a scale benchmark's warehouse: what a change to the models saved.

    .venv/bin/python benchmarks/window_build.py --revisions 0c334f6 HEAD
        [--work /tmp/bimo-bench/L/run] [--day 2026-10-31] [--repeat 2]

Needs a scale benchmark's warehouse (`bench.py --sections scales --scales L --work
/tmp/bimo-bench` leaves it). Each revision's `dbt_project/` is exported (`git archive`) to a
folder of its own with its own target folder, so each keeps its partial-parse cache. Every run
is `dbt build` as the daily run gives it (`bimo.dbt_runner`: the window in the environment, the
unit tests left out) after a parse of the day before's window (as a new day finds the cache),
re-building the same day (the same rows each time). Revisions alternate (ABBA for two), `--repeat`
rounds; the first round is a warm-up and not counted (the first build with a revision that adds
a model builds it in full, and the warehouse's pages come into the page cache). Times are
medians; *dbt s* is dbt's own elapsed time from run_results.json, *process s* the whole command.
Results: benchmarks/results/window_build_<scale>.{json,md} (the scale: the folder above `--work`).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import load_average
from machine import command_line, machine_info, write_results

from bimo.dbt_runner import DBT, dbt_build_args, window_env
from bimo.settings import PROJECT_ROOT


def export(revision: str, into: Path) -> Path:
    """`revision`'s dbt_project/ in `into`; the commit it names."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", commit, "dbt_project"], cwd=PROJECT_ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "dbt_project"


def dbt(project: Path, command: list[str], warehouse: Path, window: tuple[date, date]) -> float:
    """Seconds `dbt <command>` took against `warehouse` with `window` in the environment."""
    env = {
        **os.environ,
        **window_env(window),
        "BIMO_WAREHOUSE": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    target = project.parent / "target"
    args = ["--project-dir", str(project), "--profiles-dir", str(project)]
    args += ["--target-path", str(target), "--log-path", str(target / "logs")]
    t = time.perf_counter()
    proc = subprocess.run([DBT, *command, *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"dbt {command[0]} failed:\n{proc.stdout[-3000:]}")
    return seconds


def build_day(project: Path, warehouse: Path, day: date) -> dict:
    window = (day, day + timedelta(days=1))
    dbt(project, ["parse"], warehouse, (day - timedelta(days=1), day))
    process_s = dbt(project, dbt_build_args(window), warehouse, window)
    results = json.loads((project.parent / "target" / "run_results.json").read_text())
    nodes = {r["unique_id"]: r["execution_time"] for r in results["results"]}
    return {"process_s": process_s, "dbt_s": results["elapsed_time"], "nodes": nodes}


def node_name(unique_id: str) -> str:
    """A model's name, or a test's (its unique id ends in a hash)."""
    kind, _project, name, *_ = unique_id.split(".")
    return name if kind == "test" else unique_id.split(".")[-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--revisions", nargs="+", required=True)
    p.add_argument("--work", default="/tmp/bimo-bench/L/run")
    p.add_argument("--day", default="2026-10-31")
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    info = machine_info()
    warehouse = Path(args.work) / "warehouse.duckdb"
    day = date.fromisoformat(args.day)
    with tempfile.TemporaryDirectory(prefix="bimo-window-build-") as tmp:
        projects = {rev: export(rev, Path(tmp) / f"r{i}") for i, rev in enumerate(args.revisions)}
        runs: dict[str, list[dict]] = {rev: [] for rev in args.revisions}
        for r in range(args.repeat + 1):
            order = args.revisions if r % 2 == 0 else args.revisions[::-1]
            for rev in order:
                load = load_average()
                out = build_day(projects[rev], warehouse, day) | {"load_average": load}
                if r > 0:  # round 0 warms up
                    runs[rev].append(out)
                print(f"round {r} {rev}: {out['process_s']:.1f} s", flush=True)
    base = median(x["process_s"] for x in runs[args.revisions[0]])
    rows = []
    for rev in args.revisions:
        done = runs[rev]
        nodes = {k: median(x["nodes"].get(k, 0.0) for x in done) for k in done[0]["nodes"]}
        slowest = sorted(nodes.items(), key=lambda kv: -kv[1])[:5]
        rows.append(
            {
                "revision": rev,
                "n": len(done),
                "process_s": round(median(x["process_s"] for x in done), 2),
                "dbt_s": round(median(x["dbt_s"] for x in done), 2),
                "vs_first": round(median(x["process_s"] for x in done) / base, 2),
                "process_runs": [round(x["process_s"], 2) for x in done],
                "slowest": [(node_name(k), round(v, 2)) for k, v in slowest],
                "load_averages": [x["load_average"] for x in done],
            }
        )
    command = command_line(
        "window_build.py", revisions=args.revisions, work=args.work, day=args.day,
        repeat=args.repeat,
    )  # fmt: skip
    lines = [
        "# A daily run's dbt build, one day's window, by dbt project revision",
        "",
        f"`{command}` — {info['date']}, {info['cpu']} ({info['cores']} cores), "
        f"1-minute load average {info['load_average_1m']} at the start. Warehouse: "
        f"`{warehouse}` ({warehouse.stat().st_size / 1e9:.1f} GB).",
        "",
        "Each revision's dbt project builds the same day's window (the same rows each time) "
        "after a parse of the day before's window, revisions alternating, after a warm-up round "
        "that is not counted. Times are medians. *process s*: the `dbt build` command; *dbt s*: "
        "dbt's own elapsed time (run_results.json).",
        "",
        "| revision | n | process s | dbt s | vs first | slowest nodes (s) | runs (s) |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        slowest = ", ".join(f"{k} {v:.2f}" for k, v in r["slowest"])
        lines.append(
            f"| {r['revision']} | {r['n']} | **{r['process_s']:.1f}** | {r['dbt_s']:.1f} "
            f"| {r['vs_first']:.2f}× | {slowest} "
            f"| {', '.join(f'{s:.1f}' for s in r['process_runs'])} |"
        )
    stem = f"window_build_{Path(args.work).resolve().parent.name}"
    write_results(stem, {"command": command, "machine": info, "runs": rows}, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
