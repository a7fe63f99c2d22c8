"""Worker processes that parse log files, one file per task, results back in file order.

Each worker is a fresh interpreter (`python -m ingestion.parse_pool`) that imports only the
parsers: nothing is forked from the loading process (which may run Dagster's or dlt's threads),
and no caller's main script is imported again. Tasks and results are pickled frames on the
worker's stdin and stdout; the worker's own prints go to stderr.

Flow control: file i goes to worker i mod n, and at most two files per worker are handed out
ahead of the one being read, so a load of any size holds a few files' results in memory.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

AHEAD = 2  # files handed to each worker beyond the one whose result is awaited
_HEADER = 8


class WorkerError(RuntimeError):
    """A parse worker died (killed, out of memory) before answering."""


def _send(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(_HEADER, "little"))
    stream.write(data)
    stream.flush()


def _read(stream: IO[bytes], n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _recv(stream: IO[bytes]) -> Any:
    header = _read(stream, _HEADER)
    if header is None:
        raise EOFError
    data = _read(stream, int.from_bytes(header, "little"))
    if data is None:
        raise EOFError
    return pickle.loads(data)


def _start(count: int) -> list[subprocess.Popen]:
    root = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "ingestion.parse_pool"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        for _ in range(count)
    ]


def run_in_order(func: Callable[..., Any], tasks: Sequence[tuple], workers: int) -> Iterator[Any]:
    """`func(*task)` for every task, in `workers` processes; results in task order. A task's
    exception is raised here, as if it had run in this process. `func` must be importable."""
    procs = _start(min(workers, len(tasks)))
    n, sent = len(procs), 0
    target = (func.__module__, func.__qualname__)
    try:
        for i in range(len(tasks)):
            while sent < min(i + 1 + AHEAD * n, len(tasks)):
                _send(procs[sent % n].stdin, (target, tasks[sent]))
                sent += 1
            proc = procs[i % n]
            try:
                ok, value = _recv(proc.stdout)
            except EOFError:
                code = proc.wait()
                raise WorkerError(f"a parse worker exited with code {code} mid-load") from None
            if not ok:
                raise value
            yield value
    finally:
        for proc in procs:
            with contextlib.suppress(OSError):  # a dead worker's pipe
                proc.stdin.close()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()


def serve() -> None:
    """The worker's loop: tasks in on stdin, results out on the original stdout."""
    import importlib

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into the result stream
    stdin = sys.stdin.buffer
    while True:
        try:
            (module, name), args = _recv(stdin)
        except EOFError:
            return
        func = getattr(importlib.import_module(module), name)
        try:
            result = (True, func(*args))
        except Exception as exc:
            result = (False, exc)
        try:
            _send(out, result)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:  # unpicklable exception
            _send(out, (False, RuntimeError(f"{type(exc).__name__}: {exc}")))


if __name__ == "__main__":
    serve()
