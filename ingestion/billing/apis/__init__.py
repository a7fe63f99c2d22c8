"""AI-provider billing APIs (OpenAI and Anthropic admin reports) → billing tables.

`openai-costs` / `anthropic-costs` become LINE_ITEM_SCHEMA rows and `openai-usage` /
`anthropic-usage` AI_USAGE_SCHEMA rows, one per API result. Saved responses (`parse_saved`) and
live pulls (`fetch`) go through the same page parser.

Restatement: every row's `delivery_key` is `<source>|<organisation id or 'default'>|<bucket day>`,
so loading a pull replaces exactly the days it covers. Recent days are provisional, so callers
should re-pull a trailing window every run: `fetch(source, *trailing_window(date.today()))` covers
the last `DEFAULT_TRAILING_DAYS` full days plus today so far. A day whose buckets come back empty
yields no rows, and so does not replace rows stored for it before.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ingestion.billing.apis import anthropic, openai
from ingestion.billing.apis.client import ApiError, Provider, iter_pages
from ingestion.billing.apis.pages import Endpoint, parse_pages, read_saved_pages
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


def parse_saved(source: str, path: Path) -> BillingParse:
    """A saved response file (one page, a JSON array of pages or JSON Lines of pages; gzip or
    not). The file's modification time orders it against other deliveries of the same days."""
    endpoint = _endpoint(source)
    path = Path(path)
    return parse_pages(
        endpoint,
        read_saved_pages(path),
        delivery_id=path.name,
        rank=path.stat().st_mtime_ns // 1000,
    )


def fetch(
    source: str,
    *,
    start: date,
    end: date,
    api_key: str | None = None,
    base_url: str | None = None,
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
    )


def _endpoint(source: str) -> Endpoint:
    if source not in _ENDPOINTS:
        raise ValueError(f"unknown API source {source!r}; expected one of {', '.join(API_SOURCES)}")
    return _ENDPOINTS[source]
