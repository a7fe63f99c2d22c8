"""Billing assets: cloud exports from the landing folder and the AI providers' cost/usage APIs
into `raw_billing.*`, monthly partitioned (a billing month reloads or backfills on its own)."""

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from bimo.settings import Settings, get_settings
from bimo.warehouse import writer_lock
from ingestion.billing.load import DATASET, load_billing
from ingestion.load import interrupted_message
from ingestion.remote import mirror_landing
from orchestration.defs.partitions import monthly_partitions, raw_table_specs

API_KEYS = {
    "openai-costs": "OPENAI_ADMIN_KEY",
    "openai-usage": "OPENAI_ADMIN_KEY",
    "anthropic-costs": "ANTHROPIC_ADMIN_KEY",
    "anthropic-usage": "ANTHROPIC_ADMIN_KEY",
}
SPECS = raw_table_specs(DATASET, {
    "line_items": "Billing line items (FOCUS semantics) from exports and cost APIs, replaced "
    "per delivery (source, account, billing period or day).",
    "ai_usage": "Daily token usage from the OpenAI and Anthropic usage APIs.",
    "api_coverage": "Which API pull last covered each (source, account, day), rows or none: an "
    "API day that comes back empty clears what was stored for it.",
})  # fmt: skip


def export_files(
    settings: Settings, warn: Callable[[str], None] | None = None
) -> dict[str, list[Path]]:
    """Export files under `<landing>/billing/<source>[-suffix]/` (e.g. `focus-aws/`, `aws-cur/`);
    a symlink leading out of the landing folder is skipped with a warning."""
    from ingestion.billing.files import FILE_SOURCES, expand_billing_paths
    from ingestion.readers import keep_inside

    root = settings.landing_dir / "billing"
    found: dict[str, list[Path]] = {}
    if not root.is_dir():
        return found
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        source = next(
            (s for s in FILE_SOURCES if folder.name == s or folder.name.startswith(f"{s}-")), None
        )
        if source:
            files = expand_billing_paths([folder])
            found.setdefault(source, []).extend(keep_inside(files, settings.landing_dir, warn))
    return found


def in_window(parse, start: datetime, end: datetime):
    """Keep only the deliveries whose billing period starts in the partition window."""
    import pyarrow.compute as pc

    items = parse.line_items
    if items.num_rows:
        col = items.column("billing_period_start")
        parse.line_items = items.filter(pc.and_(pc.greater_equal(col, start), pc.less(col, end)))
    return parse


@dg.multi_asset(
    specs=SPECS,
    name="billing",
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="warehouse_writer",
    retry_policy=dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL),
)
def billing_assets(context: dg.AssetExecutionContext):
    """Parse the window's billing exports and pull the AI cost/usage APIs (when their admin
    keys are set), then load everything with replace-by-delivery semantics."""
    from ingestion.billing.apis import fetch

    settings = get_settings()
    mirror_landing(settings, "billing", log=context.log.info)
    window = context.partition_time_window
    parses = []
    for source, files in export_files(settings, context.log.warning).items():
        from ingestion.billing.files import FILE_SOURCES

        parses += [in_window(FILE_SOURCES[source](f), window.start, window.end) for f in files]
    today = datetime.now(UTC).date()
    end = min(window.end.date(), today + timedelta(days=1))
    for source, env in API_KEYS.items():
        if not os.environ.get(env):
            context.log.info(f"{source}: {env} not set, skipped")
            continue
        parses.append(fetch(source, start=window.start.date(), end=end))
    with writer_lock(settings):
        summary = load_billing(parses, settings=settings, locked=True)
    context.log.info(f"billing load: {summary}")
    if summary.interrupted_loads:
        context.log.warning(interrupted_message(summary.interrupted_loads))
    meta = {
        "rows_in": summary.rows_in,
        "quarantined": summary.quarantined,
        "deliveries": summary.deliveries,
        "replaced_deliveries": summary.replaced_deliveries,
        "stale_rows_skipped": summary.stale_skipped,
    }
    yield dg.MaterializeResult(
        asset_key=SPECS[0].key, metadata={"dagster/row_count": summary.line_items, **meta}
    )
    yield dg.MaterializeResult(
        asset_key=SPECS[1].key, metadata={"dagster/row_count": summary.usage_rows}
    )
    yield dg.MaterializeResult(
        asset_key=SPECS[2].key, metadata={"api_days_covered": summary.api_days}
    )


@dg.asset_check(asset=dg.AssetKey(["marts", "fct_reconciliation"]), blocking=False)
def reconciliation_variance() -> dg.AssetCheckResult:
    """Warn when a provider-month's billed total differs from the prod estimate by more than
    BIMO_RECONCILIATION_THRESHOLD (default 0.10 = 10 %)."""
    from bimo.warehouse import read_connection

    threshold = float(os.environ.get("BIMO_RECONCILIATION_THRESHOLD", "0.10"))
    con = read_connection(get_settings())
    if con is None:
        return dg.AssetCheckResult(passed=True, metadata={"note": "no warehouse published"})
    try:
        rows = con.sql(
            "select provider, period_start, variance_pct::double, variance_usd::double "
            "from marts.fct_reconciliation where period_grain = 'month' and model is null "
            f"and abs(variance_pct) > {threshold} order by abs(variance_usd) desc"
        ).fetchall()
    finally:
        con.close()
    worst = [f"{p} {d:%Y-%m}: {pct:+.1%} (${usd:,.2f})" for p, d, pct, usd in rows[:10]]
    return dg.AssetCheckResult(
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"threshold": threshold, "months_over": len(rows), "worst": "\n".join(worst)},
    )
