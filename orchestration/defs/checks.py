"""Asset checks on the raw tables, one check op per dataset (run after the loads that feed it):

* `row_volume` — the latest complete day has fewer rows than the trailing average (median) of
  daily rows — of the same weekday when the window holds two — by more than
  BIMO_VOLUME_DROP_PCT % (default 50; window BIMO_VOLUME_TRAILING_DAYS, default 28);
* `data_freshness` — the newest row's day is older than the table's expected lag (its
  sources' expected lags in `bimo.source_health`, as `bimo status` uses them);
* `quarantined_rows` — records sent to `<dataset>.quarantine` by the last load (and in total).

All warn (severity WARN) and never block. dbt tests are checks too (see `dbt.py`); the load
recency of each raw table is a Dagster FreshnessPolicy (see `automation.py`).
"""

import os
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import duckdb

from bimo.settings import get_settings
from bimo.source_health import table_lag_days, utc_day
from bimo.warehouse import connect_with_retry, writer_lock
from ingestion.formats import FORMATS
from ingestion.saas import TABLES as SAAS_TABLES

VOLUME, FRESHNESS, QUARANTINE = "row_volume", "data_freshness", "quarantined_rows"
MIN_HISTORY_DAYS = 3
WARN = dg.AssetCheckSeverity.WARN


@dataclass(frozen=True)
class RawTable:
    """A raw table and how its checks read it."""

    dataset: str
    table: str
    day: str  # SQL expression: the UTC day a row describes
    volume: bool = True  # one row set per day, so daily counts are comparable
    provisional_days: int = 0  # trailing days still being delivered (not judged for volume)
    quarantine: str | None = None  # SQL predicate: this table's rows in <dataset>.quarantine

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey([self.dataset, self.table])

    @property
    def relation(self) -> str:
        return f'"{self.dataset}"."{self.table}"'

    @property
    def checks(self) -> list[str]:
        return [
            *([VOLUME] if self.volume else []),
            FRESHNESS,
            *([QUARANTINE] if self.quarantine else []),
        ]


def _utc_day(column: str) -> str:
    return utc_day(f'"{column}"')


def _saas(table: str, day: str, **kw) -> RawTable:
    sources = sorted(s for s, t in SAAS_TABLES.items() if t == table)
    listed = ", ".join(f"'{s}'" for s in sources)
    return RawTable("raw_saas", table, day, quarantine=f"source in ({listed})", **kw)


RAW_TABLES = [
    *(
        RawTable(
            "raw_gateway",
            module.TABLE,
            _utc_day(module.TIME_COLUMN),
            quarantine=f"source = '{source}'",
        )
        for source, module in FORMATS.items()
    ),
    # billing quarantine rows (every export and API source) are reported on line_items
    RawTable(
        "raw_billing", "line_items", _utc_day("charge_period_start"), provisional_days=2,
        quarantine="true",
    ),
    RawTable("raw_billing", "ai_usage", "usage_date", provisional_days=1),
    _saas("copilot_seats", "as_of_date"),
    _saas("copilot_billing", "as_of_date"),
    _saas("github_billing_usage", "usage_date"),
    _saas("slack_billable", "as_of_date"),
    _saas("zoom_users", "as_of_date"),
    _saas("zoom_daily_report", "report_date", volume=False),
    _saas("invoices", "period_start", volume=False),
]  # fmt: skip

DESCRIPTIONS = {
    VOLUME: "Warns when the latest complete day has BIMO_VOLUME_DROP_PCT % (default 50) fewer "
    "rows than the median daily count of the same weekday over the trailing "
    "BIMO_VOLUME_TRAILING_DAYS days (default 28; every day's count while history is short).",
    FRESHNESS: "Warns when the newest row's day is older than the source's expected lag.",
    QUARANTINE: "Warns when the last load sent records to the quarantine table; reports the "
    "new and total counts and the commonest reasons.",
}


def volume_drop_pct() -> float:
    return float(os.environ.get("BIMO_VOLUME_DROP_PCT", "50"))


def trailing_days() -> int:
    return int(os.environ.get("BIMO_VOLUME_TRAILING_DAYS", "28"))


def check_volume(
    con: duckdb.DuckDBPyConnection,
    t: RawTable,
    today: date,
    *,
    drop_pct: float | None = None,
    window_days: int | None = None,
) -> dg.AssetCheckResult:
    """Rows of the latest complete day against the median daily rows of the trailing window: of
    the same weekday when it holds two or more of them (weekends are quiet), else of every day.
    A median, so one spike in the window (an incident, a backfill) does not raise the bar. Days
    before the table's first day are not history; missing days later on count as zero."""
    drop_pct = volume_drop_pct() if drop_pct is None else drop_pct
    window_days = window_days or trailing_days()
    first, last = con.execute(f"select min({t.day}), max({t.day}) from {t.relation}").fetchall()[0]
    if last is None:
        return _result(t, VOLUME, True, note="no rows yet")
    day = min(last, today - timedelta(days=1)) - timedelta(days=t.provisional_days)
    start = max(first, day - timedelta(days=window_days))
    counts = dict(
        con.execute(
            f"select {t.day} as d, count(*) from {t.relation} where {t.day} between ? and ? "
            "group by 1",
            [start, day],
        ).fetchall()
    )
    history = [start + timedelta(days=i) for i in range((day - start).days)]
    weekday = [d for d in history if d.weekday() == day.weekday()]
    basis, baseline = (weekday, "same weekday") if len(weekday) >= 2 else (history, "every day")
    meta = {"day": day.isoformat(), "rows": counts.get(day, 0), "threshold_pct": drop_pct}
    if len(history) < MIN_HISTORY_DAYS:
        note = f"{len(history)} days of history, need {MIN_HISTORY_DAYS}"
        return _result(t, VOLUME, True, note=note, **meta)
    average = statistics.median(counts.get(d, 0) for d in basis)
    drop = 100 * (1 - counts.get(day, 0) / average) if average else 0.0
    return _result(
        t,
        VOLUME,
        drop <= drop_pct,
        baseline=baseline,
        baseline_days=len(basis),
        baseline_rows=round(average, 1),
        drop_pct=round(drop, 1),
        **meta,
    )


