"""Set-up tasks of the scale benchmark, run between timed stages and never timed themselves."""

from __future__ import annotations

from pathlib import Path

from pipeline import settings_for


def forget_newest_origin(work: str) -> dict:
    """Delete the backtest's stored points of its newest origin (set-up, not timed): the next
    analytics then fits that origin, as on the day in seven the origins move."""
    from bimo.analytics.run import POINTS_TABLE
    from bimo.warehouse import connect_with_retry, writer_lock

    settings, table = settings_for(Path(work)), f"analytics.{POINTS_TABLE}"
    with writer_lock(settings):
        con = connect_with_retry(settings.warehouse)
        try:
            deleted = con.execute(
                f"delete from {table} where cutoff = (select max(cutoff) from {table})"
            ).fetchone()[0]
        finally:
            con.close()
    return {"deleted": deleted}


def forget_day(work: str, day: str) -> dict:
    """Delete the rows a day's log files put in the raw tables (set-up, not timed): the
    increment then adds a day the warehouse has not seen, even after an interrupted run."""
    from bimo.warehouse import connect_with_retry, writer_lock
    from ingestion.formats import FORMATS
    from ingestion.source import DATASET

    settings = settings_for(Path(work))
    deleted = 0
    with writer_lock(settings):
        con = connect_with_retry(settings.warehouse)
        try:
            for module in FORMATS.values():
                table = f'{DATASET}."{module.TABLE}"'
                deleted += con.execute(
                    f"delete from {table} where _source_file like ?", [f"%{day}%"]
                ).fetchone()[0]
        finally:
            con.close()
    return {"deleted": deleted}
