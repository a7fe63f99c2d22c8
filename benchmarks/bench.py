"""Bimo's benchmarks: ingestion per format, end to end and increment per scale, dbt layers,
analytics, dashboard latency and a profile of the slowest stage, written to one results file.

    .venv/bin/python benchmarks/bench.py                    # make bench: scales S and M
    .venv/bin/python benchmarks/bench.py --quick            # make bench-quick: small scale, n=1
    .venv/bin/python benchmarks/bench.py --sections scales --scales M --work /tmp/bimo-bench \
        --resume --budget-min 8                            # M in bounded pieces

Writes `<out>.json` and `<out>.md` (default benchmarks/results; --quick: benchmarks/
results-quick). A run of some sections keeps the other sections already in the file, so a long
benchmark can be taken in several bounded invocations; each section records its own command,
date and load average. Targets are reported, never asserted: the exit code is 0 unless the
harness itself fails.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import import_costs, load_average, peak_rss_mb, run_task
from ingest_formats import DESCRIPTION, LOG_FORMATS, dicts_at_scale
from ingest_formats import measure as ingestion
from machine import machine_info, yardstick
from report import render
from scales import SCALES, run_scale

HERE = Path(__file__).resolve().parent
SECTIONS = ("ingestion", "scales", "dicts", "dashboard", "profile", "forecast")
LARGE = 5_000_000  # requests: scales at least this big (M) run `--repeat-large` times (3)
HUGE = 30_000_000  # ... and from this size (L, about an hour a run here) once, unless asked


def _log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def dashboard(scale_result: dict, work: Path, repeats: int, render_repeats: int) -> dict:
    """Section 5 on the scale's read copy: the working tree's app; if a page raises (app/ is
    being edited), the committed app (git HEAD) too."""
    from dashboard import export_committed_app

    warehouse = str(Path(scale_result["read_copy"]).with_name("warehouse.duckdb"))
    opts = {"warehouse": warehouse, "repeats": repeats, "render_repeats": render_repeats}
    _log(f"dashboard on {scale_result['scale']} (working tree app)")
    tree = run_task("dashboard:measure", **opts, fallback=False)["result"]
    out = {"scale": scale_result["scale"], "working_tree": tree, "used": "working_tree"}
    if tree["errors"]:
        _log("dashboard: working-tree app raised; measuring the committed app (HEAD)")
        head = export_committed_app(str(work / "head_app"))
        committed = run_task("dashboard:measure", **opts, app_root=head)["result"]
        out |= {"committed": committed, "used": "committed"}
    return out


def profile(scale_result: dict, work: Path) -> dict:
    """Section 6: cProfile of the slowest pipeline stage of the scale that runs in Python (dbt
    runs in its own process: its layers and start-up are in section 4), redone on the same
    input: a log load on the scale's history into a scratch warehouse, analytics on the scale's
    warehouse. The run's RSS, sampled, is split by dlt step."""
    stages = {k: v for k, v in scale_result["stages"].items() if k != "generate"}
    ranked = sorted(stages, key=lambda k: -stages[k]["seconds"])
    name = scale_result["scale"]
    scratch = work / "profile"
    if scratch.exists():
        shutil.rmtree(scratch)
    out = {
        "scale": name,
        "slowest_stage": ranked[0],
        "slowest_seconds": stages[ranked[0]]["seconds"],
    }
    for stage in ranked:
        source = stage.removeprefix("load ")
        if source in LOG_FORMATS:
            kwargs = {
                "work": str(scratch),
                "landing": scale_result["landing"],
                "sources": [source],
                "days": SCALES[name].history,
                "serial_parse": True,
            }
            what, fn = f"{stage}: the scale {name} history, into an empty warehouse", "load_logs"
        elif stage == "analytics":
            warehouse = Path(scale_result["read_copy"]).with_name("warehouse.duckdb")
            what, fn = f"analytics on the scale {name} warehouse", "analytics"
            kwargs = {"work": str(warehouse.parent)}
        else:
            continue
        _log(f"profile: {what}")
        report = run_task("profile_stage:profile", stage=fn, **kwargs)
        out |= {"profiled_stage": stage, "profiled": what, "profile": report["result"]}
        out["rss_by_phase"] = rss_by_phase(report, report["result"]["result"].get("phases"))
        out["peak_rss_mb"] = peak_rss_mb(report)
        break
    return out


