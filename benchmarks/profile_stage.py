"""cProfile of one pipeline stage (`pipeline.<function>`), summarised: the top functions by own
time and by cumulative time, and own time per package."""

from __future__ import annotations

import cProfile
import os
import pstats
import time
from collections import defaultdict
from pathlib import Path

import pipeline

ROOT = str(Path(__file__).resolve().parent.parent)


def _where(filename: str) -> str:
    """A short package label for a profiled function's file."""
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C: json, Arrow, DuckDB calls…)"
    path = filename.replace("\\", "/")
    if "/site-packages/" in path:
        return path.split("/site-packages/")[1].split("/")[0]
    if path.startswith(ROOT):
        return path[len(ROOT) + 1 :].split("/")[0]
    return "python stdlib"


def _label(func: tuple) -> str:
    filename, line, name = func
    short = filename.split("/site-packages/")[-1].replace(ROOT + "/", "")
    return f"{name} ({short}:{line})" if line else name


def profile(stage: str, top: int = 15, serial_parse: bool = False, **kwargs) -> dict:
    """Run `pipeline.<stage>(**kwargs)` under cProfile; the summary (no raw dump).
    `serial_parse`: parse in this process (BIMO_PARSE_WORKERS=1), where cProfile sees it; a
    load otherwise parses in worker processes and this process only waits for them."""
    fn = getattr(pipeline, stage)
    if serial_parse:
        os.environ["BIMO_PARSE_WORKERS"] = "1"
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    result = fn(**kwargs)
    prof.disable()
    wall = time.perf_counter() - t
    stats = pstats.Stats(prof)
    rows = [
        {
            "function": _label(func),
            "calls": nc,
            "own_s": round(tt, 3),
            "cum_s": round(ct, 3),
            "package": _where(func[0]),
        }
        for func, (_cc, nc, tt, ct, _callers) in stats.stats.items()
    ]
    by_package: dict[str, float] = defaultdict(float)
    for r in rows:
        by_package[r["package"]] += r["own_s"]
    total = sum(by_package.values()) or 1.0
    return {
        "stage": stage,
        "kwargs": kwargs,
        "serial_parse": serial_parse,
        "result": result,
        "wall_s": round(wall, 2),
        "profiled_s": round(total, 2),
        "top_own": sorted(rows, key=lambda r: -r["own_s"])[:top],
        "top_cumulative": [
            r
            for r in sorted(rows, key=lambda r: -r["cum_s"])
            if r["package"] not in ("python stdlib",)
        ][:top],
        "own_by_package": {
            k: {"seconds": round(v, 2), "share": round(v / total, 3)}
            for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])
        },
    }
