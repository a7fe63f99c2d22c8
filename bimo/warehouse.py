"""Safe access to the DuckDB warehouse.

DuckDB allows one writer process *or* many readers, never both. Bimo therefore:

* serialises writers with an OS file lock (`<warehouse>.lock`): a second writer (a Dagster step,
  `bimo load`) waits its turn instead of failing on DuckDB's lock;
* publishes a read copy (`<warehouse>.read.duckdb`) after each successful write, swapped in
  atomically with `os.replace`; readers (the dashboard, `bimo sql`) open only the copy, read-only
  and without file or network access, so they never block the pipeline and never see a half write.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from bimo.settings import Settings, duckdb_memory_limit, get_settings

LOCK_ERRORS = ("Could not set lock", "Conflicting lock", "database is locked")
# The readers' sandbox. `lock_configuration` makes every later SET or RESET fail, so a query
# cannot undo the rest.
READ_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}


OPEN_TRIES = 3  # opens of the read copy before an I/O error (not a lock) is the reader's


class WarehouseBusyError(RuntimeError):
    """The warehouse stayed locked by another process for longer than the timeout."""


@contextmanager
def writer_lock(settings: Settings | None = None, *, timeout_s: float = 3600) -> Iterator[None]:
    """Hold the inter-process writer lock for the warehouse; waits up to `timeout_s`."""
    settings = settings or get_settings()
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    lock_path = settings.warehouse.with_name(settings.warehouse.name + ".lock")
    deadline = time.monotonic() + timeout_s
    with open(lock_path, "a+") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseBusyError(
                        f"another Bimo writer held {lock_path} for over {timeout_s:.0f}s"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def connect_with_retry(
    path: Path, *, read_only: bool = False, timeout_s: float = 120, reopens: int = 0, **kw
):
    """`duckdb.connect`, retrying while another process (e.g. an external client) holds the file,
    and up to `reopens` times more on any other I/O error (a read copy swapped in mid-open);
    the connection's database keeps to `BIMO_DUCKDB_MEMORY_LIMIT` (it spills to disk beyond)."""
    limit = duckdb_memory_limit()
    if "config" in kw:  # a given config may lock itself: the limit goes in with it
        kw["config"] = {"memory_limit": limit, **kw["config"]}
    delay, deadline = 0.1, time.monotonic() + timeout_s
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only, **kw)
            if "config" not in kw:
                con.execute(f"set memory_limit = '{limit}'")
            return con
        except duckdb.IOException as exc:
            if any(m in str(exc) for m in LOCK_ERRORS):
                if time.monotonic() > deadline:
                    raise
            elif reopens > 0:
                reopens -= 1
            else:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


@contextmanager
def write_connection(
    settings: Settings | None = None, *, publish: bool | Callable[[bool], bool] = True
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection under the writer lock; publishes the read copy on success
    (`publish=False`: a later write of the same run will). `publish` may instead be a rule,
    asked under the lock once the write is over whether it failed, that says whether to publish
    (a failed write may publish the run's earlier writes)."""
    settings = settings or get_settings()
    with writer_lock(settings):
        con = connect_with_retry(settings.warehouse)
        try:
            yield con
        except BaseException as exc:
            con.close()
            # an error may publish; an interrupt (a run being stopped) never waits for a copy
            if isinstance(exc, Exception) and callable(publish) and publish(True):
                publish_snapshot(settings, locked=True)
            raise
        con.close()
        if publish(False) if callable(publish) else publish:
            publish_snapshot(settings, locked=True)


def publish_snapshot(settings: Settings | None = None, *, locked: bool = False) -> Path | None:
    """Copy the warehouse to its read copy atomically. Call only while no write is in progress."""
    settings = settings or get_settings()
    if not locked:
        with writer_lock(settings):
            return publish_snapshot(settings, locked=True)
    if not settings.warehouse.exists():
        return None
    from bimo.source_health import refresh_rows_per_day

    con = connect_with_retry(settings.warehouse)
    try:
        refresh_rows_per_day(con)  # the data-health page's counts, for this copy's raw tables
        con.execute("checkpoint")
    finally:
        con.close()
    tmp = settings.snapshot.with_name(f".{settings.snapshot.name}.{os.getpid()}.tmp")
    shutil.copyfile(settings.warehouse, tmp)
    os.replace(tmp, settings.snapshot)
    return settings.snapshot


def read_connection(settings: Settings | None = None) -> duckdb.DuckDBPyConnection | None:
    """A short-lived, read-only, sandboxed connection to the read copy (None: nothing published).

    The connection cannot read or write files or URLs, attach databases, install or load
    extensions (the built-in json, parquet and icu work), or change any setting.
    """
    settings = settings or get_settings()
    path = settings.snapshot
    if not path.exists():
        return None
    # A publish may swap the copy in (`os.replace`) while DuckDB opens it, which can then read
    # one file's header and the other's metadata ("No more data remaining in MetadataReader"):
    # opening again reads the new copy whole.
    return connect_with_retry(path, read_only=True, config=READ_CONFIG, reopens=OPEN_TRIES - 1)


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """Whether `schema.name` exists in the warehouse `con` is connected to."""
    return bool(
        con.sql(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            params=[schema, name],
        ).fetchall()[0][0]
    )
