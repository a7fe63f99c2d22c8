"""Set-up tasks of the scale benchmark, run between timed stages and never timed themselves."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline import settings_for


@contextmanager
def _warehouse(work: str) -> Iterator:
    """A connection to the run's warehouse, under its writer lock."""
    from bimo.warehouse import connect_with_retry, writer_lock

    settings = settings_for(Path(work))
    with writer_lock(settings):
        con = connect_with_retry(settings.warehouse)
        try:
            yield con
        finally:
            con.close()


def forget_newest_origin(work: str) -> dict:
    """Delete the backtest's stored points of its newest origin (set-up, not timed): the next
    analytics then fits that origin, as on the day in seven the origins move."""
    from bimo.analytics.run import POINTS_TABLE

    table = f"analytics.{POINTS_TABLE}"
    with _warehouse(work) as con:
        newest = f"(select max(cutoff) from {table})"
        deleted = con.execute(f"delete from {table} where cutoff = {newest}").fetchone()[0]
    return {"deleted": deleted}


def forget_day(work: str, day: str) -> dict:
    """Delete the rows a day's log files put in the raw tables (set-up, not timed): the
    increment then adds a day the warehouse has not seen, even after an interrupted run."""
    from ingestion.formats import FORMATS
    from ingestion.source import DATASET

    deleted = 0
    with _warehouse(work) as con:
        for module in FORMATS.values():
            table = f'{DATASET}."{module.TABLE}"'
            deleted += con.execute(
                f"delete from {table} where _source_file like ?", [f"%{day}%"]
            ).fetchone()[0]
    return {"deleted": deleted}
