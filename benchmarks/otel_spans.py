"""The OTel span parser against the code it replaced (tests/otel_reference.py, the definition its
tests hold it to): a few days' OTLP files parsed into Arrow batches in this process, one worker,
the variants alternating (ABBA).

    .venv/bin/python benchmarks/otel_spans.py [--landing /tmp/bimo-bench/M/landing]
        [--files 3] [--repeat 5]

Needs a scale's landing files (`bench.py --sections scales --scales M --work /tmp/bimo-bench`
leaves them). The previous code runs by putting its functions in the module's place for its
turn. Results: benchmarks/results/otel_spans_<scale>.{json,md} (the scale: the folder above
`--landing`).
"""

import argparse
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import command_line, machine_info, write_results

VARIANTS = ("previous parser", "current parser")


@contextmanager
def variant(name: str):
    """The module's span functions as `name` has them, for the block."""
    from ingestion.formats import otel_genai
    from tests import otel_reference

    saved = {f: getattr(otel_genai, f) for f in ("_value", "_attrs", "_span_row")}
    if name == VARIANTS[0]:
        for f in saved:
            setattr(otel_genai, f, getattr(otel_reference, f))
    try:
        yield
    finally:
        for f, fn in saved.items():
            setattr(otel_genai, f, fn)


def parse(files: list[Path]) -> tuple[float, int]:
    """Seconds to parse the files into Arrow batches in this process, and the rows."""
    from ingestion.parse import FormatStats, parse_files

    stats = FormatStats()
    started = time.perf_counter()
    for _ in parse_files("otel-genai", files, stats=stats):
        pass
    return time.perf_counter() - started, stats.rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--landing", default="/tmp/bimo-bench/M/landing")
    p.add_argument("--files", type=int, default=3)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    info = machine_info()
    os.environ["BIMO_PARSE_WORKERS"] = "1"  # parsed here, where it is timed
    every = sorted((Path(args.landing) / "otel-genai").iterdir())
    files = every[len(every) // 2 : len(every) // 2 + args.files]  # whole days mid-history
    runs: list[dict] = []
    for name in VARIANTS:  # a warm-up of each, not counted (imports, first allocations)
        with variant(name):
            parse(files)
    for r in range(args.repeat * 2):
        for name in VARIANTS if r % 2 == 0 else VARIANTS[::-1]:
            with variant(name):
                seconds, rows = parse(files)
            runs.append({"variant": name, "s": seconds, "rows": rows})
            print(f"{name}: {seconds:.2f} s, {rows} spans", flush=True)
    base = median(x["s"] for x in runs if x["variant"] == VARIANTS[0])
    out = []
    for name in VARIANTS:
        done = [x for x in runs if x["variant"] == name]
        s = median(x["s"] for x in done)
        rows = done[0]["rows"]
        out.append({"variant": name, "n": len(done), "s": round(s, 3), "spans": rows,
                    "us_per_span": round(s / rows * 1e6, 2), "vs_previous": round(s / base, 2),
                    "runs": [round(x["s"], 3) for x in done]})  # fmt: skip
    scale = Path(args.landing).resolve().parent.name
    command = command_line("otel_spans.py", landing=args.landing, files=args.files,
                           repeat=args.repeat)  # fmt: skip
    mb = sum(f.stat().st_size for f in files) / 1e6
    lines = [
        f"# The OTel span parser against the code it replaced ({scale})",
        "",
        f"`{command}` — {info['date']}, {info['cpu']} ({info['cores']} cores), "
        f"1-minute load average {info['load_average_1m']} at the start.",
        "",
        f"{len(files)} days' OTLP files ({', '.join(f.name for f in files)}; {mb:,.0f} MB) parsed "
        "into Arrow batches in one process, one worker; variants alternating (ABBA), after a "
        "warm-up of each; medians. *previous parser*: tests/otel_reference.py's functions in "
        "the module's place.",
        "",
        "| variant | n | seconds | spans | µs per span | vs previous | runs (s) |",
        "|---|---:|---:|---:|---:|---:|---|",
        *(
            f"| {r['variant']} | {r['n']} | **{r['s']:.2f}** | {r['spans']:,} "
            f"| {r['us_per_span']:.1f} | {r['vs_previous']:.2f}× "
            f"| {', '.join(f'{s:.2f}' for s in r['runs'])} |"
            for r in out
        ),
    ]
    write_results(f"otel_spans_{scale}", {"command": command, "machine": info, "rows": out}, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
