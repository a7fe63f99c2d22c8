"""The dlt source for gateway and CLI logs: Arrow batches in, `raw_gateway.*` tables out.

Each format is one resource merged on `request_id` (re-loading a file adds nothing). Records that
cannot be loaded go to `raw_gateway.quarantine` with source, file, line and reason; the rest of
the file loads. Content fields never reach a batch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import dlt
import pyarrow as pa

from ingestion.dlt_settings import configure_dlt
from ingestion.formats import FORMATS
from ingestion.parse import (
    BATCH_ROWS,
    LINEAGE,
    FormatStats,
    arrow_schema,
    parse_files,
    shared_pool,
)
from ingestion.quarantine import QUARANTINE_SCHEMA, QUARANTINE_TABLE

# Before any source exists: dlt resolves configuration when a source is called, and without
# Bimo's settings it imports Streamlit to look for secrets (`ingestion.dlt_settings`).
configure_dlt()

DATASET = "raw_gateway"
__all__ = [
    "BATCH_ROWS",
    "DATASET",
    "LINEAGE",
    "FormatStats",
    "arrow_schema",
    "gateway_logs",
    "parse_files",
]


def _quarantine_item(rows: list[dict]) -> object:
    table = pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)
    hints = dlt.mark.make_hints(
        table_name=QUARANTINE_TABLE,
        write_disposition="merge",
        primary_key=["source", "file", "line"],
    )
    return dlt.mark.with_hints(table, hints, create_table_variant=True)


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
    pool = shared_pool(files, window=window)  # a day of several formats: parsed side by side
    for source, module in FORMATS.items():
        stats.setdefault(source, FormatStats())
        yield dlt.resource(
            parse_files(
                source,
                files.get(source, []),
                window=window,
                stats=stats[source],
                progress=progress,
                # even when empty, so the quarantine table always exists
                quarantine_item=_quarantine_item,
                pool=pool if files.get(source) else None,
            ),
            name=module.TABLE,
            write_disposition="merge",
            primary_key="request_id",
        )
