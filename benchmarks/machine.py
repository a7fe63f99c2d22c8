"""Machine facts the forecast benchmarks record beside their results."""

import os
import platform
from datetime import UTC, datetime
from importlib.metadata import version


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
