"""A parser change against the code it replaced: a few days' files of its format parsed into Arrow
batches in this process, one worker, the variants alternating (ABBA).

    .venv/bin/python benchmarks/parser_ab.py --change otel-spans|gateway-extras
        [--landing /tmp/bimo-bench/M/landing] [--files 3] [--repeat 5]

Changes (docs/benchmarks.md):
- `otel-spans` (item 23): the OTel span parser against tests/otel_reference.py, the definition
  its tests hold it to; the previous functions are put in the module's place for their turn.
- `gateway-extras` (item 24): the fast path's `extra` column remembered by its values, against
  computing it for every line (`fast.Lines._extras` of the line's values, as it was).

Needs a scale's landing files (`bench.py --sections scales --scales M --work /tmp/bimo-bench`
leaves them). Results: benchmarks/results/<change>_<scale>.{json,md} (`-` as `_`; the scale: the
folder above `--landing`).
"""

import argparse
import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from statistics import median
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import command_line, machine_info, write_results
from parse_fast import parse_timed


@contextmanager
def _previous_spans():
    from ingestion.formats import otel_genai
    from tests import otel_reference

    saved = {f: getattr(otel_genai, f) for f in ("_value", "_attrs", "_span_row")}
    for f in saved:
        setattr(otel_genai, f, getattr(otel_reference, f))
    try:
        yield
    finally:
        for f, fn in saved.items():
            setattr(otel_genai, f, fn)


@contextmanager
def _extras_every_line():
    from ingestion.formats import fast

    saved = fast.Lines.extras
    fast.Lines.extras = lambda self, rec: self._extras(self._values(rec))
    try:
        yield
    finally:
        fast.Lines.extras = saved


class Change(NamedTuple):
    source: str
    title: str
    unit: str
    previous: Callable  # a context manager: the previous code in place for the block
    variants: tuple[str, str]
    note: str


CHANGES = {
    "otel-spans": Change(
        "otel-genai", "The OTel span parser against the code it replaced", "span",
        _previous_spans, ("previous parser", "current parser"),
        "*previous parser*: tests/otel_reference.py's functions in the module's place.",
    ),
    "gateway-extras": Change(
        "bimo-gateway", "The gateway fast path's `extra` column, remembered against computed per "
        "line", "row", _extras_every_line, ("computed per line", "remembered"),
        "*computed per line*: `fast.Lines.extras` as it was, the unknown keys' scalars put in a "
        "dict and dumped for every line.",
    ),
}  # fmt: skip


@contextmanager
def variant(change: Change, name: str):
    if name == change.variants[0]:
        with change.previous():
            yield
    else:
        yield


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--change", choices=sorted(CHANGES), required=True)
    p.add_argument("--landing", default="/tmp/bimo-bench/M/landing")
    p.add_argument("--files", type=int, default=3)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    change = CHANGES[args.change]
    info = machine_info()
    os.environ["BIMO_PARSE_WORKERS"] = "1"  # parsed here, where it is timed
    every = sorted((Path(args.landing) / change.source).iterdir())
    files = every[len(every) // 2 : len(every) // 2 + args.files]  # whole days mid-history
    runs: list[dict] = []
    for name in change.variants:  # a warm-up of each, not counted (imports, first allocations)
        with variant(change, name):
            parse_timed(change.source, files)
    for r in range(args.repeat * 2):
        for name in change.variants if r % 2 == 0 else change.variants[::-1]:
            with variant(change, name):
                seconds, stats = parse_timed(change.source, files)
            rows = stats.rows
            runs.append({"variant": name, "s": seconds, "rows": rows})
            print(f"{name}: {seconds:.2f} s, {rows} {change.unit}s", flush=True)
    base = median(x["s"] for x in runs if x["variant"] == change.variants[0])
    out = []
    for name in change.variants:
        done = [x for x in runs if x["variant"] == name]
        s = median(x["s"] for x in done)
        rows = done[0]["rows"]
        out.append({"variant": name, "n": len(done), "s": round(s, 3), f"{change.unit}s": rows,
                    f"us_per_{change.unit}": round(s / rows * 1e6, 2),
                    "vs_previous": round(s / base, 2),
                    "runs": [round(x["s"], 3) for x in done]})  # fmt: skip
    scale = Path(args.landing).resolve().parent.name
    command = command_line("parser_ab.py", change=args.change, landing=args.landing,
                           files=args.files, repeat=args.repeat)  # fmt: skip
    mb = sum(f.stat().st_size for f in files) / 1e6
    unit = change.unit
    lines = [
        f"# {change.title} ({scale})",
        "",
        f"`{command}` — {info['date']}, {info['cpu']} ({info['cores']} cores), "
        f"1-minute load average {info['load_average_1m']} at the start.",
        "",
        f"{len(files)} days' {change.source} files ({', '.join(f.name for f in files)}; "
        f"{mb:,.0f} MB) parsed into Arrow batches in one process, one worker; variants "
        f"alternating (ABBA), after a warm-up of each; medians. {change.note}",
        "",
        f"| variant | n | seconds | {unit}s | µs per {unit} | vs previous | runs (s) |",
        "|---|---:|---:|---:|---:|---:|---|",
        *(
            f"| {r['variant']} | {r['n']} | **{r['s']:.2f}** | {r[f'{unit}s']:,} "
            f"| {r[f'us_per_{unit}']:.1f} | {r['vs_previous']:.2f}× "
            f"| {', '.join(f'{s:.2f}' for s in r['runs'])} |"
            for r in out
        ),
    ]
    name = f"{args.change.replace('-', '_')}_{scale}"
    write_results(name, {"command": command, "machine": info, "rows": out}, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
