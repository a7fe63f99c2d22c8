"""Read-only, sandboxed SQL over the warehouse's read copy (`bimo sql`)."""

from __future__ import annotations

import threading

import polars as pl

from bimo.settings import Settings
from bimo.warehouse import read_connection


class QueryError(RuntimeError):
    """A query that failed, was refused or ran out of time; the message says which."""


def run_query(
    settings: Settings, sql: str, *, limit: int = 10_000, timeout_s: float = 60
) -> pl.DataFrame:
    """Run one query with no file/network access, at most `limit` rows and `timeout_s` seconds."""
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
            raise QueryError("the statement returned no rows (only queries are allowed)")
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
