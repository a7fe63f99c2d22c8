"""Load SaaS parses into `raw_saas`: one table per source, replace-by-day, under the writer lock.

Every table is merged with dlt's `delete-insert` strategy on `delivery_key`
(`<source>|<org>|<day>`, invoices `saas-invoices|<vendor>|<month>`): loading a day deletes the
stored rows of that day and inserts the new ones in one load, so re-pulling a day never
duplicates it and earlier days stay. A snapshot that comes back empty (no seats today) still
clears its day. When one load holds two deliveries of the same key only the later
(`delivery_rank`: file mtime or pull time) is kept, and a delivery older than the one stored for
its key is skipped and counted, never overwriting newer data. Quarantined records and failed
checks go to `raw_saas.quarantine` (checks with line 0). Every table is created even when empty.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dlt
import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from bimo.settings import Settings, get_settings
from bimo.warehouse import connect_with_retry, writer_lock
from ingestion.billing.load import latest_deliveries
from ingestion.load import delivery_resource, finish_interrupted, make_pipeline
from ingestion.quarantine import QUARANTINE_SCHEMA, QUARANTINE_TABLE
from ingestion.saas import SCHEMAS, TABLES
from ingestion.saas.schema import SaasParse

DATASET = "raw_saas"
PIPELINE_NAME = "bimo_saas"


@dataclass
class SourceCounts:
    """One source's records in one load: rows_in = loaded + quarantined + superseded + stale."""

    rows_in: int = 0
    loaded: int = 0
    quarantined: int = 0
    superseded: int = 0  # rows of an older delivery of the same day dropped within this load
    stale: int = 0  # rows of a delivery older than the one already stored for its day
    issues: int = 0  # failed whole-input checks (e.g. Σ seats ≠ total_seats)


@dataclass
class SaasLoadSummary:
    """Counts of one SaaS load, per source, plus the days (delivery keys) it wrote."""

    sources: dict[str, SourceCounts] = field(default_factory=dict)
    deliveries: int = 0  # delivery keys written (days, or vendor months), empty snapshots too
    replaced_deliveries: int = 0  # of which were already stored and got replaced
    issues: list[str] = field(default_factory=list)  # "<source>: <reason>"
    interrupted_loads: int = 0  # packages a stopped run left, finished before this load

    @property
    def rows_in(self) -> int:
        return sum(c.rows_in for c in self.sources.values())

    @property
    def loaded(self) -> int:
        return sum(c.loaded for c in self.sources.values())

    @property
    def quarantined(self) -> int:
        return sum(c.quarantined for c in self.sources.values())


@dlt.source(name="saas", max_table_nesting=0)
def saas_source(tables: dict[str, pa.Table], quarantine: pa.Table):
    """The SaaS tables (merged per delivery key) and the quarantine (every table created)."""
    for name, table in tables.items():
        yield delivery_resource(name, table)
    yield dlt.resource(
        [quarantine],
        name=QUARANTINE_TABLE,
        write_disposition="merge",
        primary_key=["source", "file", "line"],
    )


def load_saas(
    parses: Iterable[SaasParse], *, settings: Settings | None = None, locked: bool = False
) -> SaasLoadSummary:
    """Write parses to `raw_saas` with replace-by-day semantics; returns the counts."""
    settings = settings or get_settings()
    if not locked:
        with writer_lock(settings):
            return load_saas(parses, settings=settings, locked=True)
    parses = list(parses)
    summary = SaasLoadSummary()
    pipeline = make_pipeline(settings, name=PIPELINE_NAME, dataset=DATASET)
    summary.interrupted_loads = finish_interrupted(pipeline)  # before reading stored ranks
    for p in parses:
        counts = summary.sources.setdefault(p.source, SourceCounts())
        counts.rows_in += p.rows_in
        counts.quarantined += len(p.quarantine)
        counts.issues += len(p.issues)
        summary.issues += [f"{p.source}: {i['reason']}" for i in p.issues]
    tables = {name: latest_deliveries(_gather(parses, name, s)) for name, s in SCHEMAS.items()}
    newest = _newest(parses, tables)
    stored = _stored_ranks(settings, set(newest))
    stale = {k for k, rank in newest.items() if k in stored and rank < stored[k]}
    written = _keep_fresh(tables, newest, stale, summary)
    for counts in summary.sources.values():
        counts.superseded = counts.rows_in - counts.loaded - counts.quarantined - counts.stale
    summary.deliveries = len(newest) - len(stale)
    summary.replaced_deliveries = sum(1 for k in newest if k in stored and k not in stale)
    cleared = {k for k in newest if k in stored and k not in stale and k not in written}
    now = datetime.now(UTC)
    bad = [q | {"quarantined_at": now} for p in parses for q in (*p.quarantine, *p.issues)]
    quarantine = pa.Table.from_pylist(bad, schema=QUARANTINE_SCHEMA)
    # Days whose latest snapshot is empty are cleared first: the load writes none of them, so a
    # crash between the two steps leaves every day either at its final state or re-loadable.
    _clear(settings, cleared)
    pipeline.run(saas_source(tables, quarantine))
    return summary


