"""SaaS assets: seat snapshots, usage and invoices into `raw_saas.*`, daily partitioned.

Saved responses land in `<landing>/saas/<source>/` (the date in a file's name is its snapshot
day) and invoices in `<landing>/saas/saas-invoices/`. A partition loads the saved snapshots of its
days; the run's latest day is also pulled live from each API whose token is set (GITHUB_TOKEN with
BIMO_GITHUB_ORG, SLACK_TOKEN, ZOOM_TOKEN), because a live API only ever answers "as of now".
"""

import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from bimo.settings import Settings, get_settings
from bimo.warehouse import writer_lock
from ingestion.remote import mirror_landing
from orchestration.defs.partitions import daily_partitions, raw_table_specs

DATASET = "raw_saas"
TABLE_DESCRIPTIONS = {
    "copilot_seats": "GitHub Copilot seats, one row per seat and snapshot day.",
    "copilot_billing": "GitHub Copilot seat breakdown, one row per organisation and day.",
    "github_billing_usage": "GitHub billing usage items (gross, discount, net USD) per day.",
    "slack_billable": "Slack billable users (billing_active), one row per user and day.",
    "zoom_users": "Zoom users (licensed = type 2), one row per user and snapshot day.",
    "zoom_daily_report": "Zoom daily usage report (meetings, participants, minutes).",
    "invoices": "SaaS invoices (vendor, month, seats, amount, currency, team).",
}
SPECS = raw_table_specs(
    DATASET,
    {
        table: f"{text} Replaced per day (snapshots) or per vendor month (invoices)."
        for table, text in TABLE_DESCRIPTIONS.items()
    },
)
TOKENS = {
    "github-copilot-seats": ("GITHUB_TOKEN", "BIMO_GITHUB_ORG"),
    "github-copilot-billing": ("GITHUB_TOKEN", "BIMO_GITHUB_ORG"),
    "github-billing-usage": ("GITHUB_TOKEN", "BIMO_GITHUB_ORG"),
    "slack-billable": ("SLACK_TOKEN", None),
    "zoom-users": ("ZOOM_TOKEN", None),
    "zoom-daily-report": ("ZOOM_TOKEN", None),
}


def saved_files(
    settings: Settings, start: date, end: date, warn: Callable[[str], None] | None = None
) -> dict[str, list[Path]]:
    """Saved responses of snapshot days start ≤ day < end (monthly reports: any day of the
    month) and every invoices file, under `<landing>/saas/<source>/` (a symlink leading out of
    the landing folder is skipped with a warning)."""
    from ingestion.readers import keep_inside
    from ingestion.saas import SAAS_SOURCES
    from ingestion.saas.invoices import SOURCE as INVOICES
    from ingestion.saas.pages import snapshot_date

    root = settings.landing_dir / "saas"
    found: dict[str, list[Path]] = {}
    for source in SAAS_SOURCES:
        folder = root / source
        if not folder.is_dir():
            continue
        files = sorted(f for f in folder.rglob("*") if f.is_file())
        files = keep_inside(files, settings.landing_dir, warn)
        if source != INVOICES:
            monthly = source == "zoom-daily-report"
            first = start.replace(day=1) if monthly else start
            files = [f for f in files if first <= snapshot_date(f) < end]
        found[source] = files
    return found


def live_sources(context: dg.AssetExecutionContext, end: date) -> list[str]:
    """The API sources to pull live this run: when its last day is yesterday or later and the
    source's token (and organisation, for GitHub) is set."""
    today = datetime.now(UTC).date()
    if end < today:
        return []
    ready = []
    for source, (token, org) in TOKENS.items():
        if not os.environ.get(token) or (org and not os.environ.get(org)):
            context.log.info(f"{source}: {token}{' / ' + org if org else ''} not set, not pulled")
            continue
        ready.append(source)
    return ready


def covers(source: str, saved_day: date, pulled_day: date) -> bool:
    """Whether a live pull for `pulled_day` returns what a saved file of `saved_day` holds."""
    if source == "zoom-daily-report":  # one report per month
        return saved_day.replace(day=1) == pulled_day.replace(day=1)
    return saved_day == pulled_day


@dg.multi_asset(
    specs=SPECS,
    name="saas",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="warehouse_writer",
    retry_policy=dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL),
)
def saas_assets(context: dg.AssetExecutionContext):
    """Load the window's saved seat snapshots and invoices, pull the latest day live from each
    API with a token, and load everything (re-running a day replaces that day only)."""
    from ingestion.load import interrupted_message
    from ingestion.saas import TABLES, fetch, parse_saved
    from ingestion.saas.load import load_saas
    from ingestion.saas.pages import snapshot_date

    settings = get_settings()
    mirror_landing(settings, "saas", log=context.log.info)
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    last_day = end - timedelta(days=1)
    live = live_sources(context, end)
    parses = []
    for source, files in saved_files(settings, start, end, context.log.warning).items():
        if source in live:  # the live pull replaces the saved copy of its day (or month)
            files = [f for f in files if not covers(source, snapshot_date(f), last_day)]
        parses += [parse_saved(source, f) for f in files]
    for source in live:  # the live pull is the latest delivery of its day
        parses.append(fetch(source, as_of=last_day, day=last_day))
    with writer_lock(settings):
        summary = load_saas(parses, settings=settings, locked=True)
    context.log.info(f"saas load: {summary}")
    if summary.interrupted_loads:
        context.log.warning(interrupted_message(summary.interrupted_loads))
    loaded: dict[str, int] = {}
    for source, counts in summary.sources.items():
        loaded[TABLES[source]] = loaded.get(TABLES[source], 0) + counts.loaded
    for spec in SPECS:
        table = spec.key.path[-1]
        yield dg.MaterializeResult(
            asset_key=spec.key,
            metadata={"dagster/row_count": loaded.get(table, 0), "live_pulls": len(live)},
        )
