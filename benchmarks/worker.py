"""Child process of the benchmark harness: `worker.py module:function '{"kwarg": ...}'`.

Imports `benchmarks/<module>.py`, calls the function with the keyword arguments, and prints one
`BENCH-RESULT {json}` line: the function's return value, the seconds the call took, the peak
RSS of this process and of the largest process it waited for (e.g. dbt), and this process's RSS
sampled every 0.25 s (to tell which phase of a stage holds the memory).
"""

import importlib
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

MARKER = "BENCH-RESULT "
SAMPLE_S = 0.25


def _rss_mb(pid: int | str = "self") -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            line = next((ln for ln in fh if ln.startswith("VmRSS:")), "VmRSS: 0 kB")
    except OSError:  # the process has just exited
        return 0.0
    return int(line.split()[1]) / 1024


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as fh:
                    kids = [int(k) for k in fh.read().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def sample_rss(samples: list, tree: list, stop: threading.Event) -> None:
    """(epoch seconds, RSS MB of this process) every SAMPLE_S until `stop`; `tree` gets the RSS
    of this process and all its descendants together (a load's parse workers, dbt)."""
    me = os.getpid()
    while not stop.wait(SAMPLE_S):
        own = _rss_mb()
        samples.append((round(time.time(), 2), round(own, 1)))
        tree.append(own + sum(_rss_mb(p) for p in _descendants(me)))


def main() -> None:
    task, raw = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "{}"
    module_name, fn_name = task.split(":")
    fn = getattr(importlib.import_module(module_name), fn_name)
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    samples: list = []
    tree: list = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(samples, tree, stop), daemon=True)
    sampler.start()
    t = time.perf_counter()
    result = fn(**json.loads(raw))
    seconds = time.perf_counter() - t
    stop.set()
    sampler.join()
    report = {
        "seconds": round(seconds, 4),
        "result": result,
        "rss_before_mb": round(start_rss, 1),
        "rss_self_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_children_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        # sampled every SAMPLE_S: this process and its descendants at once
        "rss_tree_mb": round(max(tree, default=0), 1),
        "rss_timeline": samples[:: max(1, len(samples) // 200)],  # ≤ ~200 points
    }
    sys.stdout.flush()
    print(MARKER + json.dumps(report, default=str), flush=True)


if __name__ == "__main__":
    main()
