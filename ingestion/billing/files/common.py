"""Shared readers for billing export files (CSV, gzip CSV, Parquet, JSON / JSON lines).

Every reader returns `Rows`: all columns as strings (nulls normalised), a 1-based `LINE` column and
the records that could not even be read (ragged CSV lines, invalid JSON) for quarantine. Values are
parsed afterwards, vectorised, by `values`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.billing.files.values import json_str

LINE = "__line__"
NULL_TOKENS = ("NULL",)


@dataclass
class Rows:
    """The data rows of one file, every column a string, plus the rows that could not be read."""

    frame: pl.DataFrame
    unreadable: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    @property
    def rows_in(self) -> int:
        return self.frame.height + len(self.unreadable)


def suffix(path: Path) -> str:
    """The data suffix of a billing file: csv, csv.gz, parquet, json, jsonl, json.gz, ..."""
    name = path.name.lower()
    for known in ("csv.gz", "json.gz", "jsonl.gz", "ndjson.gz", "csv.zip", "parquet"):
        if name.endswith("." + known):
            return known
    return name.rsplit(".", 1)[-1] if "." in name else ""


def read_rows(path: Path, *, null_tokens: tuple[str, ...] = NULL_TOKENS) -> Rows:
    """Read a CSV / gzip CSV / Parquet / JSON(L) billing file into string columns."""
    kind = suffix(path)
    if kind == "parquet":
        rows = Rows(_parquet_strings(path))
    elif kind in ("json", "jsonl", "ndjson", "json.gz", "jsonl.gz", "ndjson.gz"):
        rows = _read_json(path)
    elif kind in ("csv", "csv.gz", "txt"):
        rows = _read_csv(path)
    else:
        raise ValueError(f"{path}: unsupported billing file type {kind!r}")
    names = [c.lstrip("\ufeff").strip() or f"column_{i}" for i, c in enumerate(rows.frame.columns)]
    frame = rows.frame.rename(dict(zip(rows.frame.columns, names, strict=True)))
    tokens = list(null_tokens)
    frame = frame.with_columns(
        pl.when(pl.col(c).str.strip_chars().is_in(["", *tokens]))
        .then(None)
        .otherwise(pl.col(c))
        .alias(c)
        for c in frame.columns
        if c != LINE
    )
    return Rows(frame, rows.unreadable)


def _gunzip(path: Path, data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error):
        raise ValueError(f"{path}: gzip stream is truncated or corrupt") from None


def _read_csv(path: Path) -> Rows:
    data = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        data = _gunzip(path, data)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise ValueError(f"{path}: empty file, no header row")
    if not data.endswith((b"\n", b"\r")):
        # A file cut mid-row: polars would pad the short last row with nulls and load it.
        return _read_csv_slow(data)
    try:
        frame = pl.read_csv(data, infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.ComputeError:  # ragged lines: find them with the csv module
        return _read_csv_slow(data)
    return Rows(frame.with_row_index(LINE, offset=1).with_columns(pl.col(LINE).cast(pl.Int64)))


def _read_csv_slow(data: bytes) -> Rows:
    records = csv.reader(io.StringIO(data.decode("utf-8", errors="replace")))
    header = next(records)
    good: list[list[str | None]] = []
    lines: list[int] = []
    bad: list[tuple[int, str]] = []
    for n, record in enumerate(records, start=1):
        if len(record) == len(header):
            good.append(record)
            lines.append(n)
        else:
            bad.append((n, f"malformed CSV row: expected {len(header)} fields, got {len(record)}"))
    frame = pl.DataFrame(
        {h: [r[i] for r in good] for i, h in enumerate(header)},
        schema={h: pl.String for h in header},
    )
    return Rows(frame.with_columns(pl.Series(LINE, lines, dtype=pl.Int64)), bad)


def _maps_as_lists(table: pa.Table) -> pa.Table:
    """Arrow maps → list<struct<key, value>> (the shape GCP arrays and our tag parser share)."""
    for i, f in enumerate(table.schema):
        if not pa.types.is_map(f.type):
            continue
        entry = pa.struct([("key", f.type.key_type), ("value", f.type.item_type)])
        chunks = [
            pa.ListArray.from_arrays(
                c.offsets,
                pa.StructArray.from_arrays([c.keys, c.items], fields=list(entry)),
                mask=c.is_null(),
            )
            for c in table.column(i).chunks
        ]
        table = table.set_column(i, f.name, pa.chunked_array(chunks, pa.list_(entry)))
    return table


def _parquet_strings(path: Path) -> pl.DataFrame:
    frame = pl.from_arrow(_maps_as_lists(pq.read_table(path)))
    assert isinstance(frame, pl.DataFrame)
    out = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.String:
            out.append(col)
        elif isinstance(dtype, pl.Datetime):
            utc = col.dt.convert_time_zone("UTC") if dtype.time_zone else col
            out.append(utc.dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ").alias(name))
        elif dtype == pl.Boolean:
            out.append(pl.when(col).then(pl.lit("true")).otherwise(pl.lit("false")).alias(name))
        elif isinstance(dtype, pl.List | pl.Array | pl.Struct):  # maps arrive as [{key, value}]
            out.append(json_str(col).alias(name))
        else:
            out.append(col.cast(pl.String).alias(name))
    frame = frame.select(out).with_row_index(LINE, offset=1)
    return frame.with_columns(pl.col(LINE).cast(pl.Int64))


def _read_json(path: Path) -> Rows:
    raw = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        raw = _gunzip(path, raw)
    text = raw.decode("utf-8-sig", errors="replace")  # as lossy as the CSV reader
    records: list[tuple[int, object]] = []
    bad: list[tuple[int, str]] = []
    if text.lstrip().startswith("["):
        try:
            records = list(enumerate(_loads(text), start=1))
        except ValueError as exc:
            raise ValueError(f"{path}: invalid JSON array: {exc}") from None
    else:
        for n, line in enumerate((ln for ln in text.splitlines() if ln.strip()), start=1):
            try:
                records.append((n, _loads(line)))
            except ValueError as exc:
                bad.append((n, f"invalid JSON: {str(exc)[:80]}"))
    flat: list[dict[str, str | None]] = []
    lines: list[int] = []
    for n, record in records:
        if isinstance(record, dict):
            flat.append(flatten(record))
            lines.append(n)
        else:
            bad.append((n, f"invalid JSON: expected an object, got {type(record).__name__}"))
    names = list(dict.fromkeys(k for row in flat for k in row))
    schema = dict.fromkeys(names, pl.String)
    frame = pl.from_dicts(flat, schema=schema) if flat else pl.DataFrame(schema=schema)
    return Rows(frame.with_columns(pl.Series(LINE, lines, dtype=pl.Int64)), sorted(bad))


def _loads(text: str) -> object:
    # decimals keep their exact text (1.2E-9 never becomes a float)
    return json.loads(text, parse_float=Decimal)


def _number(value: object) -> object:
    """JSON for a Decimal inside an array: a number when a float shows it exactly, else text."""
    if isinstance(value, Decimal):
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def flatten(record: dict, prefix: str = "", out: dict | None = None) -> dict[str, str | None]:
    """Nested records become dotted keys (`service.description`); arrays become JSON strings."""
    out = {} if out is None else out
    for key, value in record.items():
        kind = type(value)
        if kind is dict:
            flatten(value, f"{prefix}{key}.", out)
        elif kind is list:
            out[prefix + key] = json.dumps(value, default=_number)
        elif kind is str or value is None:
            out[prefix + key] = value
        elif kind is bool:
            out[prefix + key] = "true" if value else "false"
        else:
            out[prefix + key] = str(value)
    return out