def rss_by_phase(report: dict, phases: dict | None) -> dict[str, float | None]:
    """Peak sampled RSS (MB) within each dlt step of a run, and before the first; None for a
    step that ended before a sample fell in it (RSS is sampled every 0.25 s)."""
    if not phases:
        return {}
    timeline = report.get("rss_timeline", [])
    first = min(start for start, _ in phases.values())
    out = {"start-up": max((mb for t, mb in timeline if t < first), default=None)}
    for step, (start, end) in phases.items():
        out[step] = max((mb for t, mb in timeline if start <= t <= end + 0.3), default=None)
    return out


def not_run(scale_results: dict, work: Path) -> list[dict]:
    """Why L was not run: the time and disk it would take at the rates measured at the largest
    scale that ran (an estimate from measured rates, not a measurement)."""
    done = [s for s in ("M", "S", "Q", "XS") if s in scale_results]
    if "L" in scale_results or not done:
        return []
    r = scale_results[done[0]]
    big = SCALES["L"]
    requests = 1.19 * big.days * big.requests_per_day
    gen_rate = r["generated_requests"] / r["stages"]["generate"]["process_s"]
    pipe_rate = r["history_requests"] / r["total_without_generate_s"]
    landing = r["landing_bytes"] / r["generated_requests"] * requests
    warehouse = r["warehouse_bytes"] / r["history_requests"] * requests * 2  # + read copy
    free = shutil.disk_usage(work).free
    loads = {k: v["peak_rss_mb"] for k, v in r["stages"].items() if k.startswith("load ")}
    hungriest = max(loads, key=loads.get)
    why = (
        f"At the rates measured at {done[0]} ({gen_rate:,.0f} requests/s generated, "
        f"{r['history_requests'] / r['total_without_generate_s']:,.0f} requests/s through "
        f"load → published), {requests / 1e6:.0f}M requests would take about "
        f"{requests / gen_rate / 60:.0f} min to generate and {requests / pipe_rate / 60:.0f} min "
        f"to load and build (estimates from those rates, not measurements), against runs kept "
        f"under 15 min on this shared 2-core machine; its landing files would need about "
        f"{landing / 2**30:.0f} GB and the warehouse with its read copy {warehouse / 2**30:.0f} "
        f"GB, with {free / 2**30:.0f} GB free. The hungriest load ({hungriest}) peaked at "
        f"{loads[hungriest]:,.0f} MB at {done[0]}"
    )
    smaller = next((scale_results[s] for s in done[1:]), None)
    if smaller and hungriest in smaller["stages"]:
        before = smaller["stages"][hungriest]["peak_rss_mb"]
        why += f", {before:,.0f} MB at {smaller['scale']}: it grows with its input"
    why += "."
    return [{"scale": f"L ({requests / 1e6:.0f}M requests)", "why": why}]


