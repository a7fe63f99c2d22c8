"""How each source is doing, read from the published read copy (never the writer lock):
rows, quarantined rows, newest data date, last load and freshness lag (`bimo status`), and the
quarantined records with their reasons (`bimo quarantine`).

Freshness: a source is *stale* when `as_of − newest data date` exceeds its expected lag. Defaults
per kind (`EXPECTED_LAG_DAYS`) are overridden by `BIMO_EXPECTED_LAG` and then by the command's
`--expected-lag`, both `KEY=DAYS[,KEY=DAYS…]` where KEY is a kind or a source name. A source
with no rows is *not loaded*, never stale.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from bimo.settings import Settings

if TYPE_CHECKING:  # imported when used: `bimo --help` reads this module's catalogue only
    import duckdb
    import polars as pl

# kind → expected lag in days: logs arrive continuously; exports and cost APIs settle after a day
# or two; SaaS snapshots are daily; a month's invoice arrives some days after the month ends
# (its newest date is the month's last day).
EXPECTED_LAG_DAYS = {"gateway": 1, "export": 2, "api": 2, "saas": 2, "invoice": 40}
# sources slower than their kind: developer CLI logs are synced every few days; Zoom's daily
# usage report is pulled for a month at a time.
SOURCE_LAG_DAYS = {"cli-log": 3, "zoom-daily-report": 35}
KIND_LABELS = {"gateway": "gateway", "export": "export", "api": "API", "saas": "SaaS",
               "invoice": "invoices"}  # fmt: skip
LAG_ENV = "BIMO_EXPECTED_LAG"
DATASETS = ("raw_gateway", "raw_billing", "raw_saas")


@dataclass(frozen=True)
class Source:
    """Where a source's rows live and which column dates them."""

    name: str
    kind: str
    dataset: str
    table: str
    day_sql: str  # each row's data date
    loaded_sql: str = "make_timestamp(max(delivery_rank))"  # delivery: file time or API pull
    filtered: bool = True  # the table holds several sources (filter on source_system)
    coverage: bool = False  # API pulls: raw_billing.api_coverage also records empty days
    newest_sql: str | None = None  # the newest data date, when cheaper than max(day_sql)

    @property
    def date_sql(self) -> str:
        """SQL: the newest data date over the source's rows."""
        return self.newest_sql or f"max({self.day_sql})"


def utc_day(column: str) -> str:
    """SQL: the UTC calendar date of a timestamptz whatever the session time zone, by integer
    arithmetic on its epoch microseconds (about 10× faster per row than `timezone('UTC', …)`);
    the same expression as dbt's `utc_date` macro."""
    days = f"cast(floor(epoch_us({column}) / 86400000000) as integer)"
    return f"cast(date '1970-01-01' + {days} as date)"


def _gateway(name: str, table: str, column: str) -> Source:
    return Source(
        name, "gateway", "raw_gateway", table, utc_day(column), loaded_sql="max(_loaded_at)",
        filtered=False, newest_sql=utc_day(f"max({column})"),
    )  # fmt: skip


CHARGE_DAY = utc_day("charge_period_start")
SOURCES: tuple[Source, ...] = (
    _gateway("bimo-gateway", "bimo_gateway_requests", "started_at"),
    _gateway("litellm", "litellm_spend_logs", "start_time"),
    _gateway("otel-genai", "otel_genai_spans", "start_time"),
    _gateway("cli-log", "cli_log_usage", "occurred_at"),
    *(
        Source(name, "export", "raw_billing", "line_items", CHARGE_DAY)
        for name in ("focus", "aws-cur", "azure", "gcp", "oci")
    ),
    Source("openai-costs", "api", "raw_billing", "line_items", CHARGE_DAY, coverage=True),
    Source("openai-usage", "api", "raw_billing", "ai_usage", "usage_date", coverage=True),
    Source("anthropic-costs", "api", "raw_billing", "line_items", CHARGE_DAY, coverage=True),
    Source("anthropic-usage", "api", "raw_billing", "ai_usage", "usage_date", coverage=True),
    Source("github-copilot-seats", "saas", "raw_saas", "copilot_seats", "as_of_date"),
    Source("github-copilot-billing", "saas", "raw_saas", "copilot_billing", "as_of_date"),
    Source("github-billing-usage", "saas", "raw_saas", "github_billing_usage", "usage_date"),
    Source("slack-billable", "saas", "raw_saas", "slack_billable", "as_of_date"),
    Source("zoom-users", "saas", "raw_saas", "zoom_users", "as_of_date"),
    Source("zoom-daily-report", "saas", "raw_saas", "zoom_daily_report", "report_date"),
    Source("saas-invoices", "invoice", "raw_saas", "invoices", "last_day(period_start)"),
)
SOURCE_NAMES = tuple(s.name for s in SOURCES)


