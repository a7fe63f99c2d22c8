"""Worker processes that parse log files, one file per task, results back in file order.

Each worker is a fresh interpreter (`python -m ingestion.parse_pool`) that imports only the
parsers: nothing is forked from the loading process (which may run Dagster's or dlt's threads),
and no caller's main script is imported again. Tasks and results are pickled frames on the
worker's stdin and stdout; the worker's own prints go to stderr.

Flow control: file i goes to worker i mod n, and at most two files per worker are handed out
ahead of the one being read, so a load of any size holds a few files' results in memory.

`SharedPool` lets several consumers (a load's sources, which dlt reads in turns) share one set of
workers: each takes its own results in its own order, whatever the interleaving.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import weakref
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
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


def _stop(procs: list[subprocess.Popen]) -> None:
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


def _answer(proc: subprocess.Popen) -> tuple[bool, Any]:
    try:
        return _recv(proc.stdout)
    except EOFError:
        code = proc.wait()
        raise WorkerError(f"a parse worker exited with code {code} mid-load") from None


class SharedPool:
    """`workers` processes that run `func` for several consumers, each named by a key: a
    consumer's tasks are added up front (`add`), and `results(key)` yields their results in task
    order. Each consumer has at most `ahead` tasks handed out beyond the result it is reading;
    a result that arrives for another consumer waits in memory until that one asks for it. Each
    task goes to the worker with the fewest tasks in hand. The workers stop when every consumer
    has finished or stopped reading (or on `close`)."""

    def __init__(self, func: Callable[..., Any], workers: int) -> None:
        self._target = (func.__module__, func.__qualname__)
        self._procs = _start(workers)
        self._held: list[deque[int]] = [deque() for _ in self._procs]  # tickets, per worker
        self._worker: dict[int, int] = {}  # ticket -> the worker that has it
        self._ready: dict[int, tuple[bool, Any]] = {}  # answers read for another consumer
        self._todo: dict[Hashable, deque[tuple]] = {}
        self._mine: dict[Hashable, deque[int]] = {}  # a consumer's tickets, in task order
        self._ahead: dict[Hashable, int] = {}
        self._tickets = 0
        # the workers stop on close, or when the pool is dropped unread (they read EOF)
        self._stop = weakref.finalize(self, _stop, self._procs)

    def add(self, key: Hashable, tasks: Iterable[tuple], ahead: int) -> None:
        """A consumer's tasks; its first `ahead` go to the workers now."""
        self._todo[key], self._mine[key], self._ahead[key] = deque(tasks), deque(), ahead
        self._hand_out(key)

    def _hand_out(self, key: Hashable) -> None:
        todo, mine = self._todo[key], self._mine[key]
        while todo and len(mine) < self._ahead[key]:
            worker = min(range(len(self._procs)), key=lambda w: len(self._held[w]))
            _send(self._procs[worker].stdin, (self._target, todo.popleft()))
            self._held[worker].append(self._tickets)
            self._worker[self._tickets] = worker
            mine.append(self._tickets)
            self._tickets += 1

    def _take(self, ticket: int) -> Any:
        worker = self._worker.pop(ticket)
        while ticket not in self._ready:  # the worker answers in the order it was given tasks
            self._ready[self._held[worker].popleft()] = _answer(self._procs[worker])
        ok, value = self._ready.pop(ticket)
        if not ok:
            raise value
        return value

    def results(self, key: Hashable) -> Iterator[Any]:
        """The consumer's results, in the order of its tasks."""
        mine = self._mine[key]
        try:
            while mine:
                value = self._take(mine.popleft())
                self._hand_out(key)  # the next task starts before this result is used
                yield value
        finally:
            self._todo[key].clear()
            del self._mine[key]
            if not self._mine:
                self.close()

    def close(self) -> None:
        self._stop()  # once: a finalizer runs at most once


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
            ok, value = _answer(procs[i % n])
            if not ok:
                raise value
            yield value
    finally:
        _stop(procs)


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
