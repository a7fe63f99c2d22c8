"""One day's log files of every format in one load, as the daily job loads them: the formats'
files parsed side by side in the parse workers (`ingestion.parse.shared_pool`) against one
format after another in the loading process (`BIMO_PARSE_WORKERS=1`, how such a day was parsed
before: each format has a file or two, too few for its own workers).

    .venv/bin/python benchmarks/parse_formats.py [--work /tmp/bimo-bench/L/run]
        [--landing /tmp/bimo-bench/L/landing] [--day 2026-10-31] [--repeat 3]

Needs a scale benchmark's warehouse and landing files (`bench.py --sections scales --scales L
--work /tmp/bimo-bench` leaves them). Each run is `pipeline.load_logs` of the day's files in a
fresh process (`harness.run_task`), re-loading the same day (every row a duplicate: the same
parse, and the same merge of no new rows); the variants alternate (ABBA), `--repeat` pairs.
Results: benchmarks/results/parse_formats_<scale>.{json,md} (the scale: the folder above
`--work`).
"""

import argparse
import os
import sys
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import load_average, run_task
from machine import command_line, machine_info, write_results

VARIANTS = {"one format after another": "1", "side by side": ""}
SOURCES = ["bimo-gateway", "litellm", "otel-genai", "cli-log"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default="/tmp/bimo-bench/L/run")
    p.add_argument("--landing", default="/tmp/bimo-bench/L/landing")
    p.add_argument("--day", default="2026-10-31")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    info = machine_info()
    names = list(VARIANTS)
    runs: dict[str, list[dict]] = {v: [] for v in names}
    try:
        for r in range(args.repeat * 2):
            for variant in names if r % 2 == 0 else names[::-1]:
                os.environ["BIMO_PARSE_WORKERS"] = VARIANTS[variant]
                load = load_average()
                out = run_task(
                    "pipeline:load_logs",
                    work=args.work,
                    landing=args.landing,
                    sources=SOURCES,
                    days=[args.day, args.day],
                )
                phases = out["result"]["phases"]
                extract = phases["extract"][1] - phases["extract"][0]
                runs[variant].append(out | {"load_average": load, "extract_s": extract})
                print(f"{variant}: {out['process_s']:.1f} s (extract {extract:.1f} s)", flush=True)
    finally:
        os.environ.pop("BIMO_PARSE_WORKERS", None)
    first = runs[names[0]][0]["result"]
    base = median(x["process_s"] for x in runs[names[0]])
    rows = []
    for variant in names:
        done = runs[variant]
        rows.append(
            {
                "variant": variant,
                "n": len(done),
                "process_s": round(median(x["process_s"] for x in done), 2),
                "extract_s": round(median(x["extract_s"] for x in done), 2),
                "vs_first": round(median(x["process_s"] for x in done) / base, 2),
                "process_runs": [x["process_s"] for x in done],
                "peak_rss_mb": max(x["rss_tree_mb"] for x in done),
                "load_averages": [x["load_average"] for x in done],
            }
        )
    command = command_line(
        "parse_formats.py", work=args.work, landing=args.landing, day=args.day,
        repeat=args.repeat,
    )  # fmt: skip
    lines = [
        "# One day's log files of every format in one load: parsed side by side or in turn",
        "",
        f"`{command}` — {info['date']}, {info['cpu']} ({info['cores']} cores), "
        f"1-minute load average {info['load_average_1m']} at the start.",
        "",
        f"The day's {first['files']} files ({first['bytes'] / 1e6:.1f} MB as stored, "
        f"{first['parsed']:,} rows) of {', '.join(SOURCES)} in one load, as the daily job "
        "loads them, each run a fresh process re-loading the same day (its rows are duplicates "
        "then: the same parse and merge every time), variants alternating (ABBA); medians. "
        "*extract s*: dlt's extract step, where the files are parsed; *peak RSS*: the process "
        "with its parse workers.",
        "",
        "| parse | n | process s | extract s | vs in turn | peak RSS MB | runs (s) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['n']} | **{r['process_s']:.1f}** | {r['extract_s']:.1f} "
            f"| {r['vs_first']:.2f}× | {r['peak_rss_mb']:,.0f} "
            f"| {', '.join(f'{s:.1f}' for s in r['process_runs'])} |"
        )
    stem = f"parse_formats_{Path(args.work).resolve().parent.name}"
    write_results(stem, {"command": command, "machine": info, "runs": rows}, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