def forecast() -> dict:
    """Section 4b: forecast time per 1,000 series, cited from benchmarks/results/."""
    out = {}
    for name in ("forecast_scale", "forecast_scale_quick"):
        path = HERE / "results" / f"{name}.json"
        if path.exists():
            out[name] = {"path": f"benchmarks/results/{name}.json", **json.loads(path.read_text())}
    return {"cited": out}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="CI: scale Q, n=1, small samples")
    p.add_argument("--tiny", action="store_true", help="tests: scale XS, no repeats")
    p.add_argument("--scales", default=None, help="comma-separated (default S,M; quick: Q)")
    p.add_argument("--sections", default=",".join(SECTIONS))
    p.add_argument("--repeat", type=int, default=3, help="runs per figure (n)")
    p.add_argument(
        "--repeat-large",
        type=int,
        default=None,
        help="n for scales of 5M requests or more (default 3; 1 from 30M: L)",
    )
    p.add_argument("--increments", type=int, default=3)
    p.add_argument("--ingest-rows", type=int, default=30_000, help="rows per format sample")
    p.add_argument("--formats", default=",".join(DESCRIPTION), help="ingestion formats")
    p.add_argument("--work", default=None, help="scratch folder (default: a temp folder)")
    p.add_argument("--out", default=None, help="results path without suffix")
    p.add_argument("--resume", action="store_true", help="continue a scale's saved stages")
    p.add_argument(
        "--budget-min",
        type=float,
        default=None,
        help="start no new stage after this many minutes (then --resume)",
    )
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = p.parse_args(argv)
    small = args.quick or args.tiny
    args.scales = (args.scales or ("XS" if args.tiny else "Q" if args.quick else "S,M")).split(",")
    args.out = Path(args.out or HERE / ("results-quick" if small else "results"))
    if small:
        args.repeat, args.increments = 1, 1
    if args.tiny:
        args.formats = "bimo-gateway,focus-csv"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]
    work = Path(args.work or tempfile.mkdtemp(prefix="bimo-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    path = args.out.with_suffix(".json")
    results = json.loads(path.read_text()) if path.exists() else {}
    command = " ".join([".venv/bin/python benchmarks/bench.py", *map(shlex.quote, sys.argv[1:])])
    meta = {
        "command": command,
        "machine": machine_info() | {"versions": versions()},
        "load_average_start": load_average(),
        "yardstick_s": yardstick(),
    }
    small = args.quick or args.tiny

    def save() -> None:  # after every section, so a failure later keeps what was measured
        results["updated"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=1, default=str) + "\n")
        args.out.with_suffix(".md").write_text(render(results))

    try:
        if "ingestion" in sections:
            rows = 1_500 if args.tiny else 6_000 if small else args.ingest_rows
            results["ingestion"] = {
                **meta,
                **ingestion(
                    work,
                    n=args.repeat,
                    dict_n=1,
                    rows=rows,
                    billing_rows=rows,
                    formats=args.formats.split(","),
                    log=_log,
                ),
            }
            save()
        scale_results = results.setdefault("scales", {})
        if "scales" in sections:
            for name in args.scales:
                scale = SCALES[name]
                approx = 1.19 * scale.days * scale.requests_per_day
                n = (
                    args.repeat
                    if approx < LARGE
                    else args.repeat_large or (3 if approx < HUGE else 1)
                )
                _log(f"scale {name}: {scale.days} days × {scale.requests_per_day:,}/day, n={n}")
                out = run_scale(
                    scale,
                    work,
                    n=n,
                    increments=args.increments,
                    resume=args.resume,
                    budget_s=args.budget_min and args.budget_min * 60,
                    window_load=name in ("S", "Q", "XS"),
                    dagster_day=not args.quick,  # CI's 5 minutes: not in bench-quick
                    meta=meta,
                    log=_log,
                )
                if out is not None:
                    scale_results[name] = {**meta, **out}
                    save()
        if "scales" in sections:
            results["import_costs"] = {**meta, **import_costs(1 if small else 3)}
            save()
        results["not_run"] = not_run(scale_results, work)
        largest = _largest(scale_results, args.scales)
        if "dicts" in sections and scale_results:  # at S (or the smallest scale run): minutes
            smallest = _smallest(scale_results)
            results["ingestion_at_scale"] = {**meta, **dicts_at_scale(smallest, work, log=_log)}
            save()
        if "dashboard" in sections and largest:
            reps = (5, 1) if small else (20, 5)
            results["dashboard"] = {**meta, **dashboard(largest, work, *reps)}
            save()
        if "profile" in sections and largest:
            results["profile"] = {**meta, **profile(largest, work)}
            save()
        if "forecast" in sections:
            results["forecast"] = {**meta, **forecast()}
        save()
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    _log(f"wrote {path} and {args.out.with_suffix('.md')}")
    return 0


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in (
        "duckdb",
        "dlt",
        "dbt-core",
        "dbt-duckdb",
        "dagster",
        "pyarrow",
        "polars",
        "statsforecast",
        "streamlit",
    ):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _smallest(scale_results: dict) -> dict:
    """The S results if S ran (the dict path would take an hour at M), else the smallest."""
    order = [s for s in ("S", "Q", "XS", "M", "L") if s in scale_results]
    return scale_results[order[0]]


def _largest(scale_results: dict, asked: list[str]) -> dict | None:
    """The largest scale with results whose warehouse still exists (asked scales first)."""
    order = [s for s in ("L", "M", "S", "Q", "XS") if s in scale_results]
    order.sort(key=lambda s: s not in asked)
    for name in order:
        if Path(scale_results[name]["read_copy"]).exists():
            return scale_results[name]
    return None


if __name__ == "__main__":
    sys.exit(main())
