"""Load log files into the warehouse: the one entry point for `bimo load` and Dagster."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import dlt
import polars as pl
import pyarrow as pa

from bimo.settings import Settings, duckdb_memory_limit, get_settings
from bimo.warehouse import connect_with_retry, writer_lock
from ingestion.formats import FORMATS
from ingestion.quarantine import QUARANTINE_TABLE
from ingestion.readers import expand_paths
from ingestion.source import DATASET, FormatStats, gateway_logs
from ingestion.tables import FINISHING, pending_entries

PIPELINE_NAME = "bimo_gateway_logs"


def make_pipeline(
    settings: Settings, *, name: str = PIPELINE_NAME, dataset: str = DATASET
) -> dlt.Pipeline:
    """A dlt pipeline writing `dataset` (default `raw_gateway`) into the configured warehouse.

    Creating it touches no warehouse file (writers hold `writer_lock`, which creates the
    warehouse folder); dlt creates its own working folder in `settings.dlt_dir` the first time.
    DuckDB keeps to `BIMO_DUCKDB_MEMORY_LIMIT` while dlt loads and merges (it spills beyond).
    The merge keeps one row per key with `ingestion.destination`'s cheaper dedup.
    """
    from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

    from ingestion.destination import BimoDuckDb

    credentials = DuckDbCredentials(
        str(settings.warehouse), global_config={"memory_limit": duckdb_memory_limit()}
    )
    kwargs = {
        "pipeline_name": name,
        "destination": BimoDuckDb(credentials),
        "dataset_name": dataset,
        "pipelines_dir": str(settings.dlt_dir),
    }
    try:
        return dlt.pipeline(**kwargs)
    except FileExistsError:
        # Two processes (the Dagster webserver and daemon, test workers) created the working
        # folder at once; dlt creates it with exist_ok=False. It exists now: open it.
        return dlt.pipeline(**kwargs)


ROW_KEY = "_row_key"


def finish_interrupted(pipeline: dlt.Pipeline) -> int:
    """Complete the load packages a stopped run left half loaded; returns how many there were.

    Call it under the writer lock before reading the warehouse for a new load. dlt's `run` with
    new data would load only the pending packages and drop the new data; finishing them first
    makes the warehouse whole (every job of a package is applied once) before anything compares
    against it. The temp files of saves a kill interrupted, left beside the packages, are
    removed (`ingestion.tables.pending_entries`)."""
    for stray in pending_entries(Path(pipeline.working_dir))[1]:  # a killed save's temp file
        stray.unlink()
    marker = Path(pipeline.working_dir) / FINISHING  # a stop before the dedup is resumed too
    pending = pipeline.has_pending_data
    if not pending and not marker.exists():
        return 0
    packages = {*pipeline.list_extracted_load_packages(), *pipeline.list_normalized_load_packages()}
    marker.touch()
    if pending:
        pipeline.run()
    drop_repeated_rows(pipeline)
    marker.unlink()
    return len(packages) if pending else 0


def interrupted_message(packages: int) -> str:
    """What a load tells its user when it finished packages a stopped run left."""
    return (
        f"finished {packages} load package(s) a stopped run had left half loaded, before this load"
    )


def drop_repeated_rows(pipeline: dlt.Pipeline) -> None:
    """Keep one row per `_row_key` in the pipeline's tables that have one.

    A resumed package can copy a file into dlt's staging table twice: the stopped run's copy
    committed before dlt recorded it, and the resumed run copies the file again. The merge
    then inserts the rows of that file twice. A row key occurs once per load by construction
    and every load replaces whole deliveries, so a repeated key is such a copy. (dlt's own
    dedup needs the key as primary key, and its delete then joins on `merge key OR primary key`,
    a nested-loop join over the whole table: minutes at 300k rows.)"""
    tables = [
        name
        for name, table in pipeline.default_schema.tables.items()
        if ROW_KEY in table.get("columns", {})
    ]
    with pipeline.sql_client() as client:
        for name in tables:
            qualified = client.make_qualified_table_name(name)
            client.execute_sql(
                f"delete from {qualified} where rowid in (select rowid from ("
                f"select rowid, row_number() over (partition by {ROW_KEY} order by rowid) as n "
                f"from {qualified} where {ROW_KEY} in (select {ROW_KEY} from {qualified} "
                f"where {ROW_KEY} is not null group by 1 having count(*) > 1)) where n > 1)"
            )


def delivery_resource(name: str, table: pa.Table):
    """A dlt resource replacing whole deliveries: every stored row of a `delivery_key` the load
    holds is deleted and the load's rows inserted (delete-insert on the merge key).

    Each row gets `_row_key`, its delivery key and its place among that key's rows in this
    load: unique in the table, so `finish_interrupted` can drop the rows a resumed load copied
    twice (`drop_repeated_rows`)."""
    ordinal = pl.int_range(pl.len()).over("delivery_key").cast(pl.Utf8)
    keys = pl.from_arrow(table.select(["delivery_key"])).select(
        pl.concat_str(pl.col("delivery_key"), pl.lit("#"), ordinal).alias(ROW_KEY)
    )
    column = keys.to_arrow()[ROW_KEY].cast(pa.string())
    keyed = table.append_column(pa.field(ROW_KEY, pa.string()), column)
    return dlt.resource(
        [keyed],
        name=name,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        merge_key="delivery_key",
    )


@dataclass
class LoadSummary:
    """Counts of one load, per source: parsed, added, duplicates skipped, quarantined."""

    stats: dict[str, FormatStats] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    interrupted_loads: int = 0  # packages a stopped run left, finished before this load

    def duplicates(self, source: str) -> int:
        return self.stats[source].rows - self.added.get(source, 0)

    @property
    def rows_loaded(self) -> int:
        return sum(self.added.values())


def table_counts(settings: Settings) -> dict[str, int]:
    """Row count of every raw table that exists (used to tell new rows from duplicates)."""
    if not settings.warehouse.exists():
        return {}
    con = connect_with_retry(settings.warehouse)
    try:
        names = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [DATASET],
            ).fetchall()
        }
        tables = [m.TABLE for m in FORMATS.values()] + [QUARANTINE_TABLE]
        return {
            t: con.execute(f'select count(*) from {DATASET}."{t}"').fetchone()[0]
            for t in tables
            if t in names
        }
    finally:
        con.close()


def group_files(
    source: str, paths: Iterable[str | Path], *, roots: Sequence[Path] | None = None
) -> dict[str, list[Path]]:
    """Files for one source, from paths, globs and folders (inside `roots`, when given)."""
    if source not in FORMATS:
        raise ValueError(f"unknown source {source!r}; choose one of {', '.join(FORMATS)}")
    return {source: expand_paths(paths, roots=roots)}


def load_files(
    files: dict[str, list[Path]],
    *,
    settings: Settings | None = None,
    window: tuple[datetime, datetime] | None = None,
    locked: bool = False,
    progress: Callable[[Path], None] | None = None,
) -> LoadSummary:
    """Parse and load files per source under the warehouse writer lock; returns the counts."""
    settings = settings or get_settings()
    if not locked:
        with writer_lock(settings):
            return load_files(
                files, settings=settings, window=window, locked=True, progress=progress
            )
    summary = LoadSummary()
    pipeline = make_pipeline(settings)
    summary.interrupted_loads = finish_interrupted(pipeline)
    before = table_counts(settings)
    source = gateway_logs(files=files, window=window, stats=summary.stats, progress=progress)
    pipeline.run(source)
    after = table_counts(settings)
    for name, module in FORMATS.items():
        summary.added[name] = after.get(module.TABLE, 0) - before.get(module.TABLE, 0)
    return summary
