"""Parse log files into Arrow batches of rows and quarantine rows, in this process or in several.

Parsing is Python (`ingestion.formats`), so one process parses on one core. A large load (several
files, `PARALLEL_MIN_BYTES` or more) parses its files in `BIMO_PARSE_WORKERS` worker processes
(`ingestion.parse_pool`; default: one per core, at most 4), a file each at a time; the files'
results come back in file order, so a parallel load yields the same rows, quarantine rows and
counts as a serial one. This module imports no dlt: the workers start light.
"""

from __future__ import annotations

import gc
import itertools
import operator
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pyarrow as pa

from ingestion.formats import FORMATS, fast
from ingestion.formats.common import BadRecord
from ingestion.formats.skip import Skip
from ingestion.parse_pool import AHEAD, SharedPool, run_in_order
from ingestion.readers import BadJson, iter_lines, iter_records, json_line

BATCH_ROWS = 50_000
# The tables a load yields hold this many rows (the last fewer): DuckDB's row group size, so each
# table becomes one Parquet row group that DuckDB copies into its staging table as a whole one of
# its own. Row groups of other sizes (a file's rows, 50,000) made that copy 1.5x slower
# (docs/benchmarks.md, item 25).
GROUP_ROWS = 122_880
PARALLEL_MIN_BYTES = 32 * 2**20  # below this a load parses in-process (workers cost ~1 s to start)
MAX_WORKERS = 4
LINEAGE: dict[str, pa.DataType] = {
    "_source_file": pa.string(),
    "_source_line": pa.int64(),
    "_loaded_at": pa.timestamp("us", tz="UTC"),
}
Window = tuple[datetime, datetime]


@dataclass
class FormatStats:
    """What one load saw for one format."""

    files: int = 0
    records: int = 0
    rows: int = 0
    skipped: int = 0
    out_of_window: int = 0
    quarantined: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)

    def add(self, other: FormatStats) -> None:
        """Add another part's counts (a file parsed in a worker) to these."""
        for f in fields(self):
            if f.name != "skip_reasons":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        for why, n in other.skip_reasons.items():
            self.skip_reasons[why] = self.skip_reasons.get(why, 0) + n


def arrow_schema(module: ModuleType) -> pa.Schema:
    """The Arrow schema of a format's raw table (request_id is the non-null key)."""
    cols = {**module.COLUMNS, **LINEAGE}
    return pa.schema([pa.field(n, t, nullable=n != "request_id") for n, t in cols.items()])


def parse_workers() -> int:
    """Processes a large load parses in: `BIMO_PARSE_WORKERS`, else one per core (at most 4)."""
    raw = os.environ.get("BIMO_PARSE_WORKERS", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"BIMO_PARSE_WORKERS={raw!r} is not a positive whole number")
        return int(raw)
    return max(1, min(len(os.sched_getaffinity(0)), MAX_WORKERS))