def check_freshness(
    con: duckdb.DuckDBPyConnection, t: RawTable, today: date
) -> dg.AssetCheckResult:
    """The newest row's day against the table's expected lag (`bimo.source_health`, the same
    as `bimo status`; `BIMO_EXPECTED_LAG` overrides it)."""
    lag = table_lag_days(t.dataset, t.table) or 1
    newest = con.execute(f"select max({t.day}) from {t.relation}").fetchall()[0][0]
    if newest is None:
        return _result(t, FRESHNESS, True, note="no rows yet", expected_lag_days=lag)
    behind = (today - newest).days
    return _result(
        t,
        FRESHNESS,
        behind <= lag,
        newest_day=newest.isoformat(),
        lag_days=behind,
        expected_lag_days=lag,
    )


def check_quarantine(
    con: duckdb.DuckDBPyConnection, t: RawTable, since: datetime
) -> dg.AssetCheckResult:
    """Records quarantined since `since` (the start of the last load) and in total."""
    rel = f'"{t.dataset}"."quarantine"'
    new, total = con.execute(
        f"select count(*) filter (where quarantined_at >= ?), count(*) from {rel} "
        f"where {t.quarantine}",
        [since],
    ).fetchall()[0]
    reasons = con.execute(
        f"select reason, count(*) as n from {rel} where {t.quarantine} and quarantined_at >= ? "
        "group by 1 order by n desc, reason limit 5",
        [since],
    ).fetchall()
    return _result(
        t,
        QUARANTINE,
        new == 0,
        new_in_last_load=new,
        total=total,
        since=since.isoformat(timespec="seconds"),
        top_reasons=dg.MetadataValue.md("\n".join(f"- {n} × {r}" for r, n in reasons) or "none"),
    )


def last_load_start(instance: dg.DagsterInstance, key: dg.AssetKey) -> datetime | None:
    """When the run that last materialised `key` started (None: never materialised here)."""
    event = instance.get_latest_materialization_event(key)
    if event is None:
        return None
    run = instance.get_run_record_by_id(event.run_id)
    started = run.start_time if run and run.start_time else event.timestamp
    return datetime.fromtimestamp(started, UTC)


def evaluate(
    con: duckdb.DuckDBPyConnection,
    t: RawTable,
    name: str,
    *,
    today: date,
    since: datetime,
) -> dg.AssetCheckResult:
    """One check of one raw table (a missing table passes: that source was never loaded)."""
    try:
        if name == VOLUME:
            return check_volume(con, t, today)
        if name == FRESHNESS:
            return check_freshness(con, t, today)
        return check_quarantine(con, t, since)
    except duckdb.CatalogException:
        return _result(t, name, True, note="table not created yet")


def _result(t: RawTable, name: str, passed: bool, **metadata) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=t.key, check_name=name, passed=passed, severity=WARN, metadata=metadata
    )


def dataset_checks(dataset: str) -> dg.AssetChecksDefinition:
    """The checks of every raw table of `dataset`, in one op (one warehouse connection)."""
    tables = {t.key: t for t in RAW_TABLES if t.dataset == dataset}
    specs = [
        dg.AssetCheckSpec(name, asset=t.key, description=DESCRIPTIONS[name])
        for t in tables.values()
        for name in t.checks
    ]

    @dg.multi_asset_check(
        specs=specs,
        name=f"{dataset}_checks",
        description=f"Row volume, data freshness and quarantine checks of `{dataset}.*`.",
        can_subset=True,
        pool="warehouse_writer",
    )
    def _checks(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        settings = get_settings()
        selected = sorted(context.selected_asset_check_keys, key=str)
        if not settings.warehouse.exists():
            for k in selected:
                yield _result(tables[k.asset_key], k.name, True, note="no warehouse yet")
            return
        now = datetime.now(UTC)
        since = {k.asset_key: last_load_start(context.instance, k.asset_key) for k in selected}
        with writer_lock(settings):
            con = connect_with_retry(settings.warehouse)
            try:
                results = [
                    evaluate(
                        con,
                        tables[k.asset_key],
                        k.name,
                        today=now.date(),
                        since=since[k.asset_key] or now - timedelta(days=1),
                    )
                    for k in selected
                ]
            finally:
                con.close()
        yield from results

    return _checks


raw_gateway_checks = dataset_checks("raw_gateway")
raw_billing_checks = dataset_checks("raw_billing")
raw_saas_checks = dataset_checks("raw_saas")

ASSET_CHECKS = [raw_gateway_checks, raw_billing_checks, raw_saas_checks]
