"""API pages → billing tables: one walker for saved files and live pulls alike.

A page is the API's envelope (`{data: [buckets], has_more, next_page}`); each bucket carries its
time window and `results`. A page that is not of that shape is quarantined whole (line = page
number); a result that cannot be parsed is quarantined alone (line = its 1-based position among
all results of the input, which is also the `_source_line` of loaded rows).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path

import pyarrow as pa

from ingestion.billing.schema import AI_USAGE_SCHEMA, LINE_ITEM_SCHEMA, BillingParse
from ingestion.formats.common import EARLIEST, INT64_MAX, LATEST

DEFAULT_ACCOUNT = "default"
_MONEY_STEP = Decimal(1).scaleb(-18)  # LINE_ITEM_SCHEMA money is DECIMAL(38, 18)
_MONEY_LIMIT = Decimal(10) ** 20


class BadData(ValueError):
    """A page or result that cannot be loaded; its message is the quarantine reason."""


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime
    end: datetime
    results: list


@dataclass(frozen=True)
class Endpoint:
    """One report endpoint: its request and how one result becomes one table row."""

    source: str  # source_system, e.g. openai-costs
    provider: str  # openai | anthropic
    path: str
    usage: bool  # True: AI_USAGE_SCHEMA rows; False: LINE_ITEM_SCHEMA rows
    start_field: str
    end_field: str
    parse_time: Callable[[object], datetime]
    to_row: Callable[[dict], dict]  # raises BadData
    params: Callable[[date, date], dict]
    page_object: str | None = None  # the envelope's `object`, when the API writes one


# (file or request URL, 1-based page number, the parsed page or the reason it is unreadable)
RawPage = tuple[str, int, object]


def loads(raw: bytes | str) -> object:
    """JSON with every non-integer number as an exact Decimal (money never becomes a float)."""
    return json.loads(raw, parse_float=Decimal)


def read_saved_pages(path: Path) -> Iterator[RawPage]:
    """Pages of a saved response: one page object, a JSON array of pages or JSON Lines (± gzip)."""
    raw = path.read_bytes()
    name = str(path)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error):
            yield name, 1, BadData("gzip stream is truncated or corrupt")
            return
    try:
        doc = loads(raw)
    except ValueError:
        doc = BadData("not one JSON document")
    if isinstance(doc, list):
        yield from ((name, n, page) for n, page in enumerate(doc, start=1))
        return
    if not isinstance(doc, BadData):
        yield name, 1, doc
        return
    if raw.lstrip()[:1] == b"[":
        yield name, 1, BadData("invalid JSON: the file is not a complete JSON array")
        return
    lines = [ln for ln in raw.splitlines() if ln.strip()]
    if not lines:
        yield name, 1, BadData("empty file: no pages")
    for n, line in enumerate(lines, start=1):
        try:
            yield name, n, loads(line)
        except ValueError as exc:
            yield name, n, BadData(f"invalid JSON: {getattr(exc, 'msg', 'undecodable text')}")


def parse_pages(
    endpoint: Endpoint,
    pages: Iterable[RawPage],
    *,
    delivery_id: str,
    rank: int,
    account: str = DEFAULT_ACCOUNT,
) -> BillingParse:
    """Every result row of every page as a table row of the endpoint's schema, plus one coverage
    row per bucket day seen (empty buckets included: an empty day clears what was stored)."""
    rows: list[dict] = []
    quarantine: list[dict] = []
    covered: dict[date, int] = {}
    position = 0
    for file, page_no, doc in pages:
        try:
            buckets = _buckets(endpoint, doc)
        except BadData as exc:
            reason = str(exc) if isinstance(doc, BadData) else f"malformed page: {exc}"
            quarantine.append(_bad(endpoint, file, page_no, reason))
            position += _count_results(doc)
            continue
        for bucket in buckets:
            day = bucket.start.date()
            covered[day] = covered.get(day, 0) + len(bucket.results)
            for result in bucket.results:
                position += 1
                try:
                    if not isinstance(result, dict):
                        raise BadData(f"result is a {type(result).__name__}, not an object")
                    row = endpoint.to_row(result)
                except BadData as exc:
                    quarantine.append(_bad(endpoint, file, position, f"bad result: {exc}"))
                    continue
                lineage = {
                    "delivery_id": delivery_id,
                    "delivery_rank": rank,
                    "_source_file": file,
                    "_source_line": position,
                }
                rows.append(_framed(endpoint, row, bucket, account) | lineage)
    schema = AI_USAGE_SCHEMA if endpoint.usage else LINE_ITEM_SCHEMA
    table = pa.Table.from_pylist(rows, schema=schema)
    coverage = [
        {
            "delivery_key": delivery_key(endpoint.source, account, day),
            "source_system": endpoint.source,
            "usage_date": day,
            "delivery_id": delivery_id,
            "delivery_rank": rank,
            "result_rows": n,
        }
        for day, n in sorted(covered.items())
    ]
    if endpoint.usage:
        return BillingParse(LINE_ITEM_SCHEMA.empty_table(), table, quarantine, position, coverage)
    return BillingParse(table, None, quarantine, position, coverage)


def delivery_key(source: str, account: str, day: date) -> str:
    """`<source>|<account label>|<day>`: the unit an API pull replaces."""
    return f"{source}|{account}|{day.isoformat()}"


def _bad(endpoint: Endpoint, file: str, line: int, reason: str) -> dict:
    return {"source": endpoint.source, "file": file, "line": line, "reason": reason}


def _buckets(endpoint: Endpoint, doc: object) -> list[Bucket]:
    if isinstance(doc, BadData):
        raise doc
    if not isinstance(doc, dict):
        raise BadData(f"page is a {type(doc).__name__}, not an object")
    if endpoint.page_object and doc.get("object", endpoint.page_object) != endpoint.page_object:
        raise BadData(f"object is {str(doc.get('object'))[:40]!r}, not {endpoint.page_object!r}")
    data = doc.get("data")
    if not isinstance(data, list):
        raise BadData("data is not a list of buckets")
    buckets = []
    for n, bucket in enumerate(data, start=1):
        if not isinstance(bucket, dict):
            raise BadData(f"bucket {n} is not an object")
        start = _bound(endpoint, bucket, n, endpoint.start_field)
        end = _bound(endpoint, bucket, n, endpoint.end_field)
        if end <= start:
            raise BadData(f"bucket {n}: {endpoint.end_field} is not after {endpoint.start_field}")
        if not isinstance(bucket.get("results"), list):
            raise BadData(f"bucket {n}: results is not a list")
        buckets.append(Bucket(start, end, bucket["results"]))
    return buckets


def _bound(endpoint: Endpoint, bucket: dict, n: int, field: str) -> datetime:
    if bucket.get(field) is None:
        raise BadData(f"bucket {n} has no {field}")
    try:
        return endpoint.parse_time(bucket[field])
    except BadData as exc:
        raise BadData(f"bucket {n}: {field}: {exc}") from None


def _count_results(doc: object) -> int:
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, list):
        return 0
    results = (b.get("results") for b in data if isinstance(b, dict))
    return sum(len(r) for r in results if isinstance(r, list))


def _framed(endpoint: Endpoint, row: dict, bucket: Bucket, account: str) -> dict:
    day = bucket.start.date()
    framed = {
        "source_system": endpoint.source,
        "delivery_key": delivery_key(endpoint.source, account, day),
    }
    if endpoint.usage:
        framed |= {
            "provider": endpoint.provider,
            "usage_date": day,
            "bucket_start": bucket.start,
            "bucket_end": bucket.end,
        }
    else:
        month = bucket.start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        next_month = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
        framed |= {
            "charge_period_start": bucket.start,
            "charge_period_end": bucket.end,
            "billing_period_start": month,
            "billing_period_end": next_month,
        }
    return framed | row


# ---------------------------------------------------------------------------------------------
# value coercion (every failure raises BadData with a short reason)


def unix_time(value: object) -> datetime:
    """A bucket bound in unix seconds (OpenAI)."""
    try:
        if isinstance(value, bool) or not isinstance(value, int | Decimal) or value % 1:
            raise ValueError
        when = datetime.fromtimestamp(int(value), UTC)
    except (ValueError, ArithmeticError, OSError):
        raise BadData(f"expected unix seconds, got {str(value)[:30]!r}") from None
    return plausible(when)


def plausible(when: datetime) -> datetime:
    """`when` if it lies in [2000, 2100): other times are corrupt, not billing history."""
    if not EARLIEST <= when < LATEST:
        raise BadData(f"{when.isoformat()[:25]} is out of range (2000-2099)")
    return when


def rfc3339(value: object) -> datetime:
    """A bucket bound as an RFC 3339 timestamp (Anthropic); a missing offset means UTC."""
    if not isinstance(value, str):
        raise BadData(f"expected an RFC 3339 timestamp, got {str(value)[:30]!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadData(f"expected an RFC 3339 timestamp, got {value[:30]!r}") from None
    return plausible(parsed)


def decimal(value: object, field: str) -> Decimal:
    """An exact number from a JSON number or a decimal string."""
    if value is None or value == "":
        raise BadData(f"missing {field}")
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise BadData(f"{field}: expected a number, got {type(value).__name__}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise BadData(f"{field}: not a number: {str(value)[:30]!r}") from None
    if not number.is_finite():
        raise BadData(f"{field}: not a finite number")
    return number


def money(number: Decimal, field: str) -> Decimal:
    """The amount as DECIMAL(38, 18): rounded beyond 18 places, out of range rejected."""
    if abs(number) >= _MONEY_LIMIT:
        raise BadData(f"{field}: {number} is out of range")
    with localcontext() as ctx:
        ctx.prec = 60
        return number.quantize(_MONEY_STEP)


def tokens(value: object, field: str) -> int | None:
    """A non-negative integer count, or None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise BadData(f"{field}: expected an integer, got {type(value).__name__}")
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise BadData(f"{field}: expected an integer, got {value[:20]!r}") from None
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        raise BadData(f"{field}: expected a non-negative integer, got {value}")
    if number > INT64_MAX:
        raise BadData(f"{field}: {str(value)[:24]} is out of range")
    return int(number)


def text(value: object, field: str) -> str | None:
    """A non-empty string (ids given as numbers become strings), or None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadData(f"{field}: expected a string, got {type(value).__name__}")
    return str(value)


def extra_json(
    result: dict, consumed: Iterable[str], *, kept: Iterable[str] = (), more: dict | None = None
) -> str | None:
    """The result's unmapped fields (plus `kept` lossily mapped ones and `more`) as a JSON
    object with sorted keys; null values are dropped, and an empty object is NULL."""
    skip = set(consumed) - set(kept)
    extra = {k: v for k, v in result.items() if k not in skip and v is not None} | (more or {})
    return json.dumps(extra, sort_keys=True, default=_plain) if extra else None


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
