"""AI-provider billing APIs (OpenAI and Anthropic admin reports) → billing tables.

`openai-costs` / `anthropic-costs` become LINE_ITEM_SCHEMA rows and `openai-usage` /
`anthropic-usage` AI_USAGE_SCHEMA rows, one per API result. Saved responses (`parse_saved`) and
live pulls (`fetch`) go through the same page parser.

Restatement: every row's `delivery_key` is `<source>|<account>|<bucket day>`, so loading a pull
replaces exactly the days it covers. `account` is a label the caller chooses (`default`, or
`BIMO_OPENAI_ACCOUNT` / `BIMO_ANTHROPIC_ACCOUNT`) — never a field of the response, which some API
versions include and others omit — so two pulls of the same day always share a key. Each parse
also carries one coverage row per bucket day it saw, empty buckets included: a day that comes
back empty on a re-pull clears what was stored for it (the models keep an API row only when its
delivery is the latest to cover its key). Recent days are provisional, so callers should re-pull
a trailing window every run: `fetch(source, *trailing_window(date.today()))` covers the last
`DEFAULT_TRAILING_DAYS` full days plus today so far.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ingestion.billing.apis import anthropic, openai
from ingestion.billing.apis.client import ApiError, Provider, iter_pages
from ingestion.billing.apis.pages import DEFAULT_ACCOUNT, Endpoint, parse_pages, read_saved_pages
from ingestion.billing.schema import BillingParse

API_SOURCES = ("openai-costs", "openai-usage", "anthropic-costs", "anthropic-usage")
DEFAULT_TRAILING_DAYS = 7
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_ENDPOINTS: dict[str, Endpoint] = {
    e.source: e for e in (openai.COSTS, openai.USAGE, anthropic.COSTS, anthropic.USAGE)
}
_PROVIDERS: dict[str, Provider] = {"openai": openai.PROVIDER, "anthropic": anthropic.PROVIDER}

__all__ = [
    "API_SOURCES",
    "DEFAULT_TRAILING_DAYS",
    "ApiError",
    "fetch",
    "parse_saved",
    "trailing_window",
]


def trailing_window(today: date, days: int = DEFAULT_TRAILING_DAYS) -> tuple[date, date]:
    """(start, end) of the window to re-pull: `days` full days before `today` plus today;
    `end` is exclusive, as the APIs' own end bounds are."""
    return today - timedelta(days=days), today + timedelta(days=1)


def account_label(source: str, account: str | None = None) -> str:
    """The account part of the delivery key: `account`, else `BIMO_<PROVIDER>_ACCOUNT`, else
    `default`. Set it per organisation when one warehouse holds several of the same provider."""
    provider = _endpoint(source).provider
    return account or os.environ.get(f"BIMO_{provider.upper()}_ACCOUNT") or DEFAULT_ACCOUNT


def parse_saved(source: str, path: Path, *, account: str | None = None) -> BillingParse:
    """A saved response file (one page, a JSON array of pages or JSON Lines of pages; gzip or
    not). The file's modification time orders it against other deliveries of the same days."""
    endpoint = _endpoint(source)
    path = Path(path)
    return parse_pages(
        endpoint,
        read_saved_pages(path),
        delivery_id=path.name,
        rank=path.stat().st_mtime_ns // 1000,
        account=account_label(source, account),
    )


def fetch(
    source: str,
    *,
    start: date,
    end: date,
    api_key: str | None = None,
    base_url: str | None = None,
    account: str | None = None,
) -> BillingParse:
    """Pull days `start` ≤ day < `end` from the live API (all pages), parsed like a saved file.

    Key: `api_key`, else `OPENAI_ADMIN_KEY` / `ANTHROPIC_ADMIN_KEY`, else the dlt secret
    `sources.openai.admin_key` / `sources.anthropic.admin_key`; it is sent only as a header and
    never stored. Base URL: `base_url`, else `BIMO_OPENAI_API_BASE` / `BIMO_ANTHROPIC_API_BASE`,
    else the public host. Raises `ApiError` when the pull cannot complete (see `client`).
    """
    endpoint = _endpoint(source)
    if end <= start:
        raise ValueError(f"empty window: end {end} is not after start {start}")
    pulled = datetime.now(UTC)
    pages = iter_pages(
        _PROVIDERS[endpoint.provider],
        endpoint.path,
        endpoint.params(start, end),
        source=source,
        api_key=api_key,
        base_url=base_url,
    )
    return parse_pages(
        endpoint,
        pages,
        delivery_id=f"{source}@{pulled:%Y-%m-%dT%H:%M:%S.%fZ}",
        rank=(pulled - _EPOCH) // timedelta(microseconds=1),
        account=account_label(source, account),
    )


def _endpoint(source: str) -> Endpoint:
    if source not in _ENDPOINTS:
        raise ValueError(f"unknown API source {source!r}; expected one of {', '.join(API_SOURCES)}")
    return _ENDPOINTS[source]
