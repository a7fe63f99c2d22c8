"""Make sure every raw table dbt reads exists, even for sources never loaded.

An empty dlt load creates the tables with exactly the schema later loads use (no hand-written
DDL to drift from the parsers). It runs only when a table is missing.
"""

from __future__ import annotations

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
    """Create missing raw tables (the caller holds the writer lock); returns what was created."""
    from ingestion.billing.load import load_billing
    from ingestion.load import load_files
    from ingestion.saas.load import load_saas

    missing = missing_datasets(settings)
    if "raw_gateway" in missing:
        load_files({}, settings=settings, locked=True)
    if "raw_billing" in missing:
        load_billing([], settings=settings, locked=True)
    if "raw_saas" in missing:
        load_saas([], settings=settings, locked=True)
    return missing
