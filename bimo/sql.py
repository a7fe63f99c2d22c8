"""Read-only, sandboxed SQL over the warehouse's read copy (`bimo sql`, its prompt, any reader).

Two layers, so that one missed case in either still leaves the other:

* `audit` refuses a statement before it runs, with a message naming what is not allowed. DuckDB's
  own parser classifies it (`extract_statements`, then `json_serialize_sql` for the syntax tree of
  a query): exactly one statement, of type SELECT (which covers WITH, FROM, VALUES, DESCRIBE,
  SHOW and SUMMARIZE), reading no file or URL, calling only read-only table functions.
* `read_connection` opens the read copy read-only with external access disabled, extension
  autoloading off and the configuration locked, so the engine itself refuses file, network,
  ATTACH, INSTALL/LOAD and SET even if the audit let one through.
"""

from __future__ import annotations

import json
import threading

import duckdb
import polars as pl

from bimo.settings import Settings
from bimo.warehouse import read_connection

READ_ONLY = "bimo sql runs read-only queries on the warehouse"
ONE_QUERY = "SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW or SUMMARIZE"
NO_FILES = "bimo sql cannot read or write files or URLs"
# Statement types (as DuckDB's parser names them): what to call each and why it is refused.
REFUSED: dict[str, tuple[str, str]] = {
    "COPY": ("COPY", f"{NO_FILES} (save a result with --format csv|json|parquet --output FILE)"),
    "EXPORT": ("EXPORT DATABASE", NO_FILES),
    "ATTACH": ("ATTACH", "only the warehouse can be queried"),
    "DETACH": ("DETACH", "only the warehouse can be queried"),
    "LOAD": ("INSTALL/LOAD", "extensions cannot be installed or loaded"),
    "PRAGMA": ("PRAGMA", "settings are locked (pragma_* table functions can be queried)"),
    "SET": ("SET", "settings are locked"),
    "VARIABLE_SET": ("SET", "settings are locked"),
    "CREATE": ("CREATE", READ_ONLY),
    "INSERT": ("INSERT", READ_ONLY),
    "UPDATE": ("UPDATE", READ_ONLY),
    "DELETE": ("DELETE", READ_ONLY),
    "DROP": ("DROP", READ_ONLY),
    "ALTER": ("ALTER", READ_ONLY),
    "MERGE_INTO": ("MERGE", READ_ONLY),
    "VACUUM": ("VACUUM/ANALYZE", READ_ONLY),
    "TRANSACTION": ("BEGIN/COMMIT/ROLLBACK", "each query runs on its own"),
    "CALL": ("CALL", f"only {ONE_QUERY} (read-only table functions go in FROM)"),
    "MULTI": ("PIVOT without IN (…) inside a query", "it runs as several statements"),
}
# Statements DuckDB's parser types as PRAGMA, named by what was typed.
PRAGMA_KEYWORDS = {"IMPORT": ("IMPORT DATABASE", NO_FILES), "COPY": REFUSED["COPY"]}
# Types named by the keyword typed: INSTALL, RESET, USE, TRUNCATE, CHECKPOINT, ANALYZE, …
KEYWORD_TYPES = {"LOAD", "SET", "TRANSACTION", "VACUUM", "DELETE", "CALL"}
# Table functions that only read the catalog or generate rows; every other one is refused
# (file readers, glob, query(), checkpoint(), logging and profiling switches, secrets, …).
TABLE_FUNCTIONS = {
    *("range", "generate_series", "unnest", "repeat", "repeat_row", "json_each", "json_tree"),
    *("summary", "icu_calendar_names", "pg_timezone_names", "duckdb_columns"),
    *("duckdb_constraints", "duckdb_databases", "duckdb_dependencies", "duckdb_functions"),
    *("duckdb_indexes", "duckdb_keywords", "duckdb_schemas", "duckdb_sequences"),
    *("duckdb_settings", "duckdb_tables", "duckdb_types", "duckdb_views", "duckdb_variables"),
    *("pragma_table_info", "pragma_show", "pragma_database_size", "pragma_version"),
    *("pragma_platform", "pragma_collations", "pragma_storage_info", "pragma_metadata_info"),
}
FILE_FUNCTIONS = {"glob", "sniff_csv", "read_duckdb"}
OTHER_FUNCTIONS = {"query", "query_table", "json_execute_serialized_sql", "getenv"}


class QueryError(RuntimeError):
    """A query that failed, was refused or ran out of time; the message says which."""


