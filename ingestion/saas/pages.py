"""SaaS API pages → `raw_saas` rows: one walker for saved files and live pulls alike.

A page that is not of its endpoint's shape (or, in a saved file, is an error the API reported
inside a 200 page) is quarantined whole as one record; a record that cannot be parsed is
quarantined alone. Records are numbered 1, 2, … across all pages of the input (a quarantined page
takes one number): that is `_source_line` of loaded rows and `line` of quarantined ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
from dlt.sources.helpers.rest_client.paginators import BasePaginator, SinglePagePaginator

from ingestion.billing.apis.client import Provider
from ingestion.billing.apis.pages import BadData, RawPage, rfc3339
from ingestion.saas.schema import SaasParse

DEFAULT_ORG = "default"
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class Request:
    """What a live pull asks for: the org, the snapshot day, an optional usage day, page size."""

    org: str | None
    as_of: date
    day: date | None = None
    page_size: int | None = None


@dataclass(frozen=True)
class Endpoint:
    """One SaaS endpoint: its request, where a page keeps its records and how one becomes a row."""

    source: str  # e.g. github-copilot-seats
    table: str  # its raw_saas table
    schema: pa.Schema
    provider: Provider
    path: str  # may contain {org}
    records: Callable[[dict], list]  # the page's records; raises BadData for a malformed page
    to_row: Callable[[dict], dict]  # raises BadData
    params: Callable[[Request], dict]
    paginator: Callable[[], BasePaginator] = SinglePagePaginator
    dated: str | None = None  # row column with the day a usage row is about; None: a snapshot
    error: Callable[[dict], str | None] = lambda page: None  # an error inside a 200 page
    check: Callable[[list[dict], int], str | None] | None = None  # (good pages, records listed)
    needs_org: bool = False


def parse_pages(
    endpoint: Endpoint,
    pages: Iterable[RawPage],
    *,
    org: str,
    as_of: date,
    delivery_id: str,
    rank: int,
) -> SaasParse:
    """Every record of every page as a row of the endpoint's table (or a quarantine entry)."""
    rows: list[dict] = []
    bad: list[dict] = []
    good: list[dict] = []
    position = listed = 0
    first = ""
    for file, page_no, doc in pages:
        first = first or file
        try:
            records = _records(endpoint, doc)
        except BadData as exc:
            position += 1
            reason = str(exc) if isinstance(doc, BadData) else f"malformed page {page_no}: {exc}"
            bad.append(entry(endpoint.source, file, position, reason))
            continue
        good.append(doc)
        listed += len(records)
        for record in records:
            position += 1
            try:
                row = _row(endpoint, record)
            except BadData as exc:
                bad.append(entry(endpoint.source, file, position, f"bad record: {exc}"))
                continue
            day = row[endpoint.dated] if endpoint.dated else as_of
            lineage = {
                "source_system": endpoint.source,
                "delivery_key": delivery_key(endpoint.source, org, day),
                "delivery_id": delivery_id,
                "delivery_rank": rank,
                "_source_file": file,
                "_source_line": position,
                "org": org,
                "as_of_date": as_of,
                "_source_page": page_no,
            }
            rows.append(lineage | row)
    issues = []
    if endpoint.check and good and (reason := endpoint.check(good, listed)):
        issues.append(entry(endpoint.source, first, 0, f"check failed: {reason}"))
    table = pa.Table.from_pylist(rows, schema=endpoint.schema)
    whole = bool(good) and endpoint.dated is None
    snapshot = delivery_key(endpoint.source, org, as_of) if whole else None
    return SaasParse(endpoint.source, table, bad, issues, position, snapshot, rank)


def delivery_key(source: str, org: str, day: date) -> str:
    """What a load replaces: the source's rows of one org and day."""
    return f"{source}|{org}|{day.isoformat()}"


def entry(source: str, file: str, line: int, reason: str) -> dict:
    """A quarantine entry: where the record was and why it was not loaded (never its content)."""
    return {"source": source, "file": file, "line": line, "reason": reason}


def _row(endpoint: Endpoint, record: object) -> dict:
    if not isinstance(record, dict):
        raise BadData(f"record is a {type(record).__name__}, not an object")
    return endpoint.to_row(record)


def _records(endpoint: Endpoint, doc: object) -> list:
    if isinstance(doc, BadData):
        raise doc
    if not isinstance(doc, dict):
        raise BadData(f"page is a {type(doc).__name__}, not an object")
    if reported := endpoint.error(doc):
        raise BadData(f"the API reported an error: {reported}")
    return endpoint.records(doc)


def snapshot_date(path: Path) -> date:
    """The day a saved file describes: the last `YYYY-MM-DD` in its name, else its mtime (UTC)."""
    for found in reversed(_DATE_IN_NAME.findall(path.name)):
        try:
            return date.fromisoformat(found)
        except ValueError:
            continue
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).date()


def page_size(request: Request, default: int, maximum: int) -> int:
    """The requested page size, checked against the API's maximum."""
    size = request.page_size or default
    if not 1 <= size <= maximum:
        raise ValueError(f"page size must be between 1 and {maximum}, got {size}")
    return size


# ---------------------------------------------------------------------------------------------
# value coercion for records (every failure raises BadData with a short reason)


def records_at(doc: dict, key: str) -> list:
    """The page's list under `key` (a malformed page when it is not a list)."""
    value = doc.get(key)
    if not isinstance(value, list):
        raise BadData(f"{key} is not a list")
    return value


def utc(value: object, field: str) -> datetime | None:
    """An RFC 3339 timestamp with any offset, as UTC; None when absent."""
    if value is None or value == "":
        return None
    try:
        return rfc3339(value)
    except BadData as exc:
        raise BadData(f"{field}: {exc}") from None


def day_of(value: object, field: str) -> date | None:
    """A `YYYY-MM-DD` date (a timestamp gives its UTC day); None when absent."""
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise BadData(f"{field}: not a date: {value[:30]!r}") from None
        if not 2000 <= day.year < 2100:
            raise BadData(f"{field}: {day} is out of range (2000-2099)")
        return day
    stamp = utc(value, field)
    return None if stamp is None else stamp.date()


def flag(value: object, field: str) -> bool | None:
    """A JSON boolean; None when absent."""
    if value is None or isinstance(value, bool):
        return value
    raise BadData(f"{field}: expected true or false, got {str(value)[:20]!r}")


def obj(value: object, field: str) -> dict | None:
    """A nested object; None when absent."""
    if value is None or isinstance(value, dict):
        return value
    raise BadData(f"{field}: expected an object, got {type(value).__name__}")
