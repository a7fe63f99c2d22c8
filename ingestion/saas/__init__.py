"""SaaS seats, usage and invoices → `raw_saas` (GitHub Copilot, GitHub billing, Slack, Zoom).

source → table (one row per):
- `github-copilot-seats` (`GET /orgs/{org}/copilot/billing/seats`) → copilot_seats (seat × day)
- `github-copilot-billing` (`GET /orgs/{org}/copilot/billing`) → copilot_billing (org × day)
- `github-billing-usage` (`GET /organizations/{org}/settings/billing/usage`) →
  github_billing_usage (usage item)
- `slack-billable` (`team.billableInfo`) → slack_billable (user × day)
- `zoom-users` (`GET /users`) → zoom_users (user × day)
- `zoom-daily-report` (`GET /report/daily`) → zoom_daily_report (date)
- `saas-invoices` (a CSV, see `ingestion.saas.invoices`) → invoices (vendor × month × team)

`parse_saved(source, path)` reads a saved response (one page, a JSON array of pages or JSON
Lines of pages; gzip or not) and `fetch(source, org=…)` pulls every page live; both go through
one page parser. Snapshots (seats, billable and licensed users, the seat breakdown) are stamped
with their as-of day — the `as_of` argument, else today (UTC) for a pull, else the `YYYY-MM-DD`
in a saved file's name, else its mtime day — and replace exactly that day when loaded, so seat
history accumulates one day at a time. Usage rows (GitHub usage items, Zoom report dates)
replace the day they are about. A re-pull that returns no rows for a day replaces nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa

from ingestion.billing.apis.client import ApiError, iter_pages, mask, resolve_key
from ingestion.billing.apis.pages import RawPage, read_saved_pages
from ingestion.saas import github, invoices, slack, zoom
from ingestion.saas.pages import DEFAULT_ORG, Endpoint, Request, parse_pages, snapshot_date
from ingestion.saas.schema import SaasParse

ENDPOINTS: dict[str, Endpoint] = {
    e.source: e
    for e in (github.SEATS, github.BILLING, github.USAGE, slack.BILLABLE, zoom.USERS,
              zoom.DAILY_REPORT)
}  # fmt: skip
API_SOURCES = tuple(ENDPOINTS)
SAAS_SOURCES = (*API_SOURCES, invoices.SOURCE)
TABLES: dict[str, str] = {s: e.table for s, e in ENDPOINTS.items()} | {
    invoices.SOURCE: invoices.TABLE
}
# the Arrow schema of every raw_saas table besides quarantine, by table name
SCHEMAS: dict[str, pa.Schema] = {e.table: e.schema for e in ENDPOINTS.values()} | {
    invoices.TABLE: invoices.SCHEMA
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

__all__ = [
    "API_SOURCES",
    "SAAS_SOURCES",
    "SCHEMAS",
    "TABLES",
    "ApiError",
    "SaasParse",
    "fetch",
    "org_label",
    "parse_saved",
]


ORG_ENV = {"github": "BIMO_GITHUB_ORG", "slack": "BIMO_SLACK_TEAM", "zoom": "BIMO_ZOOM_ACCOUNT"}


def org_label(source: str, org: str | None = None) -> str | None:
    """The organisation a source's rows belong to: `org`, else `BIMO_GITHUB_ORG` /
    `BIMO_SLACK_TEAM` / `BIMO_ZOOM_ACCOUNT`, else None (rows are labelled 'default'). Saved files
    and live pulls of one organisation must share it, or their days would not replace each other."""
    if source == invoices.SOURCE:
        return org
    return org or os.environ.get(ORG_ENV[_endpoint(source).provider.name]) or None


def parse_saved(
    source: str, path: Path, *, org: str | None = None, as_of: date | None = None
) -> SaasParse:
    """A saved response file of an API source, or an invoices CSV (`saas-invoices`).

    `org` labels the rows (see `org_label`); `as_of` defaults to the file's date (see above).
    The file's mtime orders it against other deliveries of the same day in one load."""
    path = Path(path)
    if source == invoices.SOURCE:
        return invoices.parse_file(path)
    return parse_pages(
        _endpoint(source),
        read_saved_pages(path),
        org=org_label(source, org) or DEFAULT_ORG,
        as_of=as_of or snapshot_date(path),
        delivery_id=path.name,
        rank=path.stat().st_mtime_ns // 1000,
    )


def fetch(
    source: str,
    *,
    org: str | None = None,
    as_of: date | None = None,
    day: date | None = None,
    page_size: int | None = None,
    token: str | None = None,
    base_url: str | None = None,
) -> SaasParse:
    """Pull every page of one API source live, parsed like a saved file.

    `org`: the GitHub organisation (required for GitHub), the Slack `team_id` (optional) or a
    label for the Zoom account. `as_of`: the snapshot day (default today, UTC). `day`: for
    `github-billing-usage` that one day (default: the month to date of `as_of`); for
    `zoom-daily-report` its month. `page_size`: per_page / limit / page_size (default: the API's
    maximum). Raises `ApiError` when the pull cannot complete, Slack's `ok: false` included.
    """
    endpoint = _endpoint(source)
    org = org_label(source, org)
    if endpoint.needs_org and not org:
        raise ValueError(f"{source} needs org= or BIMO_GITHUB_ORG (the GitHub organisation)")
    pulled = datetime.now(UTC)
    request = Request(org=org, as_of=as_of or pulled.date(), day=day, page_size=page_size)
    pages = iter_pages(
        endpoint.provider,
        endpoint.path.format(org=quote(org or "", safe="")),
        endpoint.params(request),
        source=source,
        paginator=endpoint.paginator(),
        api_key=token,
        base_url=base_url,
    )
    return parse_pages(
        endpoint,
        _raise_reported(endpoint, pages, resolve_key(endpoint.provider, token)),
        org=org or DEFAULT_ORG,
        as_of=request.as_of,
        delivery_id=f"{source}@{pulled:%Y-%m-%dT%H:%M:%S.%fZ}",
        rank=(pulled - _EPOCH) // timedelta(microseconds=1),
    )


def _raise_reported(endpoint: Endpoint, pages: Iterator[RawPage], secret: str) -> Iterator[RawPage]:
    """Live pages, stopping at an error the API reports inside a 200 page (Slack `ok: false`);
    the token is masked in what the API said, even when it echoes it back."""
    for file, n, doc in pages:
        if isinstance(doc, dict) and (reported := endpoint.error(_masked(doc, secret))):
            raise ApiError(f"{endpoint.source}: {endpoint.provider.label} answered {reported}")
        yield file, n, doc


def _masked(doc: dict, secret: str) -> dict:
    return {k: mask(v, secret) if isinstance(v, str) else v for k, v in doc.items()}


def _endpoint(source: str) -> Endpoint:
    if source not in ENDPOINTS:
        raise ValueError(
            f"unknown SaaS source {source!r}; expected one of {', '.join(SAAS_SOURCES)}"
        )
    return ENDPOINTS[source]
