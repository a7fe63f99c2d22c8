"""The log formats' fast path (ingestion/formats/fast.py) against their parsers alone
(`BIMO_PARSE_FAST=0`): a format's whole history loaded into an empty warehouse, as `bimo load`
loads it, and one day's file parsed in this process, record by record.

    .venv/bin/python benchmarks/parse_fast.py [--landing /tmp/bimo-bench/M/landing]
        [--sources bimo-gateway,litellm,cli-log] [--repeat 2] [--file-repeat 5] [--scratch /tmp/...]

Needs a scale's landing files (`bench.py --sections scales --scales M --work /tmp/bimo-bench`
leaves them). Each history load is `pipeline.load_logs` in a fresh process (`harness.run_task`),
into a scratch warehouse deleted after it; the variants alternate (ABBA), `--repeat` pairs per
format. The day's file: `parse_files` in this process, one worker, the variants alternating,
`--file-repeat` pairs after a warm-up of each. Results:
benchmarks/results/parse_fast_<scale>.{json,md} (the scale: the folder above `--landing`).
"""

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import load_average, run_task
from machine import command_line, machine_info, write_results

VARIANTS = {"parser alone": "0", "fast path": "1"}


def parse_timed(source: str, files: list[Path]):
    """Seconds to parse the files into Arrow batches in this process, and the load's counts
    (`FormatStats`: records, rows...)."""
    from ingestion.parse import FormatStats, parse_files

    stats = FormatStats()
    started = time.perf_counter()
    for _ in parse_files(source, files, stats=stats):
        pass
    return time.perf_counter() - started, stats


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--landing", default="/tmp/bimo-bench/M/landing")
    p.add_argument("--sources", default="bimo-gateway,litellm,cli-log")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--file-repeat", type=int, default=5)
    p.add_argument("--scratch", default="/tmp/bimo-bench/parse-fast")
    args = p.parse_args()
    info, names = machine_info(), list(VARIANTS)
    sources = args.sources.split(",")
    os.environ["BIMO_PARSE_WORKERS"] = "1"  # the day's file: parsed here, where it is timed
    files: dict[str, list[dict]] = {}
    for source in sources:
        path = sorted((Path(args.landing) / source).iterdir())[len(names)]  # a whole day
        runs = files[source] = []
        for variant in names:  # a warm-up of each, not counted (imports, first allocations)
            os.environ["BIMO_PARSE_FAST"] = VARIANTS[variant]
            parse_timed(source, [path])
        for r in range(args.file_repeat * 2):
            for variant in names if r % 2 == 0 else names[::-1]:
                os.environ["BIMO_PARSE_FAST"] = VARIANTS[variant]
                seconds, stats = parse_timed(source, [path])
                runs.append(
                    {"variant": variant, "s": seconds, "records": stats.records, "file": path}
                )
    os.environ.pop("BIMO_PARSE_WORKERS")
    loads: dict[str, list[dict]] = {}
    try:
        for source in sources:
            runs = loads[source] = []
            for r in range(args.repeat * 2):
                for variant in names if r % 2 == 0 else names[::-1]:
                    os.environ["BIMO_PARSE_FAST"] = VARIANTS[variant]
                    scratch = Path(args.scratch)
                    shutil.rmtree(scratch, ignore_errors=True)
                    scratch.mkdir(parents=True)
                    load = load_average()
                    out = run_task(
                        "pipeline:load_logs", work=str(scratch), landing=args.landing,
                        sources=[source],
                    )  # fmt: skip
                    phases = out["result"]["phases"]
                    extract = phases["extract"][1] - phases["extract"][0]
                    runs.append(
                        out | {"variant": variant, "load_average": load, "extract_s": extract}
                    )
                    print(f"{source} {variant}: {out['process_s']:.1f} s "
                          f"(extract {extract:.1f} s)", flush=True)  # fmt: skip
    finally:
        os.environ.pop("BIMO_PARSE_FAST", None)
        shutil.rmtree(args.scratch, ignore_errors=True)
    rows = summarise(sources, names, files, loads)
    scale = Path(args.landing).resolve().parent.name
    command = command_line(
        "parse_fast.py", landing=args.landing, sources=args.sources, repeat=args.repeat,
        file_repeat=args.file_repeat,
    )  # fmt: skip
    lines = [
        f"# The log formats' fast path against their parsers alone ({scale})",
        "",
        f"`{command}` — {info['date']}, {info['cpu']} ({info['cores']} cores), "
        f"1-minute load average {info['load_average_1m']} at the start.",
        "",
        "*History*: the format's whole history at this scale into an empty warehouse, as `bimo "
        "load` loads it (parse workers, dlt's extract, normalize and merge), each run a fresh "
        "process; *extract s*: dlt's extract step, where the files are parsed. *One file*: a "
        "day's file parsed into Arrow batches in one process (µs per record). Variants "
        "alternating (ABBA); medians; `BIMO_PARSE_FAST=0` is the parser alone.",
        "",
        "| format | variant | history n | history s | extract s | one file n | µs/record "
        "| vs parser alone (history / file) | history runs (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['source']} | {r['variant']} | {r['n']} | **{r['process_s']:.1f}** "
            f"| {r['extract_s']:.1f} | {r['file_n']} | {r['us_per_record']:.2f} "
            f"| {r['history_vs']:.2f}× / {r['file_vs']:.2f}× "
            f"| {', '.join(f'{s:.1f}' for s in r['process_runs'])} |"
        )
    write_results(f"parse_fast_{scale}", {"command": command, "machine": info, "rows": rows}, lines)
    print("\n".join(lines))


def summarise(sources, names, files, loads) -> list[dict]:
    rows = []
    for source in sources:
        base_load = median(x["process_s"] for x in loads[source] if x["variant"] == names[0])
        base_file = median(x["s"] for x in files[source] if x["variant"] == names[0])
        for variant in names:
            done = [x for x in loads[source] if x["variant"] == variant]
            parsed = [x for x in files[source] if x["variant"] == variant]
            process_s = median(x["process_s"] for x in done)
            file_s = median(x["s"] for x in parsed)
            rows.append(
                {
                    "source": source,
                    "variant": variant,
                    "n": len(done),
                    "process_s": round(process_s, 2),
                    "extract_s": round(median(x["extract_s"] for x in done), 2),
                    "process_runs": [x["process_s"] for x in done],
                    "rows": done[0]["result"]["rows"],
                    "peak_rss_mb": max(x["rss_tree_mb"] for x in done),
                    "load_averages": [x["load_average"] for x in done],
                    "history_vs": round(process_s / base_load, 2),
                    "file": str(parsed[0]["file"]),
                    "file_n": len(parsed),
                    "us_per_record": round(file_s / parsed[0]["records"] * 1e6, 2),
                    "file_vs": round(file_s / base_file, 2),
                }
            )
    return rows


if __name__ == "__main__":
    main()
