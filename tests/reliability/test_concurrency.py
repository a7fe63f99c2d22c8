"""Concurrency: readers never fail and always see a consistent warehouse while it is written, and
writers started together queue on the writer lock instead of corrupting each other.

The write is the AWS month re-delivered with changed costs (`bimo load focus <re-delivery>`: a
dlt load, then a dbt build). Readers are the dashboard's data path (`app.data.query` on the
published copy) and `bimo sql` (in process, and the real command now and then); each reads
October's totals from two marts at once, which must be the totals before or after the write,
never a mix.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from decimal import Decimal

import pytest

from bimo.settings import PROJECT_ROOT, get_settings
from tests.reliability import checksums, support

pytestmark = [pytest.mark.slow, pytest.mark.heavy]
TOTALS_SQL = (
    "select (select sum(cost_usd) from marts.fct_cost_line_items where delivery_key = $key) "
    "as line_items, (select sum(cost_usd) from marts.fct_daily_cost where source_tag = "
    "'billing' and strftime(charge_date, '%Y-%m') = $month) as daily_cost"
)
CLI_EVERY_S = 3.0  # a real `bimo sql` process costs ~2 s of CPU: now and then only


def bimo(settings, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [support.BIMO, *args, "--warehouse", str(settings.warehouse)],
        cwd=PROJECT_ROOT,
        env=support.child_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def literal_sql() -> str:
    return TOTALS_SQL.replace("$key", f"'{support.REDELIVERY_KEY}'").replace(
        "$month", f"'{support.MONTH}'"
    )


def dashboard_totals() -> tuple:
    """One dashboard page run: a cached query on the read copy, then the run's end."""
    from app import data

    try:
        frame = data.query(literal_sql())
        return tuple(frame.row(0))
    finally:
        data.close_connection()


def sql_totals(settings) -> tuple:
    from bimo.sql import run_query

    return tuple(run_query(settings, literal_sql()).row(0))


def cli_totals(settings) -> tuple:
    out = subprocess.run(
        [
            support.BIMO,
            "sql",
            literal_sql(),
            "--format",
            "csv",
            "--warehouse",
            str(settings.warehouse),
        ],
        cwd=PROJECT_ROOT,
        env=support.child_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    header, values = out.stdout.strip().splitlines()
    assert header == "line_items,daily_cost"
    return tuple(Decimal(v) for v in values.split(","))


def writer_lock_holders(lock_inode: int) -> set[int]:
    """Pids holding an flock on the writer lock file, from /proc/locks."""
    holders = set()
    with open("/proc/locks") as fh:
        for line in fh:
            fields = line.split()
            if fields[1] == "FLOCK" and fields[5].split(":")[2] == str(lock_inode):
                holders.add(int(fields[4]))
    return holders


@pytest.fixture
def warehouse(baseline, redelivered, tmp_path):
    """(settings, totals before the write, totals after it)."""
    settings = support.clone(baseline, tmp_path)
    before = support.snapshot_totals(settings)
    after = support.snapshot_totals(get_settings(redelivered / "warehouse.duckdb"))
    assert before != after
    return settings, before, after


def test_readers_during_a_write_never_fail_and_see_old_or_new_totals(
    warehouse, redelivery, redelivered, fresh_streamlit_cache
):
    settings, before, after = warehouse
    seen: dict[str, set] = {"dashboard": set(), "bimo sql": set(), "bimo sql (cli)": set()}
    errors: list[str] = []
    readers = {
        "dashboard": dashboard_totals,
        "bimo sql": lambda: sql_totals(settings),
        "bimo sql (cli)": lambda: cli_totals(settings),
    }
    last_cli = 0.0
    with support.bimo_env(settings):  # the dashboard reads BIMO_WAREHOUSE
        writer = bimo(settings, "load", "focus", str(redelivery))
        while writer.poll() is None:
            for name, read in readers.items():
                if name.endswith("(cli)"):
                    if time.monotonic() - last_cli < CLI_EVERY_S:
                        continue
                    last_cli = time.monotonic()
                try:
                    seen[name].add(read())
                except Exception as exc:  # any failure is what this test looks for
                    errors.append(f"{name}: {exc!r}")
            time.sleep(0.02)
        output = writer.stdout.read()
        final = {name: read() for name, read in readers.items()}
    assert writer.returncode == 0, output
    assert errors == []
    for name, totals in seen.items():
        assert totals <= {before, after}, name
    assert before in seen["dashboard"] and before in seen["bimo sql"]
    assert final == dict.fromkeys(readers, after)
    expected = checksums.mart_checksums(redelivered / "warehouse.duckdb", schemas=("marts",))
    assert checksums.mart_checksums(settings.snapshot, schemas=("marts",)) == expected


def test_writers_started_together_queue_and_equal_a_single_run(warehouse, redelivery, redelivered):
    settings, _, after = warehouse
    lock = settings.warehouse.with_name(settings.warehouse.name + ".lock")
    lock.touch()
    inode, samples, stop = os.stat(lock).st_ino, [], threading.Event()

    def watch() -> None:
        while not stop.is_set():
            samples.append(writer_lock_holders(inode))
            stop.wait(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    # one loads and rebuilds the marts, the other only loads: both take the writer lock
    writers = [bimo(settings, "load", "focus", str(redelivery), *b) for b in ([], ["--no-build"])]
    outputs = [w.communicate(timeout=600)[0] for w in writers]
    stop.set()
    watcher.join()
    assert [w.returncode for w in writers] == [0, 0], outputs
    # both took the writer lock in turn (never together: at most one holder in every sample)
    assert max(len(s) for s in samples) == 1
    assert {w.pid for w in writers} <= set().union(*samples)
    assert all("1 replaced a stored one" in o for o in outputs), outputs  # both loaded it
    expected = checksums.mart_checksums(redelivered / "warehouse.duckdb", schemas=("marts",))
    assert checksums.mart_checksums(settings.warehouse, schemas=("marts",)) == expected
    assert checksums.raw_checksums(settings.warehouse) == checksums.raw_checksums(
        redelivered / "warehouse.duckdb"
    )
    assert support.snapshot_totals(settings) == after