def _gather(parses: list[SaasParse], table: str, schema: pa.Schema) -> pa.Table:
    parts = [p.table.cast(schema) for p in parses if TABLES[p.source] == table]
    return pa.concat_tables(parts) if parts else schema.empty_table()


def _per_source(table: pa.Table) -> Counter[str]:
    return Counter(table["source_system"].to_pylist())


def _newest(parses: list[SaasParse], tables: dict[str, pa.Table]) -> dict[str, int]:
    """The rank of each key's latest delivery in this load; an empty snapshot counts too (it
    says the day holds nothing), so it wins over an older delivery with rows."""
    pairs = [(p.snapshot, p.rank) for p in parses if p.snapshot]
    pairs += [pair for table in tables.values() for pair in _ranks(table)]
    newest: dict[str, int] = {}
    for key, rank in pairs:
        newest[key] = max(newest.get(key, rank), rank)
    return newest


def _keep_fresh(
    tables: dict[str, pa.Table], newest: dict[str, int], stale: set[str], summary: SaasLoadSummary
) -> set[str]:
    """Drop rows of stale keys and of deliveries a later one of this load replaces; count them
    per source. Returns the keys that still have rows."""
    written: set[str] = set()
    stale_keys = pa.array(sorted(stale), pa.string())
    for name, table in tables.items():
        keys, ranks = table["delivery_key"].to_pylist(), _rank_list(table)
        fresh = [k not in stale and r >= newest[k] for k, r in zip(keys, ranks, strict=True)]
        tables[name] = kept = table.filter(pa.array(fresh, type=pa.bool_()))
        written |= set(kept["delivery_key"].to_pylist())
        for source, n in _per_source(kept).items():
            summary.sources[source].loaded += n
        for source, n in _per_source(
            table.filter(pc.is_in(table["delivery_key"], stale_keys))
        ).items():
            summary.sources[source].stale += n
    return written


def _rank_list(table: pa.Table) -> list[int]:
    return [r or 0 for r in table["delivery_rank"].to_pylist()]


def _ranks(table: pa.Table) -> list[tuple[str, int]]:
    """(delivery key, rank) of every row."""
    return list(zip(table["delivery_key"].to_pylist(), _rank_list(table), strict=True))


def _stored_ranks(settings: Settings, keys: set[str]) -> dict[str, int]:
    """The rank of the delivery stored for each of `keys` (absent when nothing is stored)."""
    if not keys or not settings.warehouse.exists():
        return {}
    union = " union all ".join(
        f"select delivery_key, delivery_rank from {DATASET}.{t}" for t in SCHEMAS
    )
    con = connect_with_retry(settings.warehouse)
    try:
        return dict(
            con.execute(
                f"select delivery_key, max(coalesce(delivery_rank, 0)) from ({union}) "
                "where delivery_key in (select unnest(?)) group by 1",
                [sorted(keys)],
            ).fetchall()
        )
    except duckdb.CatalogException:  # raw_saas not created yet: every load creates all tables
        return {}
    finally:
        con.close()


def _clear(settings: Settings, keys: set[str]) -> None:
    """Delete the stored rows of days whose latest snapshot is empty."""
    by_table: dict[str, list[str]] = {}
    for key in sorted(keys):
        by_table.setdefault(TABLES[key.split("|", 1)[0]], []).append(key)
    if not by_table:
        return
    con = connect_with_retry(settings.warehouse)
    try:
        for table, gone in by_table.items():
            sql = f"delete from {DATASET}.{table} where delivery_key in (select unnest(?))"
            con.execute(sql, [gone])
    finally:
        con.close()