def run_query(
    settings: Settings, sql: str, *, limit: int = 10_000, timeout_s: float = 60
) -> pl.DataFrame:
    """Run one audited query on the read copy: at most `limit` rows and `timeout_s` seconds."""
    audit(sql)
    con = read_connection(settings)
    if con is None:
        raise QueryError(
            f"no warehouse published at {settings.snapshot}; run `make demo` or `bimo load` first"
        )
    timer = threading.Timer(timeout_s, con.interrupt)
    timer.start()
    try:
        rel = con.sql(sql)
        if rel is None:
            raise QueryError(f"the statement returned no rows (only {ONE_QUERY} is allowed)")
        return rel.limit(limit).pl()
    except QueryError:
        raise
    except Exception as exc:
        if "INTERRUPT" in str(exc).upper():
            raise QueryError(f"query stopped after the {timeout_s:.0f}s time limit") from None
        raise QueryError(str(exc).splitlines()[0]) from None
    finally:
        timer.cancel()
        con.close()


def audit(sql: str) -> None:
    """Raise `QueryError` naming what is not allowed, unless `sql` is one read-only query."""
    parser = duckdb.connect(config={"enable_external_access": False})
    try:
        try:
            statements = parser.extract_statements(sql)
        except duckdb.Error as exc:
            raise QueryError(str(exc).splitlines()[0]) from None
        if not statements:
            raise QueryError("empty query")
        if len(statements) > 1:
            raise QueryError(
                f"multiple statements are not allowed ({len(statements)} found): run one query"
            )
        statement = statements[0]
        try:
            kind = statement.type.name
        except ValueError:  # a type the Python binding cannot name (UPDATE EXTENSIONS)
            kind = "UNKNOWN"
        if kind != "SELECT":
            name, why = REFUSED.get(kind, (_keyword(statement.query), f"only {ONE_QUERY}"))
            if kind == "PRAGMA":
                name, why = PRAGMA_KEYWORDS.get(_keyword(statement.query), (name, why))
            elif kind in KEYWORD_TYPES:
                name = _keyword(statement.query)
            elif kind == "UNKNOWN":
                name = _keyword(statement.query, 2)
            raise QueryError(f"{name} is not allowed: {why}")
        tree = json.loads(
            parser.execute("select json_serialize_sql(?::varchar)", [statement.query]).fetchone()[0]
        )
    finally:
        parser.close()
    if tree.get("error"):
        raise QueryError(f"the query could not be checked: {tree.get('error_message')}")
    _check_tree(tree)


def _keyword(sql: str, words: int = 1) -> str:
    """The statement's leading keyword(s) as typed: INSTALL, FORCE INSTALL, RESET, USE, …"""
    typed = sql.split()
    n = 2 if typed and typed[0].upper() == "FORCE" else words
    return " ".join(typed[:n]).upper() or "statement"


def _check_tree(node: object) -> None:
    """Walk a serialized query: refuse file/URL scans and non-read-only functions."""
    if isinstance(node, list):
        for item in node:
            _check_tree(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "BASE_TABLE" and _looks_like_file(node.get("table_name", "")):
        raise QueryError(
            f"reading the file or URL '{node['table_name']}' is not allowed: {NO_FILES}"
        )
    if node.get("type") == "TABLE_FUNCTION":
        name = _function_name(node.get("function"))
        if name and name not in TABLE_FUNCTIONS:
            raise QueryError(f"{name}() is not allowed: {_why(name)}")
    name = node.get("function_name")
    if isinstance(name, str) and _refused_function(name.lower()):
        raise QueryError(f"{name.lower()}() is not allowed: {_why(name.lower())}")
    for value in node.values():
        _check_tree(value)


def _function_name(node: object) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("function_name"), str):
        return node["function_name"].lower()
    return None


def _refused_function(name: str) -> bool:
    return _file_function(name) or name in OTHER_FUNCTIONS


def _file_function(name: str) -> bool:
    return (
        name.startswith(("read_", "parquet_", "st_read"))
        or name.endswith("_scan")
        or name in FILE_FUNCTIONS
    )


def _why(name: str) -> str:
    if _file_function(name):
        return NO_FILES
    if name in OTHER_FUNCTIONS:
        return "it runs SQL or reads names that cannot be checked; query the tables directly"
    return "only the warehouse's tables and read-only table functions (range, unnest, …)"


def _looks_like_file(name: str) -> bool:
    """A quoted table name that DuckDB would resolve as a file or URL (a replacement scan)."""
    return any(c in name for c in "/\\:~*") or "." in name
