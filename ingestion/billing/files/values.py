"""Vectorised value parsers for billing columns (polars expressions over string columns).

Failures become null, never an exception: the caller compares nulls before and after to find
the rows to quarantine. Money goes text → Decimal(38, 18) without touching a float.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

MONEY = pl.Decimal(38, 18)
TS = pl.Datetime("us", "UTC")
_ISO = (
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,](\d+))?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$"
)
_US = r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$"


def money(raw: pl.Expr) -> pl.Expr:
    """Exact Decimal(38, 18) from text: E-notation and quoted numbers, never via float."""
    return raw.str.strip_chars().cast(MONEY, strict=False)


def number(raw: pl.Expr) -> pl.Expr:
    return raw.str.strip_chars().cast(pl.Float64, strict=False)


def _two(e: pl.Expr) -> pl.Expr:
    return e.str.pad_start(2, "0")


def timestamp(raw: pl.Expr) -> pl.Expr:
    """UTC timestamp from ISO (T or space, Z/UTC/offset/none, optional seconds) or US M/D/Y.

    Parsed once per distinct value: billing files repeat a few hundred hour stamps millions of
    times, and the regex normalisation is the expensive part."""

    def batch(s: pl.Series) -> pl.Series:
        distinct = s.drop_nulls().unique()
        parsed = pl.DataFrame({"v": distinct}).select(_timestamp(pl.col("v"))).to_series()
        return s.replace_strict(distinct, parsed, default=None, return_dtype=TS)

    return raw.map_batches(batch, return_dtype=TS)


def _timestamp(raw: pl.Expr) -> pl.Expr:
    s = raw.str.strip_chars()
    iso = s.str.extract_groups(_ISO)
    frac = iso.struct.field("7").fill_null("0").str.slice(0, 6).str.pad_end(6, "0")
    zone = iso.struct.field("8").fill_null("Z").str.replace(":", "", literal=True)
    sign = pl.when(zone.str.starts_with("-")).then(-1).otherwise(1)
    hhmm = zone.str.extract(r"^[+-](\d{2})(\d{2})?$", 1).cast(pl.Int64).fill_null(0) * 60
    mins = zone.str.extract(r"^[+-]\d{2}(\d{2})$", 1).cast(pl.Int64).fill_null(0)
    offset = sign * (hhmm + mins)
    iso_ts = _assemble(
        iso.struct.field("1"),
        iso.struct.field("2"),
        iso.struct.field("3"),
        iso.struct.field("4"),
        iso.struct.field("5"),
        iso.struct.field("6"),
        frac,
    ) - pl.duration(minutes=offset)
    us = s.str.extract_groups(_US)
    hour = us.struct.field("4").cast(pl.Int64, strict=False).fill_null(0)
    ampm = us.struct.field("7").str.to_uppercase()
    hour = (
        pl.when((ampm == "PM") & (hour < 12))
        .then(hour + 12)
        .when((ampm == "AM") & (hour == 12))
        .then(0)
        .otherwise(hour)
    )
    us_ts = _assemble(
        us.struct.field("3"),
        us.struct.field("1"),
        us.struct.field("2"),
        hour.cast(pl.String),
        us.struct.field("5"),
        us.struct.field("6"),
        pl.lit("000000"),
    )
    return pl.coalesce(iso_ts, us_ts)


def _assemble(y, mo, d, h, mi, sec, frac) -> pl.Expr:
    text = pl.concat_str(
        [y, pl.lit("-"), _two(mo), pl.lit("-"), _two(d), pl.lit(" "),
         _two(h.fill_null("0")), pl.lit(":"), _two(mi.fill_null("0")), pl.lit(":"),
         _two(sec.fill_null("0")), pl.lit("."), frac]
    )  # fmt: skip
    parsed = text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
    return parsed.dt.replace_time_zone("UTC")


def month_start(ts: pl.Expr) -> pl.Expr:
    return ts.dt.truncate("1mo")


def next_month(ts: pl.Expr) -> pl.Expr:
    return ts.dt.offset_by("1mo")


def json_str(value: pl.Expr) -> pl.Expr:
    """The JSON encoding of a value (a quoted, escaped string for text; null stays null)."""
    encoded = pl.struct(value.alias("v")).struct.json_encode()
    return pl.when(value.is_not_null()).then(encoded.str.slice(5).str.head(-1))


def json_object(items: dict[str, pl.Expr]) -> pl.Expr:
    """A JSON object string of the non-null items, NULL when all are null (vectorised: one
    struct encode, then the `"key":null` members are cut out — an unescaped `"` cannot occur
    inside a JSON string, so the patterns only ever match whole members)."""
    if not items:
        return pl.lit(None, pl.String)
    encoded = pl.struct([e.cast(pl.String).alias(k) for k, e in items.items()]).struct.json_encode()
    member = r'"(?:[^"\\]|\\.)*":null'
    body = encoded.str.replace_all("," + member, "").str.replace(r"^\{" + member + ",?", "{")
    return pl.when(body != "{}").then(body)


def per_unique(raw: pl.Expr, fn: Callable[[str], str | None]) -> pl.Expr:
    """Apply a Python normaliser once per distinct value (tags repeat across millions of rows)."""

    def batch(s: pl.Series) -> pl.Series:
        mapping = {v: fn(v) for v in s.drop_nulls().unique().to_list()}
        if not mapping:
            return pl.Series(s.name, [None] * len(s), dtype=pl.String)
        return s.replace_strict(mapping, default=None, return_dtype=pl.String)

    return raw.map_batches(batch, return_dtype=pl.String)