class NoWarehouseError(RuntimeError):
    """Nothing is published yet."""


def expected_lags(overrides: list[str] | None = None) -> dict[str, int]:
    """Expected lag in days per source: defaults by kind, then `BIMO_EXPECTED_LAG`, then
    `overrides` (each `KEY=DAYS`, KEY a kind or a source); a source setting beats its kind's."""
    pairs = [p for p in os.environ.get(LAG_ENV, "").split(",") if p.strip()]
    for item in overrides or []:
        pairs += [p for p in item.split(",") if p.strip()]
    by_kind, by_source = dict(EXPECTED_LAG_DAYS), dict(SOURCE_LAG_DAYS)
    for pair in pairs:
        key, sep, days = pair.partition("=")
        key = key.strip()
        if not sep or not days.strip().isdigit():
            raise ValueError(f"expected lag {pair.strip()!r}: write KEY=DAYS, e.g. export=3")
        if key in by_kind:
            by_kind[key] = int(days)
            by_source = {s: d for s, d in by_source.items() if _kind(s) != key}
        elif key in SOURCE_NAMES:
            by_source[key] = int(days)
        else:
            keys = ", ".join([*EXPECTED_LAG_DAYS, "or a source name"])
            raise ValueError(f"expected lag {pair.strip()!r}: unknown key {key!r} (use {keys})")
    return {s.name: by_source.get(s.name, by_kind[s.kind]) for s in SOURCES}


def _kind(name: str) -> str:
    return next(s.kind for s in SOURCES if s.name == name)


def table_lag_days(dataset: str, table: str) -> int | None:
    """The expected lag of a raw table: the largest of its sources' (None: no source writes it).
    The Dagster `data_freshness` check uses it, so it agrees with `bimo status`."""
    lags = expected_lags()
    found = [lags[s.name] for s in SOURCES if (s.dataset, s.table) == (dataset, table)]
    return max(found, default=None)


def source_status(
    settings: Settings, *, as_of: date | None = None, overrides: list[str] | None = None
) -> list[dict]:
    """One record per source (see the module docstring); raises `NoWarehouseError`."""
    from bimo.warehouse import read_connection

    lags = expected_lags(overrides)
    as_of = as_of or datetime.now(UTC).date()
    con = read_connection(settings)
    if con is None:
        raise NoWarehouseError(f"no warehouse published at {settings.snapshot}")
    try:
        tables = _tables(con)
        quarantined = _quarantine_counts(con, tables)
        return [
            _status(con, s, tables, quarantined.get(s.name, 0), as_of, lags[s.name])
            for s in SOURCES
        ]
    finally:
        con.close()