def file_rows(
    source: str,
    path: Path,
    *,
    stats: FormatStats,
    bad: list[dict],
    window: Window | None,
    loaded_at: datetime,
) -> Iterator[tuple]:
    """The rows of one file, as tuples in `arrow_schema` order (lineage columns set); its bad
    records go to `bad` (one quarantine row per record, all its reasons) and its counts to
    `stats`. A record takes the format's fast path first, where it has one (`fast_row`)."""
    module = FORMATS[source]
    stats.files += 1
    name = str(path)

    def quarantine(pos: int, reason: str) -> None:
        stats.quarantined += 1
        bad.append(
            {
                "source": source,
                "file": name,
                "line": pos,
                "reason": reason[:500],
                "quarantined_at": loaded_at,
            }
        )

    time_column, parse, columns = module.TIME_COLUMN, module.parse, list(module.COLUMNS)
    values, at = operator.itemgetter(*columns), columns.index(time_column)
    fast_row = getattr(module, "fast_row", None) if fast.usable() else None
    records = iter_lines(path) if fast_row else iter_records(path)
    records_seen = rows_kept = 0
    try:
        for pos, rec in records:
            records_seen += 1
            if type(rec) is bytes:
                if fast_row and (row := fast_row(rec)) is not fast.FALLBACK:
                    if window and not (window[0] <= row[at] < window[1]):
                        stats.out_of_window += 1
                    else:
                        rows_kept += 1
                        yield (*row, name, pos, loaded_at)
                    continue
                rec = json_line(rec)
            if isinstance(rec, BadJson):
                quarantine(pos, rec.reason)
                continue
            if not isinstance(rec, dict):
                quarantine(pos, f"record is a JSON {type(rec).__name__}, not an object")
                continue
            reasons = []  # one quarantine row per record (its key is source, file, line)
            for out in parse(rec):
                if isinstance(out, BadRecord):
                    reasons.append(str(out))
                elif isinstance(out, Skip):
                    stats.skipped += 1
                    stats.skip_reasons[out.why] = stats.skip_reasons.get(out.why, 0) + 1
                elif window and not (window[0] <= out[time_column] < window[1]):
                    stats.out_of_window += 1
                else:
                    rows_kept += 1
                    try:
                        row = values(out)
                    except KeyError:  # a key the row lacks is null
                        row = tuple(out.get(c) for c in columns)
                    yield (*row, name, pos, loaded_at)
            if reasons:  # e.g. two bad spans of one OTel export request: both reasons kept
                many = f"{len(reasons)} bad items: " if len(reasons) > 1 else ""
                quarantine(pos, many + "; ".join(reasons))
    finally:  # counted here, not on every row
        stats.records += records_seen
        stats.rows += rows_kept


def _tables(rows: Iterable[tuple], schema: pa.Schema, batch_rows: int) -> Iterator[pa.Table]:
    """Arrow tables of at most `batch_rows` rows (none for no rows), each row a tuple of the
    schema's values: a batch turns into columns with one `zip`, at half the cost of
    `pa.Table.from_pylist` on dicts.

    Python's cycle collector is paused while a batch fills (the parse runs then) and on again
    while the caller has it: its full collections rescanned every row of the batch again and
    again, and the rows hold no reference cycles."""
    rows = iter(rows)
    while True:
        with _collector_paused():
            batch = list(itertools.islice(rows, batch_rows))
            table = _table(batch, schema) if batch else None
        if table is None:
            return
        yield table
        if len(batch) < batch_rows:
            return


def row_groups(tables: Iterable[pa.Table], rows: int) -> Iterator[pa.Table]:
    """The tables' rows, in order, as tables of exactly `rows` rows, the last fewer (none for
    no rows). Slices and joins share the tables' buffers: nothing is copied here, and at most
    one table's worth of rows is held beyond the group being filled."""
    held: list[pa.Table] = []
    count = 0
    for table in tables:
        while table.num_rows:
            take = min(rows - count, table.num_rows)
            held.append(table.slice(0, take))
            table = table.slice(take)
            count += take
            if count == rows:
                yield pa.concat_tables(held)
                held, count = [], 0
    if held:
        yield pa.concat_tables(held)


