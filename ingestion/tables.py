"""Make sure every raw table dbt reads exists, even for sources never loaded.

An empty dlt load creates the tables with exactly the schema later loads use (no hand-written
DDL to drift from the parsers). It runs only when a table is missing, or when a stopped run left
a load package half loaded: every load finishes such a package first, so a build never reads a
delivery half replaced.
"""

from __future__ import annotations

from pathlib import Path

from bimo.settings import Settings
from bimo.warehouse import connect_with_retry

REQUIRED = {
    "raw_gateway": ("bimo_gateway_requests", "quarantine"),
    "raw_billing": ("line_items", "ai_usage", "api_coverage", "quarantine"),
    "raw_saas": (
        "copilot_seats",
        "copilot_billing",
        "github_billing_usage",
        "slack_billable",
        "zoom_users",
        "zoom_daily_report",
        "invoices",
        "quarantine",
    ),
}


# dlt pipeline → the dataset it writes (`PIPELINE_NAME` of each loader; dlt is not imported here)
PIPELINES = {
    "bimo_gateway_logs": "raw_gateway",
    "bimo_billing": "raw_billing",
    "bimo_saas": "raw_saas",
}


FINISHING = "finishing_interrupted"  # in dlt's pipeline folder while a stopped load is finished


# dlt's folders of packages extracted or normalized and not yet loaded, in its pipeline folder
PENDING_FOLDERS = (("normalize", "extracted"), ("load", "normalized"))


def pending_entries(working_dir: Path) -> tuple[list[Path], list[Path]]:
    """The load packages (folders) a dlt pipeline holds extracted or normalized and not yet
    loaded, and the plain files beside them.

    dlt keeps a package as a folder. A file there is the temp file of a save a stopped run left:
    dlt saves a package's files through a temp file at the root of that folder
    (`FileStorage.save_atomic`) and renames it when written, so a kill between leaves it. dlt
    never reads it, and it is no package."""
    packages, files = [], []
    for parts in PENDING_FOLDERS:
        folder = working_dir.joinpath(*parts)
        if folder.is_dir():
            for entry in sorted(folder.iterdir()):
                (packages if entry.is_dir() else files).append(entry)
    return packages, files


def interrupted_datasets(settings: Settings) -> set[str]:
    """Datasets whose dlt pipeline holds a package extracted or normalized and not yet loaded
    (a run stopped mid-load), read from dlt's working folders."""
    found = set()
    for name, dataset in PIPELINES.items():
        root = settings.dlt_dir / name
        if pending_entries(root)[0] or (root / FINISHING).exists():
            found.add(dataset)
    return found


def missing_datasets(settings: Settings) -> set[str]:
    """Datasets with at least one required table absent."""
    if not settings.warehouse.exists():
        return set(REQUIRED)
    con = connect_with_retry(settings.warehouse)
    try:
        have = set(
            con.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
            ).fetchall()
        )
    finally:
        con.close()
    have = {h[0] for h in have}
    return {ds for ds, tables in REQUIRED.items() if any(f"{ds}.{t}" not in have for t in tables)}


def ensure_raw_tables(settings: Settings) -> set[str]:
    """Create missing raw tables and finish loads a stopped run left (the caller holds the
    writer lock); returns the datasets an empty load was run for."""
    todo = missing_datasets(settings) | interrupted_datasets(settings)
    if "raw_gateway" in todo:
        from ingestion.load import load_files

        load_files({}, settings=settings, locked=True)
    if "raw_billing" in todo:
        from ingestion.billing.load import load_billing

        load_billing([], settings=settings, locked=True)
    if "raw_saas" in todo:
        from ingestion.saas.load import load_saas

        load_saas([], settings=settings, locked=True)
    return todo
