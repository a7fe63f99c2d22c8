"""The dlt source for gateway and CLI logs: Arrow batches in, `raw_gateway.*` tables out.

Each format is one resource merged on `request_id` (re-loading a file adds nothing). Records that
cannot be loaded go to `raw_gateway.quarantine` with source, file, line and reason; the rest of
the file loads. Content fields never reach a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import dlt
import pyarrow as pa

from ingestion.formats import FORMATS
from ingestion.formats.common import BadRecord
from ingestion.formats.skip import Skip
from ingestion.quarantine import QUARANTINE_SCHEMA, QUARANTINE_TABLE
from ingestion.readers import BadJson, iter_records

DATASET = "raw_gateway"
BATCH_ROWS = 50_000
LINEAGE: dict[str, pa.DataType] = {
    "_source_file": pa.string(),
    "_source_line": pa.int64(),
    "_loaded_at": pa.timestamp("us", tz="UTC"),
}


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


def arrow_schema(module: ModuleType) -> pa.Schema:
    """The Arrow schema of a format's raw table (request_id is the non-null key)."""
    cols = {**module.COLUMNS, **LINEAGE}
    return pa.schema([pa.field(n, t, nullable=n != "request_id") for n, t in cols.items()])


def _quarantine_item(rows: list[dict]) -> object:
    table = pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)
    hints = dlt.mark.make_hints(
        table_name=QUARANTINE_TABLE,
        write_disposition="merge",
        primary_key=["source", "file", "line"],
    )
    return dlt.mark.with_hints(table, hints, create_table_variant=True)


def parse_files(
    source: str,
    files: Iterable[Path],
    *,
    window: tuple[datetime, datetime] | None = None,
    stats: FormatStats | None = None,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[Path], None] | None = None,
) -> Iterator[object]:
    """Yield Arrow tables of parsed rows (and quarantine tables) for the files of one format.

    `window` keeps only requests whose start time is in [start, end).
    """
    module = FORMATS[source]
    schema = arrow_schema(module)
    stats = stats if stats is not None else FormatStats()
    loaded_at = datetime.now(UTC)
    rows: list[dict] = []
    bad: list[dict] = []
    for path in files:
        stats.files += 1
        name = str(path)

        def quarantine(pos: int, reason: str, name: str = name) -> None:
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

        for pos, rec in iter_records(path):
            stats.records += 1
            if isinstance(rec, BadJson):
                quarantine(pos, rec.reason)
                continue
            if not isinstance(rec, dict):
                quarantine(pos, f"record is a JSON {type(rec).__name__}, not an object")
                continue
            reasons = []  # one quarantine row per record (its key is source, file, line)
            for out in module.parse(rec):
                if isinstance(out, BadRecord):
                    reasons.append(str(out))
                elif isinstance(out, Skip):
                    stats.skipped += 1
                    stats.skip_reasons[out.why] = stats.skip_reasons.get(out.why, 0) + 1
                elif window and not (window[0] <= out[module.TIME_COLUMN] < window[1]):
                    stats.out_of_window += 1
                else:
                    out["_source_file"], out["_source_line"], out["_loaded_at"] = (
                        name,
                        pos,
                        loaded_at,
                    )
                    rows.append(out)
            if reasons:  # e.g. two bad spans of one OTel export request: both reasons kept
                many = f"{len(reasons)} bad items: " if len(reasons) > 1 else ""
                quarantine(pos, many + "; ".join(reasons))
            if len(rows) >= batch_rows:
                stats.rows += len(rows)
                yield pa.Table.from_pylist(rows, schema=schema)
                rows = []
        if progress:
            progress(path)
    stats.rows += len(rows)
    # Always yield (possibly empty) batches so every raw table exists for dbt and users.
    yield pa.Table.from_pylist(rows, schema=schema)
    yield _quarantine_item(bad)  # even when empty, so the quarantine table always exists


@dlt.source(name="gateway_logs", max_table_nesting=0)
def gateway_logs(
    files: dict[str, list[Path]] | None = None,
    window: tuple[datetime, datetime] | None = None,
    stats: dict[str, FormatStats] | None = None,
    progress: Callable[[Path], None] | None = None,
):
    """AI-gateway (prod) and CLI (dev) request logs; one resource per format."""
    files = files or {}
    stats = stats if stats is not None else {}
    for source, module in FORMATS.items():
        stats.setdefault(source, FormatStats())
        yield dlt.resource(
            parse_files(
                source, files.get(source, []), window=window, stats=stats[source], progress=progress
            ),
            name=module.TABLE,
            write_disposition="merge",
            primary_key="request_id",
        )
