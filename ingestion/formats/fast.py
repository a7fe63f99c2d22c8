"""A fast path for the usual JSON Lines record, with the format's parser for every other one.

`orjson` builds every value of a record, prompt and response bodies included, and the parser
then checks each field in Python: about 15 µs per gateway record, most of a history load. A
format's fast path has `msgspec` decode the fields its parser reads into a typed Struct, in C,
and step over the rest without building it; a record takes it only where the result is the
parser's own, and any other record (a missing or empty field, a number as a string, a naive
time, a line that is not plain JSON...) goes to the parser as before. Tested field by field
against the parser (tests/test_parse_fast.py): rows, quarantine rows and counts are the same.

Where the two could part, the fast path steps aside:
- msgspec does not check the UTF-8 of the values it steps over; orjson rejects a line with
  invalid UTF-8 anywhere. A line that is not ASCII is checked with Python's UTF-8 decoder first.
- msgspec gives up on nesting at Python's recursion limit, orjson at 1,024 levels: with the
  limit raised above that, no line takes the fast path (`usable`).
- A number beyond a double's range in a value stepped over passes msgspec's check but not
  orjson's. `readers.loads` reads such a record as JSON allows (the number becomes ±inf), so
  the parser's rules decide, as they do on the fast path: an unread field does not matter.
"""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated

import msgspec
import orjson

from ingestion.formats.common import CONTENT_KEYS, EARLIEST, INT64_MAX, LATEST, iso_utc
from ingestion.readers import msgspec_nests_less, valid_utf8

MAX_EXTRA_KEYS = 64
"""Unknown top-level keys a fast path learns; a record with another one takes the parser."""
EXTRAS_MEMO = 4096
"""Distinct values of the unknown keys whose `extra` a fast path remembers (forgotten all at once
when full)."""
MEMO_TEXT = 256
"""The most characters of text among a line's unknown values that a remembered entry may hold:
a line whose unknown keys hold more is not remembered (the memo stays under ~1 MB of text)."""
Count = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
"""What `common.count` keeps as it is (an integral float or a numeric string: `parse`)."""
Text = Annotated[str, msgspec.Meta(min_length=1)]
"""What `common.text` keeps as it is, but for "None", which a fast path looks for in its row."""
Money = Annotated[float, msgspec.Meta(ge=0)]
"""What `common.money` keeps (a JSON integer becomes its float; a numeric string: `parse`)."""
_UNKNOWN = re.compile(r"Object contains unknown field `(.*)`")
_SCALARS = (int, float, bool)
FALLBACK = object()
"""What a fast path returns for a record the parser must read."""


def usable() -> bool:
    """Whether lines may take the fast path: not with `BIMO_PARSE_FAST=0` (for comparisons), nor
    unless msgspec's nesting limit (Python's recursion limit) is below orjson's (1,024)."""
    return os.environ.get("BIMO_PARSE_FAST", "1") != "0" and msgspec_nests_less()


def instant(text: str) -> datetime | None:
    """What `common.timestamp` makes of `text` where `datetime.fromisoformat` reads it (with
    an offset, or naive: UTC) in [2000, 2100); None for anything else, which `timestamp` reads
    by other rules or quarantines."""
    try:
        when = iso_utc(text)
    except (ValueError, OverflowError):
        return None
    return when if EARLIEST <= when < LATEST else None


