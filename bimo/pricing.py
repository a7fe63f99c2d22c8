"""Price tables from the genai-prices catalogue, offline.

Pricing per raw log row is too slow (~170 µs a call), so Bimo builds a small table instead: for
every (provider, model) seen in the logs, the unit prices of the five normalised token types per
validity window and per input-size tier. dbt joins requests to it (`int_llm_requests_priced`).

genai-prices semantics kept here: cache reads and cache writes without their own price cost the
input price; reasoning tokens are output tokens unless the model has a reasoning price; a tier
("cliff") applies to every token of a request whose total input reaches the tier's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib.metadata import version

from genai_prices import data_snapshot
from genai_prices.types import ModelPrice, TieredPrices

PRICE_COLUMNS = ("input", "cache_read", "cache_write", "output", "reasoning")
CATALOGUE = f"genai-prices {version('genai-prices')}"


@dataclass(frozen=True)
class PriceRow:
    """Unit prices in USD per million tokens, valid on [valid_from, valid_to) for requests whose
    total input tokens are at least `tier_start_tokens`."""

    prices_provider_id: str | None
    model_ref: str
    valid_from: date
    valid_to: date | None
    tier_start_tokens: int
    catalogue_model_id: str
    input: Decimal
    cache_read: Decimal
    cache_write: Decimal
    output: Decimal
    reasoning: Decimal


def _at(price: Decimal | TieredPrices | None, tokens: int) -> Decimal | None:
    if price is None or isinstance(price, Decimal):
        return price
    rate = price.base
    for tier in price.tiers:  # sorted ascending
        if tokens >= tier.start:
            rate = tier.price
    return rate


def _tier_starts(mp: ModelPrice) -> list[int]:
    starts = {0}
    for value in mp.__dict__.values():
        if isinstance(value, TieredPrices):
            starts.update(t.start for t in value.tiers)
    return sorted(starts)


def unit_prices(mp: ModelPrice, tokens: int) -> tuple[Decimal, ...] | None:
    """The five per-MTok prices at a given total input size, with genai-prices' fallbacks."""
    d = mp.__dict__
    inp, out = _at(d.get("input_mtok"), tokens), _at(d.get("output_mtok"), tokens)
    if inp is None and out is None:
        return None  # priced per request / image / second only: not a token model
    inp, out = inp or Decimal(0), out or Decimal(0)
    cache_read = _at(d.get("cache_read_mtok"), tokens)
    cache_write = _at(d.get("cache_write_mtok"), tokens)
    reasoning = _at(d.get("output_reasoning_mtok"), tokens)
    return (
        inp,
        inp if cache_read is None else cache_read,
        inp if cache_write is None else cache_write,
        out,
        out if reasoning is None else reasoning,
    )


def lookup(model_ref: str, prices_provider_id: str | None):
    """The catalogue entry for a model, or None. A provider the catalogue knows is required to
    match; a missing provider matches the model under any provider."""
    snap = data_snapshot.get_snapshot()
    try:
        return snap.find_provider_model(model_ref, None, prices_provider_id, None)[1]
    except LookupError:
        return None


def price_rows(
    prices_provider_id: str | None, model_ref: str, first_day: date, last_day: date
) -> list[PriceRow]:
    """Price rows covering [first_day, last_day] for one model, merged into validity windows."""
    info = lookup(model_ref, prices_provider_id)
    if info is None:
        return []
    rows: list[PriceRow] = []
    open_rows: dict[int, PriceRow] = {}
    day = first_day
    while day <= last_day:
        mp = info.get_prices(datetime.combine(day, time(12), tzinfo=UTC))
        current = {}
        for start in _tier_starts(mp):
            p = unit_prices(mp, start)
            if p is not None:
                current[start] = p
        if {k: tuple(_prices(v)) for k, v in open_rows.items()} != current:
            for r in open_rows.values():
                rows.append(_close(r, day))
            open_rows = {
                start: PriceRow(prices_provider_id, model_ref, day, None, start, info.id, *p)
                for start, p in current.items()
            }
        day += timedelta(days=1)
    rows.extend(open_rows.values())  # the last window stays open-ended
    return rows


def _prices(r: PriceRow) -> tuple[Decimal, ...]:
    return (r.input, r.cache_read, r.cache_write, r.output, r.reasoning)


def _close(r: PriceRow, day: date) -> PriceRow:
    return PriceRow(**{**r.__dict__, "valid_to": day})
