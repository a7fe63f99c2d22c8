"""Crashes: a `bimo` process SIGKILLed during the dlt load, the dbt build or the analytics step.

The load and build runs apply the same change to a built warehouse: the AWS month re-delivered
with changed costs (`bimo load focus <re-delivery>`: a dlt load, then a dbt build); the analytics
step runs on the warehouse that change produced. The process group (bimo and its dbt child) is
killed at a point it demonstrably reached; then the same run again completes, and the marts (and
analytics) equal a clean load of the final data. All along, readers of the published copy see
October's totals either as before the change or as after it, never a partial billing period.
Last, `bimo run`, and a run launched as the Dagster daemon and UI launch one, killed while one of
its steps holds the Dagster `warehouse_writer` pool slot: the next `bimo run` must not wait for
that slot forever.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bimo.settings import PROJECT_ROOT, get_settings
from ingestion.tables import pending_entries
from tests.reliability import checksums, support

pytestmark = [pytest.mark.slow, pytest.mark.heavy]
MODELS_BEFORE_KILL = 5  # dbt has committed this many models when it is killed


class Readers(threading.Thread):
    """Reads October's totals from the published copy in a loop until stopped."""

    def __init__(self, settings):
        super().__init__(daemon=True)
        self.settings, self.seen, self.errors, self.stop = settings, set(), [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.seen.add(support.snapshot_totals(self.settings))
            except Exception as exc:  # any failure is a finding
                self.errors.append(repr(exc))
            self.stop.wait(0.05)

    def finish(self) -> tuple[set, list]:
        self.stop.set()
        self.join()
        return self.seen, self.errors


def start(stage: str, settings, redelivery: Path, tmp_path: Path) -> subprocess.Popen:
    args = ["load", "focus", str(redelivery), "--warehouse", str(settings.warehouse)]
    if stage == "analytics":  # the step alone, on the marts the re-delivery rebuilt
        args = []
    if stage == "dbt_build":  # the real CLI; dbt's own log shows how far it got
        cmd = [support.BIMO, *args]
    else:
        cmd = [sys.executable, "-c", support.CRASH_DRIVER, stage, str(tmp_path / "marker"), *args]
    return subprocess.Popen(
        cmd,
        cwd=PROJECT_ROOT,
        env=support.child_env(settings, DBT_LOG_PATH=str(tmp_path / "dbt-logs")),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the kill takes dbt with it
    )


def pending_packages(settings) -> tuple[list[Path], list[Path]]:
    """The billing pipeline's load packages extracted or normalized and not fully loaded (a
    load in progress), and the temp files a killed save left beside them."""
    return pending_entries(settings.dlt_dir / "bimo_billing")


def models_done(tmp_path: Path) -> int:
    log = tmp_path / "dbt-logs" / "dbt.log"
    return len(re.findall(r"OK created", log.read_text())) if log.exists() else 0


def reach(stage: str, proc, settings, tmp_path: Path) -> None:
    """Wait until the run is demonstrably inside `stage`."""
    marker = tmp_path / "marker"
    if stage == "dbt_build":
        support.wait_for(
            lambda: models_done(tmp_path) >= MODELS_BEFORE_KILL, proc, what="dbt models"
        )
        return
    support.wait_for(marker.exists, proc, what=f"the {stage} stop")
    if stage == "dlt_copy_unrecorded":  # the copy committed, the package does not know it
        # The package whose line items are being copied (another save's temp file can be in
        # flight beside it: the files are left out)
        found, _ = pending_packages(settings)
        holding = [p for p in found if list(p.glob("started_jobs/line_items.*.parquet"))]
        assert len(holding) == 1, found
        (package,) = holding
        assert not list(package.glob(".pending_transitions/line_items.*"))
        assert json.loads(marker.read_text())["state"] == "completed"  # its copy committed
    if stage == "dlt_load":  # a load package is half loaded
        (package,), _ = pending_packages(settings)
        jobs = {p.parent.name for p in package.rglob("*.*") if p.parent.name.endswith("_jobs")}
        assert "completed_jobs" in jobs and jobs & {"new_jobs", "started_jobs"}, jobs


@pytest.mark.parametrize("stage", support.CRASH_STAGES)
def test_killed_run_then_rerun_equals_a_clean_load(
    stage, baseline, redelivery, redelivered, tmp_path
):
    # The analytics step starts from the re-delivery loaded and its marts built and published.
    start_from = redelivered if stage == "analytics" else baseline
    settings = support.clone(start_from, tmp_path / "warehouse")
    before = support.snapshot_totals(settings)
    after = support.snapshot_totals(get_settings(redelivered / "warehouse.duckdb"))
    assert (before == after) == (stage == "analytics")
    readers = Readers(settings)
    readers.start()
    proc = start(stage, settings, redelivery, tmp_path)
    try:
        reach(stage, proc, settings, tmp_path)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert support.snapshot_totals(settings) == before  # nothing half-done was published

    if stage == "analytics":  # the next run of the failed step
        support.run_analytics(settings)
        schemas = ("marts", "analytics")
    else:  # the same command again
        support.cli(settings, "load", "focus", str(redelivery))
        schemas = ("marts",)
    seen, errors = readers.finish()
    assert errors == []
    assert before in seen and seen <= {before, after}
    expected = checksums.mart_checksums(redelivered / "warehouse.duckdb", schemas=schemas)
    assert checksums.mart_checksums(settings.warehouse, schemas=schemas) == expected
    assert checksums.mart_checksums(settings.snapshot, schemas=schemas) == expected
    assert support.snapshot_totals(settings) == after
    # the interrupted load package was finished, and a killed save's temp file removed
    assert pending_packages(settings) == ([], [])


def writer_slot(instance) -> bool:
    """Whether a run's step holds the `warehouse_writer` pool slot."""
    return bool(instance.event_log_storage.get_concurrency_info("warehouse_writer").claimed_slots)


@pytest.mark.parametrize("crash", support.DAGSTER_CRASHES)
def test_killed_bimo_run_does_not_block_the_next_one(crash, baseline, landing, tmp_path):
    import dagster as dg

    # A persistent instance with the project's settings: pools on, one warehouse writer.
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "dagster_home/dagster.yaml").read_text())
    settings = support.clone(baseline, tmp_path / "warehouse")
    env = support.child_env(settings, DAGSTER_HOME=str(home), BIMO_LANDING_DIR=str(landing))
    day = support.END.isoformat()
    args = [
        support.BIMO,
        "run",
        "--start",
        day,
        "--end",
        day,
        "--warehouse",
        str(settings.warehouse),
    ]
    launched = [sys.executable, "-c", f"from tests.reliability import support; "
                f"support.launch_daily({day!r})"]  # fmt: skip
    first = subprocess.Popen(
        args if crash.startswith("bimo_run") else launched, cwd=PROJECT_ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        support.wait_for(
            lambda: writer_slot(instance), first, what="a step holding the writer slot"
        )
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert writer_slot(instance)  # the dead run still holds the slot
    second = subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                            timeout=600)  # fmt: skip
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert not writer_slot(instance)
    statuses = sorted(r.status.value for r in instance.get_runs())
    assert statuses.count("FAILURE") == 1  # the killed run, marked failed by the next one
    expected = checksums.mart_checksums(baseline / "warehouse.duckdb")
    assert checksums.mart_checksums(settings.warehouse) == expected
