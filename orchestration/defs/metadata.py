"""Materialisation metadata any asset can attach: row count, the date range of the data and a
small preview of the rows, read from the warehouse in two cheap queries."""

import datetime as dt

import dagster as dg
import duckdb

PREVIEW_ROWS = 5
PREVIEW_COLUMNS = 20
CELL_CHARS = 40


def date_columns(con: duckdb.DuckDBPyConnection, schemas: list[str]) -> dict[tuple[str, str], str]:
    """The date column of every table and view in `schemas`: its first DATE column, else its
    first TIMESTAMP column (one information_schema query for all of them)."""
    if not schemas:
        return {}
    rows = con.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        f"where table_schema in ({', '.join('?' * len(schemas))}) "
        "and (data_type = 'DATE' or data_type like 'TIMESTAMP%') "
        "order by table_schema, table_name, data_type != 'DATE', ordinal_position",
        schemas,
    ).fetchall()
    found: dict[tuple[str, str], str] = {}
    for schema, table, column, _type in rows:
        found.setdefault((schema, table), column)
    return found


def table_metadata(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    *,
    date_column: str | None = None,
    preview_rows: int = PREVIEW_ROWS,
) -> dict[str, dg.MetadataValue]:
    """`dagster/row_count`, the first and last day of `date_column` (when given) and a markdown
    preview of `preview_rows` rows of `relation` (a quoted or plain `schema.table`)."""
    span = f'min("{date_column}"), max("{date_column}")' if date_column else "null, null"
    count, first, last = con.execute(f"select count(*), {span} from {relation}").fetchall()[0]
    meta: dict[str, dg.MetadataValue] = {"dagster/row_count": dg.MetadataValue.int(count)}
    if date_column:
        meta["date_column"] = dg.MetadataValue.text(date_column)
        meta["first_day"] = dg.MetadataValue.text(_day(first))
        meta["last_day"] = dg.MetadataValue.text(_day(last))
    if preview_rows and count:
        rel = con.sql(f"select * from {relation} limit {int(preview_rows)}")
        meta["preview"] = dg.MetadataValue.md(preview_markdown(rel.columns, rel.fetchall()))
    return meta


def preview_markdown(columns: list[str], rows: list[tuple]) -> str:
    """A markdown table of `rows` (the first PREVIEW_COLUMNS columns, long cells shortened)."""
    shown = columns[:PREVIEW_COLUMNS]
    lines = [
        "| " + " | ".join(shown) + " |",
        "|" + "---|" * len(shown),
        *("| " + " | ".join(_cell(v) for v in row[: len(shown)]) + " |" for row in rows),
    ]
    if len(columns) > len(shown):
        lines.append(f"\n…and {len(columns) - len(shown)} more columns")
    return "\n".join(lines)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def _day(value: object) -> str:
    if isinstance(value, dt.datetime) and value.tzinfo:
        value = value.astimezone(dt.UTC)
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat() if isinstance(value, dt.date) else ""
