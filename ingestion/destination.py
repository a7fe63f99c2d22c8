"""dlt's DuckDB destination with a cheaper dedup in its merge: the one every Bimo load uses.

A `merge` on a primary key keeps one row per key of the load. dlt writes that as
`ROW_NUMBER() OVER (PARTITION BY key)` over every column of the staging table, so DuckDB
partitions whole rows. Here the rows kept are found from the key column alone: for each key,
its smallest `rowid` in the staging table (`min(rowid) … GROUP BY key`), and those rows are
selected. The same keys come out, one row each; of a key's copies the first staged is kept
(dlt keeps an arbitrary one). Measured on the M warehouse's 3.9M gateway rows into an empty
table: 16–20 s with dlt's window, 5–6 s this way, 4.4 s for the insert with no dedup at all
(docs/benchmarks.md, item 13).

Nothing else changes: the destination keeps dlt's type (`dlt.destinations.duckdb`, which its
configuration sections and every pipeline's stored state name), a `dedup_sort` hint still
orders by its column through dlt's own SQL, and tables without a primary key never dedup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlt.destinations import duckdb
from dlt.destinations.impl.duckdb.duck import DuckDbClient
from dlt.destinations.sql_jobs import SqlMergeFollowupJob


class _Merge(SqlMergeFollowupJob):
    @classmethod
    def gen_select_from_dedup_sql(
        cls,
        table_name: str,
        primary_keys: Sequence[str],
        columns: Sequence[str],
        dedup_sort: Any = None,
        condition: str | None = None,
        condition_columns: Sequence[str] | None = None,
        skip_dedup: bool = False,
    ) -> str:
        if skip_dedup or dedup_sort is not None or not primary_keys:
            return super().gen_select_from_dedup_sql(
                table_name,
                primary_keys,
                columns,
                dedup_sort,
                condition,
                condition_columns,
                skip_dedup,
            )
        # The condition reads the table's own columns: no inner select needs to carry them.
        first = f"SELECT min(rowid) FROM {table_name} GROUP BY {', '.join(primary_keys)}"
        return (
            f"SELECT {', '.join(columns)} FROM {table_name} "
            f"WHERE rowid IN ({first}) AND ({condition or '1 = 1'})"
        )


class _Client(DuckDbClient):
    def _create_merge_followup_jobs(self, table_chain):  # type: ignore[no-untyped-def]
        return [_Merge.from_table_chain(table_chain, self.sql_client)]


class BimoDuckDb(duckdb):
    """`dlt.destinations.duckdb`, merging with `_Merge`."""

    @property
    def client_class(self) -> type[DuckDbClient]:
        return _Client

    @property
    def destination_type(self) -> str:
        return "dlt.destinations.duckdb"