def _status(con, source: Source, tables, quarantined: int, as_of: date, expected: int) -> dict:
    rows, newest, loaded = 0, None, None
    if f"{source.dataset}.{source.table}" in tables:
        where = "where source_system = ?" if source.filtered else ""
        params = [source.name] if source.filtered else []
        rows, newest, loaded = con.execute(
            f"select count(*), {source.date_sql}, {source.loaded_sql} "
            f"from {source.dataset}.{source.table} {where}",
            params,
        ).fetchone()
    if source.coverage and "raw_billing.api_coverage" in tables:
        covered, covered_at = con.execute(
            "select max(usage_date), make_timestamp(max(delivery_rank)) "
            "from raw_billing.api_coverage where source_system = ?",
            [source.name],
        ).fetchone()
        newest = max(filter(None, (newest, covered)), default=None)
        loaded = max(filter(None, (loaded, covered_at)), default=None)
    pulled = source.coverage and newest is not None
    lag = (as_of - newest).days if newest else None
    if not rows and not pulled:
        status = "not loaded"
    elif lag is None or lag > expected:
        status = "stale"
    else:
        status = "fresh"
    return {
        "source": source.name,
        "kind": source.kind,
        "table": f"{source.dataset}.{source.table}",
        "status": status,
        "rows": rows,
        "quarantined": quarantined,
        "newest_data_date": newest.isoformat() if newest else None,
        "lag_days": lag,
        "expected_lag_days": expected,
        "last_load_at": _iso(loaded),
        "last_load_basis": "loaded_at" if source.kind == "gateway" else "delivery",
    }


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # make_timestamp gives UTC wall time
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{s}.{t}"
        for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (?, ?, ?)",
            list(DATASETS),
        ).fetchall()
    }


def _quarantine_sql(tables: set[str]) -> str | None:
    parts = [
        f"select '{ds}' as dataset, source, file, line, reason, quarantined_at from {ds}.quarantine"
        for ds in DATASETS
        if f"{ds}.quarantine" in tables
    ]
    return " union all ".join(parts) or None


def _quarantine_counts(con, tables: set[str]) -> dict[str, int]:
    sql = _quarantine_sql(tables)
    if sql is None:
        return {}
    return dict(con.execute(f"select source, count(*) from ({sql}) group by 1").fetchall())


def quarantine_report(
    settings: Settings, *, source: str | None = None, limit: int = 20
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows per source and reason, most common first; the `limit` latest quarantined records
    with file and line), optionally for one source; raises `NoWarehouseError`."""
    import polars as pl

    from bimo.warehouse import read_connection

    con = read_connection(settings)
    if con is None:
        raise NoWarehouseError(f"no warehouse published at {settings.snapshot}")
    try:
        sql = _quarantine_sql(_tables(con))
        if sql is None:
            return pl.DataFrame(), pl.DataFrame()
        where, params = ("where source = ?", [source]) if source else ("", [])
        counts = con.sql(
            f"select source, reason, count(*) as rows, max(quarantined_at) as last_seen "
            f"from ({sql}) {where} group by all order by rows desc, source, reason",
            params=params,
        ).pl()
        examples = con.sql(
            f"select source, file, line, reason, quarantined_at from ({sql}) {where} "
            f"order by quarantined_at desc, source, file, line limit {int(limit)}",
            params=params,
        ).pl()
        return counts, examples
    finally:
        con.close()


ROWS_PER_DAY_TABLE = "health.source_rows_daily"
"""Rows per source and day in the raw tables, rewritten at every publish (`refresh_rows_per_day`)
so the read copy always holds the counts of its own raw tables."""


def rows_per_day_sql(tables: set[str]) -> str | None:
    """SQL: one row per (source, day) with the day's raw rows, plus the days an API pull covered
    with no rows (`covered_empty`); None when no raw table exists."""
    parts = []
    for source in SOURCES:
        table = f"{source.dataset}.{source.table}"
        if table in tables:
            where = f"where source_system = '{source.name}'" if source.filtered else ""
            parts.append(
                f"select '{source.name}' as source, {source.day_sql} as day, count(*) as rows "
                f"from {table} {where} group by all"
            )
    if "raw_billing.api_coverage" in tables:
        parts.append(
            "select source_system as source, usage_date as day, 0 as rows "
            "from raw_billing.api_coverage"
        )
    if not parts:
        return None
    return (
        "select source, day, sum(rows) as rows, sum(rows) = 0 as covered_empty "
        f"from ({' union all '.join(parts)}) group by all"
    )


def refresh_rows_per_day(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite `ROWS_PER_DAY_TABLE` from the raw tables (called under the writer lock)."""
    sql = rows_per_day_sql(_tables(con))
    if sql is None:
        return
    schema = ROWS_PER_DAY_TABLE.split(".")[0]
    con.execute(f"create schema if not exists {schema}")
    con.execute(f"create or replace table {ROWS_PER_DAY_TABLE} as {sql} order by source, day")
