"""Load billing parses into `raw_billing`: replace-by-delivery, atomically, under the writer lock.

Line items and AI usage rows are merged with dlt's `delete-insert` strategy on `delivery_key`:
every stored row of a delivery key is deleted and the new delivery inserted in one load, so a
restated month replaces the month-to-date delivery and totals always equal the latest delivery.
When one load holds two deliveries of the same key, only the highest `delivery_rank` is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dlt
import polars as pl
import pyarrow as pa

from bimo.settings import Settings, get_settings
from bimo.warehouse import connect_with_retry, writer_lock
from ingestion.billing.schema import (
    AI_USAGE_SCHEMA,
    LINE_ITEM_SCHEMA,
    BillingParse,
)
from ingestion.load import make_pipeline
from ingestion.quarantine import QUARANTINE_SCHEMA

DATASET = "raw_billing"
PIPELINE_NAME = "bimo_billing"


@dataclass
class BillingLoadSummary:
    """Counts of one billing load."""

    rows_in: int = 0
    line_items: int = 0
    usage_rows: int = 0
    quarantined: int = 0
    superseded_in_load: int = 0  # rows of an older delivery dropped because a later one came too
    deliveries: int = 0
    replaced_deliveries: int = 0  # delivery keys that were already stored and got replaced
    files: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)


def latest_deliveries(table: pa.Table) -> pa.Table:
    """Keep, per delivery_key, only the rows of the highest delivery_rank."""
    if table.num_rows == 0:
        return table
    frame = pl.from_arrow(table)
    rank = pl.col("delivery_rank").fill_null(0)
    kept = frame.filter(rank == rank.max().over("delivery_key"))
    return kept.to_arrow().cast(table.schema)


def _merge(name: str, table: pa.Table):
    return dlt.resource(
        [table],
        name=name,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        merge_key="delivery_key",
    )


@dlt.source(name="billing", max_table_nesting=0)
def billing_source(line_items: pa.Table, usage: pa.Table, quarantine: pa.Table):
    """Billing line items, AI usage and quarantined rows (every table always created)."""
    yield _merge("line_items", line_items)
    yield _merge("ai_usage", usage)
    yield dlt.resource(
        [quarantine],
        name="quarantine",
        write_disposition="merge",
        primary_key=["source", "file", "line"],
    )


def _stored_keys(settings: Settings, keys: set[str]) -> int:
    if not keys or not settings.warehouse.exists():
        return 0
    con = connect_with_retry(settings.warehouse)
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name in ('line_items', 'ai_usage')",
            [DATASET],
        ).fetchone()[0]
        if exists < 2:
            return 0
        return con.execute(
            "select count(distinct delivery_key) from ("
            f"select delivery_key from {DATASET}.line_items union all "
            f"select delivery_key from {DATASET}.ai_usage) "
            "where delivery_key in (select unnest(?))",
            [sorted(keys)],
        ).fetchone()[0]
    finally:
        con.close()


def load_billing(
    parses: Iterable[BillingParse], *, settings: Settings | None = None, locked: bool = False
) -> BillingLoadSummary:
    """Write parses to `raw_billing` with replace-by-delivery semantics; returns the counts."""
    settings = settings or get_settings()
    if not locked:
        with writer_lock(settings):
            return load_billing(parses, settings=settings, locked=True)
    parses = list(parses)
    summary = BillingLoadSummary(files=len(parses))
    now = datetime.now(UTC)
    items = (
        pa.concat_tables([p.line_items.cast(LINE_ITEM_SCHEMA) for p in parses])
        if parses
        else (LINE_ITEM_SCHEMA.empty_table())
    )
    usages = [p.usage.cast(AI_USAGE_SCHEMA) for p in parses if p.usage is not None]
    usage = pa.concat_tables(usages) if usages else AI_USAGE_SCHEMA.empty_table()
    bad = [{**q, "quarantined_at": now} for p in parses for q in p.quarantine]
    for q in bad:
        reason = str(q["reason"]).split(":")[0][:80]
        summary.quarantine_reasons[reason] = summary.quarantine_reasons.get(reason, 0) + 1
    kept_items, kept_usage = latest_deliveries(items), latest_deliveries(usage)
    summary.rows_in = sum(p.rows_in for p in parses)
    summary.quarantined = len(bad)
    summary.line_items = kept_items.num_rows
    summary.usage_rows = kept_usage.num_rows
    summary.superseded_in_load = (
        items.num_rows - kept_items.num_rows + usage.num_rows - kept_usage.num_rows
    )
    keys = set(kept_items.column("delivery_key").to_pylist()) | set(
        kept_usage.column("delivery_key").to_pylist()
    )
    summary.deliveries = len(keys)
    summary.replaced_deliveries = _stored_keys(settings, keys)
    quarantine = pa.Table.from_pylist(bad, schema=QUARANTINE_SCHEMA)
    make_pipeline(settings, name=PIPELINE_NAME, dataset=DATASET).run(
        billing_source(kept_items, kept_usage, quarantine)
    )
    return summary
