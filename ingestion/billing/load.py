"""Load billing parses into `raw_billing`: replace-by-delivery, atomically, under the writer lock.

Line items and AI usage rows are merged with dlt's `delete-insert` strategy on `delivery_key`:
every stored row of a delivery key is deleted and the new delivery inserted in one load, so a
restated month replaces the month-to-date delivery and totals always equal the latest delivery.
When one load holds two deliveries of the same key, only the highest `delivery_rank` is kept, and
a delivery older than the one already stored for its key (a lower rank: an earlier file mtime or
pull time) is skipped and counted, never allowed to overwrite newer data. API pulls also write
`api_coverage`, the latest delivery to cover each (source, account, day) key, rows or none.
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
    COVERAGE_SCHEMA,
    LINE_ITEM_SCHEMA,
    BillingParse,
)
from ingestion.load import delivery_resource, finish_interrupted, make_pipeline
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
    stale_skipped: int = 0  # rows of deliveries older than the one stored for their key
    api_days: int = 0  # (source, account, day) keys an API pull covered, empty days included
    deliveries: int = 0
    replaced_deliveries: int = 0  # delivery keys that were already stored and got replaced
    files: int = 0
    interrupted_loads: int = 0  # packages a stopped run left, finished before this load
    quarantine_reasons: dict[str, int] = field(default_factory=dict)


def latest_deliveries(table: pa.Table) -> pa.Table:
    """Keep, per delivery_key, only the rows of the latest delivery: a delivery (delivery_id,
    e.g. every part of a multi-part export) ranks by its newest row's delivery_rank."""
    if table.num_rows == 0:
        return table
    frame = pl.from_arrow(table)
    rank = pl.col("delivery_rank").fill_null(0).max().over("delivery_key", "delivery_id")
    ranked = frame.with_columns(rank.alias("__rank__"))
    latest = pl.col("__rank__") == pl.col("__rank__").max().over("delivery_key")
    kept = ranked.filter(latest).drop("__rank__")
    return kept.to_arrow().cast(table.schema)


@dlt.source(name="billing", max_table_nesting=0)
def billing_source(line_items: pa.Table, usage: pa.Table, coverage: pa.Table, quarantine: pa.Table):
    """Billing line items, AI usage, API coverage and quarantined rows (every table created)."""
    yield delivery_resource("line_items", line_items)
    yield delivery_resource("ai_usage", usage)
    yield dlt.resource(
        [coverage], name="api_coverage", write_disposition="merge", primary_key="delivery_key"
    )
    yield dlt.resource(
        [quarantine],
        name="quarantine",
        write_disposition="merge",
        primary_key=["source", "file", "line"],
    )


def _stored_ranks(settings: Settings, keys: set[str]) -> dict[str, int]:
    """The rank of the delivery stored for each of `keys` (absent when nothing is stored)."""
    if not keys or not settings.warehouse.exists():
        return {}
    con = connect_with_retry(settings.warehouse)
    try:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "and table_name in ('line_items', 'ai_usage', 'api_coverage')",
                [DATASET],
            ).fetchall()
        ]
        if not tables:
            return {}
        union = " union all ".join(
            f"select delivery_key, delivery_rank from {DATASET}.{t}" for t in sorted(tables)
        )
        return dict(
            con.execute(
                f"select delivery_key, max(coalesce(delivery_rank, 0)) from ({union}) "
                "where delivery_key in (select unnest(?)) group by 1",
                [sorted(keys)],
            ).fetchall()
        )
    finally:
        con.close()


def _ranks(table: pa.Table) -> dict[str, int]:
    if table.num_rows == 0:
        return {}
    frame = pl.from_arrow(table.select(["delivery_key", "delivery_rank"]))
    ranked = frame.group_by("delivery_key").agg(pl.col("delivery_rank").fill_null(0).max())
    return dict(ranked.iter_rows())


def _without(table: pa.Table, keys: set[str]) -> pa.Table:
    if not keys or table.num_rows == 0:
        return table
    return (
        pl.from_arrow(table)
        .filter(~pl.col("delivery_key").is_in(keys))
        .to_arrow()
        .cast(table.schema)
    )


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
    pipeline = make_pipeline(settings, name=PIPELINE_NAME, dataset=DATASET)
    summary.interrupted_loads = finish_interrupted(pipeline)  # before reading stored ranks
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
    covered = pa.Table.from_pylist([c for p in parses for c in p.coverage], schema=COVERAGE_SCHEMA)
    kept_items, kept_usage = latest_deliveries(items), latest_deliveries(usage)
    kept_coverage = latest_deliveries(covered)
    summary.superseded_in_load = (
        items.num_rows - kept_items.num_rows + usage.num_rows - kept_usage.num_rows
    )
    incoming = {**_ranks(kept_coverage), **_ranks(kept_items), **_ranks(kept_usage)}
    stored = _stored_ranks(settings, set(incoming))
    stale = {k for k, rank in incoming.items() if k in stored and rank < stored[k]}
    fresh_items, fresh_usage = _without(kept_items, stale), _without(kept_usage, stale)
    summary.stale_skipped = (
        kept_items.num_rows - fresh_items.num_rows + kept_usage.num_rows - fresh_usage.num_rows
    )
    summary.rows_in = sum(p.rows_in for p in parses)
    summary.quarantined = len(bad)
    summary.line_items = fresh_items.num_rows
    summary.usage_rows = fresh_usage.num_rows
    summary.deliveries = len(incoming) - len(stale)
    summary.api_days = kept_coverage.num_rows - len(stale & set(_ranks(kept_coverage)))
    summary.replaced_deliveries = sum(1 for k in incoming if k in stored and k not in stale)
    quarantine = pa.Table.from_pylist(bad, schema=QUARANTINE_SCHEMA)
    pipeline.run(
        billing_source(fresh_items, fresh_usage, _without(kept_coverage, stale), quarantine)
    )
    return summary
