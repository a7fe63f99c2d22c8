"""What the accuracy benchmarks record beside their results (machine facts, the command line)
and where they write them."""

import json
import os
import platform
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path


def machine_info() -> dict:
    """Date (UTC), CPU model, cores, memory, OS and the versions that matter to the numbers."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory_gb = round(pages * size / 2**30, 1)
    except (OSError, ValueError):
        memory_gb = None
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "statsforecast": version("statsforecast"),
        "polars": version("polars"),
        "numpy": version("numpy"),
        # Other work on the machine slows the timings: the 1-minute load average when recorded.
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


_YARDSTICK_LINE = json.dumps(
    {"request_id": "0" * 36, "timestamp": "2026-08-02T00:01:29.032Z", "model": "m", "n": 1,
     "usage": {"input_tokens": 499, "output_tokens": 495}, "tags": ["a", "b"], "ok": True}
)  # fmt: skip


def yardstick(lines: int = 100_000, rounds: int = 3) -> float:
    """Seconds this machine takes, now, for a fixed single-core workload: `lines` JSON lines
    decoded and their numbers summed (the least of `rounds`). It runs no Bimo code, so no change
    to Bimo moves it: runs hours apart compare by it (this machine's speed varies by the hour)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        total = 0
        for _ in range(lines):
            rec = json.loads(_YARDSTICK_LINE)
            total += rec["n"] + rec["usage"]["input_tokens"] + len(rec["request_id"])
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def command_line(script: str, **flags) -> str:
    """The command that reproduces a run: `script` (in benchmarks/) with its flags, a list's
    values space-separated."""
    parts = [f".venv/bin/python benchmarks/{script}"]
    for name, value in flags.items():
        shown = " ".join(map(str, value)) if isinstance(value, list | tuple) else value
        parts.append(f"--{name.replace('_', '-')} {shown}")
    return " ".join(parts)


def write_results(stem: str, payload: dict, lines: list[str]) -> None:
    """benchmarks/results/`stem`.json (the payload) and `stem`.md (the lines)."""
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"{stem}.json").write_text(json.dumps(payload, indent=1, default=str) + "\n")
    (results / f"{stem}.md").write_text("\n".join(lines) + "\n")