@contextmanager
def _collector_paused() -> Iterator[None]:
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _table(batch: list[tuple], schema: pa.Schema) -> pa.Table:
    columns = zip(*batch, strict=True)
    arrays = [_array(column, f.type) for column, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


def _array(values: tuple, kind: pa.DataType) -> pa.Array:
    """`pa.array(values)`; a column of one object repeated (a load's `_loaded_at`) converts it
    once, where converting a datetime on every row cost a tenth of a fast row's time."""
    first = values[0]
    if type(first) is datetime and all(v is first for v in values):
        return pa.repeat(pa.scalar(first, kind), len(values))
    return pa.array(values, type=kind)


def _parse_file_task(
    source: str, path: Path, window: Window | None, loaded_at: datetime, batch_rows: int
) -> tuple[list[pa.Table], list[dict], FormatStats]:
    """One file, whole, in a worker process: its row tables, quarantine rows and counts."""
    stats, bad = FormatStats(), []
    rows = file_rows(source, path, stats=stats, bad=bad, window=window, loaded_at=loaded_at)
    return list(_tables(rows, arrow_schema(FORMATS[source]), batch_rows)), bad, stats


def _use_workers(files: list[Path]) -> int:
    """How many processes to parse these files in (1: in this one)."""
    if len(files) < 2:
        return 1
    workers = min(parse_workers(), len(files))
    if workers < 2 or sum(f.stat().st_size for f in files) < PARALLEL_MIN_BYTES:
        return 1
    return workers


def shared_pool(
    files: dict[str, list[Path]], *, window: Window | None = None, batch_rows: int = BATCH_ROWS
) -> SharedPool | None:
    """Workers that parse the files of several formats together, as one load of them needs
    (None: parse each format as `parse_files` decides). A day of several formats has a file or
    two per format, which `parse_files` would each parse in-process, one after the other: with
    `PARALLEL_MIN_BYTES` or more in all, the formats' files share the workers instead. Each
    format then has `AHEAD` × workers / formats files (at least one) handed out beyond the one
    it reads: a load holds a few files' results, as in one format's parallel parse."""
    files = {source: list(paths) for source, paths in files.items() if paths}
    workers = min(parse_workers(), sum(map(len, files.values())))
    every = [path for paths in files.values() for path in paths]
    if len(files) < 2 or workers < 2 or sum(f.stat().st_size for f in every) < PARALLEL_MIN_BYTES:
        return None
    pool = SharedPool(_parse_file_task, workers)
    loaded_at = datetime.now(UTC)
    ahead = max(1, AHEAD * workers // len(files))
    for source, paths in files.items():
        pool.add(source, [(source, p, window, loaded_at, batch_rows) for p in paths], ahead)
    return pool


def parse_files(
    source: str,
    files: Iterable[Path],
    *,
    window: Window | None = None,
    stats: FormatStats | None = None,
    batch_rows: int = BATCH_ROWS,
    group_rows: int | None = None,
    progress: Callable[[Path], None] | None = None,
    quarantine_item: Callable[[list[dict]], object] | None = None,
    pool: SharedPool | None = None,
) -> Iterator[object]:
    """Yield Arrow tables of parsed rows for the files of one format, then its quarantine rows
    (as `quarantine_item(rows)` makes them; a list of dicts without it). The rows are parsed
    `batch_rows` at a time and yielded `group_rows` (default `GROUP_ROWS`) to a table.

    `window` keeps only requests whose start time is in [start, end). `pool`: the workers
    `shared_pool` gave these files to (with the same window and batch size).
    """
    files = list(files)
    schema = arrow_schema(FORMATS[source])
    stats = stats if stats is not None else FormatStats()
    group_rows = group_rows or GROUP_ROWS
    loaded_at = datetime.now(UTC)
    bad: list[dict] = []
    workers = 0 if pool is not None else _use_workers(files)
    if workers == 1:

        def every_row() -> Iterator[dict]:
            for path in files:
                yield from file_rows(
                    source, path, stats=stats, bad=bad, window=window, loaded_at=loaded_at
                )
                if progress:
                    progress(path)

        yield from row_groups(_tables(every_row(), schema, batch_rows), group_rows)
    else:

        def every_table() -> Iterator[pa.Table]:
            if pool is not None:
                results = pool.results(source)
            else:
                tasks = [(source, path, window, loaded_at, batch_rows) for path in files]
                results = run_in_order(_parse_file_task, tasks, workers)
            for path, (tables, file_bad, file_stats) in zip(files, results, strict=True):
                stats.add(file_stats)
                bad.extend(file_bad)
                yield from tables
                if progress:
                    progress(path)

        yield from row_groups(every_table(), group_rows)
    # Always yield an (empty) batch, so every raw table exists for dbt and users.
    yield schema.empty_table()
    yield quarantine_item(bad) if quarantine_item else bad
