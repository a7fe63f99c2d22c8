"""Table shapes of `raw_saas`: the lineage every row carries and what one parse returns.

`delivery_key` names what a load replaces: `<source>|<org>|<as_of_date>` for a snapshot (seats,
billable users, licensed users), `<source>|<org>|<usage date>` for dated usage rows and
`saas-invoices|<vendor>|<YYYY-MM>` for invoices. Loading deletes every stored row of each key it
brings and inserts the new rows in one load, so a re-pull replaces that day and earlier days stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from ingestion.billing.schema import MONEY, TS

__all__ = ["MONEY", "TS", "SaasParse", "api_schema", "table_schema"]

LINEAGE_COLUMNS: dict[str, pa.DataType] = {
    "source_system": pa.string(),  # the source name, e.g. github-copilot-seats
    "delivery_key": pa.string(),  # what a load replaces (see the module docstring)
    "delivery_id": pa.string(),  # saved file name or `<source>@<pull time>`
    "delivery_rank": pa.int64(),  # file mtime / pull time in µs: the later delivery wins
    "_source_file": pa.string(),  # saved file path, or the request URL of the page (no token)
    "_source_line": pa.int64(),  # 1-based position of the record in its input
}
API_COLUMNS: dict[str, pa.DataType] = {
    "org": pa.string(),  # GitHub organisation, Slack team id, Zoom account label, or 'default'
    "as_of_date": pa.date32(),  # the day the snapshot describes (pull day or file date)
    "_source_page": pa.int64(),  # 1-based page number within the pull or file
}


def table_schema(columns: dict[str, pa.DataType]) -> pa.Schema:
    """Lineage columns then `columns`; only the source and delivery key are NOT NULL."""
    return pa.schema(
        pa.field(n, t, nullable=n not in ("source_system", "delivery_key"))
        for n, t in (LINEAGE_COLUMNS | columns).items()
    )


def api_schema(columns: dict[str, pa.DataType]) -> pa.Schema:
    """The schema of an API table: lineage, org / as-of / page, then `columns`."""
    return table_schema(API_COLUMNS | columns)


@dataclass
class SaasParse:
    """One parsed input (a saved file or one live pull) of one source.

    `rows_in` counts records: every seat / user / usage item / CSV data row, and a page or file
    that could not be read at all as one. Every record is either a row of `table` or a
    `quarantine` entry, so `table.num_rows + len(quarantine) == rows_in`. `issues` are checks on
    the whole input that failed (a seat count that disagrees with `total_seats`); its rows still
    load, and the issue is written to the quarantine table with line 0. `snapshot` is the
    delivery key of a snapshot the input describes in full (at least one page read), so that
    loading it replaces the stored day even when it holds no rows; `rank` orders it."""

    source: str
    table: pa.Table
    quarantine: list[dict] = field(default_factory=list)  # {source, file, line, reason}
    issues: list[dict] = field(default_factory=list)  # same shape, line 0
    rows_in: int = 0
    snapshot: str | None = None
    rank: int = 0