class Lines:
    """Decodes a format's lines into `base`, a Struct of the fields its parser reads (the others
    are stepped over). With `extras`, for a format that keeps its unknown top-level fields'
    scalars (`scalar_extras`), it learns those keys as it meets them: each becomes a field of any
    JSON type, and `extras` keeps the scalar ones. Its content keys (`CONTENT_KEYS`) must then
    be fields of `base` (`stepped_over`). With `columns` (attribute paths into `base`, in the
    format's `COLUMNS` order, its time second), `row` is the format's `fast_row`."""

    def __init__(
        self, base: type[msgspec.Struct], columns: Sequence[str] = (), *, extras: bool = False
    ) -> None:
        self.base, self.learns = base, extras
        self.keys: list[str] = []
        self._memo: dict[tuple, object] = {}
        self._decode = self._decoder() if extras else msgspec.json.Decoder(base).decode
        self._columns = operator.attrgetter(*columns) if columns else None

    def row(self, line: bytes) -> tuple | object:
        """The row `parse` makes of this line, as a tuple in `COLUMNS` order (`extra` last, for a
        format that keeps it); `FALLBACK` when `parse` must read it: for a format whose values
        need no more than `Text`, `Count`, `Money` and booleans check, and whose time is an ISO
        text."""
        rec = self.decode(line)
        if rec is None:
            return FALLBACK
        row = self._columns(rec)
        if "None" in row:  # `text` reads "None" as missing
            return FALLBACK
        when = instant(row[1])
        if when is None:
            return FALLBACK
        if not self.learns:
            return (row[0], when, *row[2:])
        extra = self.extras(rec)
        return FALLBACK if extra is FALLBACK else (row[0], when, *row[2:], extra)

    def _decoder(self) -> Callable[[bytes], msgspec.Struct]:
        fields = [
            (f"x{i}", object, msgspec.field(default=msgspec.UNSET, name=key))
            for i, key in enumerate(self.keys)
        ]
        struct = msgspec.defstruct(
            f"{self.base.__name__}Line",
            fields,
            bases=(self.base,),
            forbid_unknown_fields=True,
            gc=False,
        )
        names = [f"x{i}" for i in range(len(self.keys))]
        get = operator.attrgetter(*names) if names else (lambda _rec: ())
        self._values = get if len(names) != 1 else (lambda rec: (get(rec),))
        return msgspec.json.Decoder(struct).decode

    def decode(self, line: bytes) -> msgspec.Struct | None:
        """The line's Struct; None when the parser must read it."""
        if not valid_utf8(line):
            return None
        while True:
            try:
                return self._decode(line)
            except msgspec.ValidationError as exc:
                found = _UNKNOWN.fullmatch(str(exc))
                if found is None or len(self.keys) >= MAX_EXTRA_KEYS:
                    return None
                self.keys.append(found.group(1))
                self._decode = self._decoder()
            except (msgspec.DecodeError, RecursionError):
                return None

    def extras(self, rec: msgspec.Struct) -> object:
        """`common.scalar_extras` of the record; `FALLBACK` for an integer orjson would have
        read as a float (outside 64 bits, where `orjson.dumps` refuses it too).

        Most lines repeat a few values of their unknown keys (a retry count, a flag, a region),
        so the JSON is remembered by the values and their types: equal values of one type dump
        alike (`True == 1` and `1 == 1.0` differ in type), but for floats (`-0.0 == 0.0`), which
        are never remembered, as lists and objects (unhashable) and long texts (`MEMO_TEXT`) are
        not. A key learned later makes every values tuple longer, so no remembered one is read
        against other keys."""
        values = self._values(rec)
        types = tuple(map(type, values))
        if float in types:
            return self._extras(values)
        key = (values, types)
        try:
            return self._memo[key]
        except KeyError:
            pass
        except TypeError:  # a list or an object among the values
            return self._extras(values)
        out = self._extras(values)
        if sum(len(v) for v in values if type(v) is str) <= MEMO_TEXT:
            if len(self._memo) >= EXTRAS_MEMO:
                self._memo.clear()
            self._memo[key] = out
        return out

    def _extras(self, values: tuple) -> object:
        keep = {
            key: value
            for key, value in zip(self.keys, values, strict=True)
            if value is None or type(value) in _SCALARS
        }
        if not keep:
            return None
        try:
            return orjson.dumps(keep, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:
            return FALLBACK


def stepped_over(name: str, keys: frozenset[str]) -> type[msgspec.Struct]:
    """A Struct of the content keys and `keys` (known keys a parser does not read), each of any
    JSON type and stepped over, for a format's Struct to extend."""
    fields = [(k, msgspec.Raw, msgspec.UNSET) for k in sorted(CONTENT_KEYS | keys)]
    return msgspec.defstruct(name, fields, kw_only=True, gc=False)
