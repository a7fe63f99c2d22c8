"""The crash driver: `python -c support.CRASH_DRIVER <stage> <marker> <bimo arguments…>` runs a
`bimo` command in a subprocess that stops for good at a known point, where the test kills it."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> None:
    """`python -c CRASH_DRIVER <stage> <marker> <bimo arguments…>`: run `bimo <arguments>` (for
    `analytics`, the analytics step instead) and stop for good at the stage's point, after
    writing `marker`: `dlt_load` once dlt committed the merge of a first table of the load
    package and not the rest, `dlt_copy_unrecorded` once the copy of the line items into the
    staging table committed and before dlt recorded it, `analytics` once the first analytics
    table is replaced (writer lock held, read copy not yet published). Test-only: the product
    has no such hook."""
    stage, marker, *argv = sys.argv[1:]
    if stage == "dlt_copy_unrecorded":
        from dlt.common.storages.load_package import PackageStorage

        save_pending_transition = PackageStorage.save_pending_transition

        def pausing_save(self, load_id, file_name, state, *args):
            if file_name.startswith("line_items.") and file_name.endswith(".parquet"):
                _stop_here(Path(marker), job=file_name, state=state)  # committed, not recorded
            return save_pending_transition(self, load_id, file_name, state, *args)

        PackageStorage.save_pending_transition = pausing_save
    elif stage == "dlt_load":
        from dlt.load.load import Load

        complete_jobs = Load.complete_jobs

        def pausing_complete_jobs(self, load_id, jobs, schema):
            remaining, finalized, error = complete_jobs(self, load_id, jobs, schema)
            if any(job.file_name().endswith(".sql") for job in finalized):  # a merge committed
                _stop_here(Path(marker), remaining=len(remaining))
            return remaining, finalized, error

        Load.complete_jobs = pausing_complete_jobs
    elif stage == "analytics":
        import bimo.analytics.run as analytics_run

        replace_table = analytics_run.replace_table

        def pausing_replace_table(con, name, frame):
            rows = replace_table(con, name, frame)
            _stop_here(Path(marker), table=name)
            return rows

        analytics_run.replace_table = pausing_replace_table
    if stage == "analytics":  # the analytics step alone, on BIMO_WAREHOUSE
        from bimo.settings import get_settings
        from tests.reliability.support import run_analytics

        run_analytics(get_settings())
        sys.exit(0)
    from bimo.cli import main as bimo

    sys.exit(bimo(argv))


def _stop_here(marker: Path, **facts: object) -> None:
    marker.write_text(json.dumps({"pid": os.getpid(), **facts}))
    while True:
        time.sleep(60)
