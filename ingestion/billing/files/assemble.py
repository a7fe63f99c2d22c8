"""Turn mapped polars expressions into a `BillingParse`: quarantine, extra, delivery fields.

A format module resolves its headers with `Header`, builds one expression per target column with
a `Mapper` (which records, per row, why a value could not be used), then calls `finish`. Rows
with a reason are quarantined with their 1-based data line; every other row is loaded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import polars as pl

from ingestion.billing.files.common import LINE, Rows, read_rows
from ingestion.billing.files.values import json_object, json_str, money, number, timestamp
from ingestion.billing.schema import LINE_ITEM_SCHEMA, BillingParse
from ingestion.formats.common import EARLIEST, LATEST

POLARS_SCHEMA = pl.from_arrow(LINE_ITEM_SCHEMA.empty_table()).schema


# ---------------------------------------------------------------------------------------------
# deliveries


@dataclass(frozen=True)
class Delivery:
    """Which delivery a file belongs to and how it orders against other deliveries of its key."""

    source_system: str
    file: Path
    delivery_id: str
    rank: int  # a listing manifest's mtime, else the file's mtime, in microseconds


def delivery_for(path: Path, source_system: str) -> Delivery:
    """Legacy CUR / Data Exports manifest listing the file → its assemblyId/executionId and
    mtime (shared by every part of that delivery). Otherwise the parts of a multi-part export
    (`part_0_0001.csv`, `part_1_0001.csv`, Spark `part-00001-<job>…`, BigQuery shards
    `…-000000000001.json`) in one folder are one delivery ranked by the newest part's mtime, so
    a part written a little earlier is never taken for an older delivery; any other file is its
    own delivery ranked by its mtime."""
    for manifest in manifests_near(path):
        ident, keys = _manifest(str(manifest), manifest.stat().st_mtime_ns)
        for key in keys:
            parts = key.rstrip("/").split("/")
            beside = manifest.parent == path.parent or (
                len(parts) > 1 and parts[-2] == path.parent.name
            )
            if parts[-1] == path.name and beside and ident:
                return Delivery(source_system, path, ident, manifest.stat().st_mtime_ns // 1000)
    group = part_group(path.name)
    if group != path.name:
        rank = _part_ranks(str(path.parent), path.parent.stat().st_mtime_ns).get(group)
        if rank is not None:
            return Delivery(source_system, path, str(path.parent / group), rank)
    return Delivery(source_system, path, path.name, path.stat().st_mtime_ns // 1000)


_PART = re.compile(r"(?i)(?<![a-z0-9])(part[-_]?)\d+(?:_\d+)?|(?<=[-_])\d{12}(?=\.)")


def part_group(name: str) -> str:
    """A file name with its part number blanked (`part_3_0001.csv` → `part_*.csv`); names
    without a part number come back unchanged."""
    return _PART.sub(lambda m: f"{m.group(1) or ''}*", name)


@lru_cache(maxsize=256)
def _part_ranks(folder: str, _mtime: int) -> dict[str, int]:
    ranks: dict[str, int] = {}
    for f in Path(folder).iterdir():
        group = part_group(f.name)
        if group != f.name and f.is_file():
            ranks[group] = max(ranks.get(group, 0), f.stat().st_mtime_ns // 1000)
    return ranks


def manifests_near(path: Path) -> list[Path]:
    """`*-Manifest.json` beside the file, one folder up (legacy CUR assembly folders) and in
    Data Exports' `metadata/<partition>/` sibling tree."""
    folders = [
        path.parent,
        path.parent.parent,
        path.parent.parent.parent / "metadata" / path.parent.name,
    ]
    return [
        m for f in dict.fromkeys(folders) if f.is_dir() for m in sorted(f.glob("*-Manifest.json"))
    ]


@lru_cache(maxsize=256)
def _manifest(path: str, _mtime: int) -> tuple[str | None, tuple[str, ...]]:
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None, ()
    if not isinstance(info, dict):
        return None, ()
    ident = info.get("assemblyId") or info.get("executionId")
    keys = [
        k for k in [*info.get("reportKeys", []), *info.get("dataFiles", [])] if isinstance(k, str)
    ]
    return (str(ident) if ident else None), tuple(keys)


# ---------------------------------------------------------------------------------------------
# header resolution and typed mapping with per-row reasons


class Header:
    """Finds source columns by any of their dialect spellings; remembers which were mapped."""

    def __init__(self, columns: Iterable[str], key: Callable[[str], str] = lambda c: c):
        self.key = key
        self.columns = [c for c in columns if c != LINE]
        self.by_key: dict[str, str] = {}
        for c in self.columns:
            self.by_key.setdefault(key(c), c)
        self.used: set[str] = set()

    def find(self, *names: str) -> str | None:
        for n in names:
            if (hit := self.by_key.get(self.key(n))) is not None:
                return hit
        return None

    def col(self, *names: str) -> pl.Expr:
        """The first present spelling (marked as mapped), else a NULL string literal."""
        hit = self.find(*names)
        if hit is None:
            return pl.lit(None, pl.String)
        self.used.add(hit)
        return pl.col(hit)

    def peek(self, *names: str) -> pl.Expr:
        """Like `col`, but the column stays in `extra` (read for a derivation, not mapped)."""
        hit = self.find(*names)
        return pl.lit(None, pl.String) if hit is None else pl.col(hit)

    def require(self, path: Path, what: str, groups: dict[str, tuple[str, ...]]) -> None:
        """Structural check: raise ValueError naming the file and every missing column."""
        missing = [label for label, names in groups.items() if self.find(*names) is None]
        if len(missing) == len(groups):
            raise ValueError(
                f"{path}: no recognisable {what} header (expected columns like "
                f"{', '.join(list(groups)[:4])}; found {', '.join(self.columns[:8]) or 'none'})"
            )
        if missing:
            raise ValueError(
                f"{path}: {what} file is missing required column(s) {', '.join(missing)}"
            )


@dataclass
class Mapper:
    """Typed parsing that records a quarantine reason whenever a present value does not parse.

    Parsed values are materialised once as hidden columns (`__p<n>`), so the value and its
    check never parse the same text twice."""

    checks: list[pl.Expr] = field(default_factory=list)
    parsed: dict[str, pl.Expr] = field(default_factory=dict)

    def value(
        self, label: str, raw: pl.Expr, parsed: pl.Expr | None, *, required: bool = False
    ) -> pl.Expr:
        """`parsed` (built from `raw`) as a hidden column; where raw is set but it is null,
        the row gets a quarantine reason."""
        if required:
            self.checks.append(pl.when(raw.is_null()).then(pl.lit(f"missing {label}")))
        if parsed is None:
            return raw
        name = f"__p{len(self.parsed)}"
        self.parsed[name] = parsed
        shown = json_str(raw.str.slice(0, 60))
        self.checks.append(
            pl.when(raw.is_not_null() & pl.col(name).is_null()).then(
                pl.concat_str([pl.lit(f"unparseable {label}: "), shown])
            )
        )
        return pl.col(name)

    def text(self, label: str, raw: pl.Expr, *, required: bool = False) -> pl.Expr:
        return self.value(label, raw, None, required=required)

    def money(self, label: str, raw: pl.Expr, *, required: bool = False) -> pl.Expr:
        return self.value(label, raw, money(raw), required=required)

    def number(self, label: str, raw: pl.Expr, *, required: bool = False) -> pl.Expr:
        return self.value(label, raw, number(raw), required=required)

    def timestamp(self, label: str, raw: pl.Expr, *, required: bool = False) -> pl.Expr:
        """A parsed UTC timestamp; one outside [2000, 2100) is a corrupt value, quarantined."""
        parsed = self.value(label, raw, timestamp(raw), required=required)
        self.checks.append(
            pl.when(~parsed.is_between(pl.lit(EARLIEST), pl.lit(LATEST), closed="left")).then(
                pl.concat_str(
                    [pl.lit(f"{label} out of range (2000-2099): "), json_str(raw.str.slice(0, 60))]
                )
            )
        )
        return parsed


def currency(raw: pl.Expr) -> pl.Expr:
    return raw.str.strip_chars().str.to_uppercase()


def usd_rate(billing_currency: pl.Expr, rate: pl.Expr | None = None) -> pl.Expr:
    """USD per 1 unit of billing currency: 1.0 for USD rows, else the given rate (may be null)."""
    other = pl.lit(None, pl.Float64) if rate is None else rate
    return pl.when(billing_currency == "USD").then(pl.lit(1.0)).otherwise(other)


def open_export(
    path: Path,
    what: str,
    required: dict[str, tuple[str, ...]],
    *,
    key: Callable[[str], str] = lambda c: c,
    null_tokens: tuple[str, ...] | None = None,
) -> tuple[Path, Rows, Header, Mapper]:
    """Read an export and check its header: the opening every format parser shares."""
    path = Path(path)
    rows = read_rows(path) if null_tokens is None else read_rows(path, null_tokens=null_tokens)
    header = Header(rows.frame.columns, key)
    header.require(path, what, required)
    return path, rows, header, Mapper()


def alnum_key(column: str) -> str:
    """Case- and punctuation-blind header key: `lineItem/UnblendedCost` = `line_item_...`."""
    return re.sub(r"[^a-z0-9]", "", column.lower())


def unknown_value(raw: pl.Expr, known: Iterable[str], label: str) -> pl.Expr:
    """A conformance issue for a value outside the known set (the row is kept, not rejected)."""
    quoted = pl.concat_str([pl.lit(f"unknown {label} '"), raw, pl.lit("'")])
    return issue(raw.is_not_null() & ~raw.is_in(list(known)), quoted)


def issue(condition: pl.Expr, message: str | pl.Expr) -> pl.Expr:
    """One conformance issue (a JSON string) when the condition holds."""
    text = pl.lit(message) if isinstance(message, str) else message
    return pl.when(condition).then(json_str(text))


def enum_value(raw: pl.Expr, allowed: Iterable[str], label: str) -> tuple[pl.Expr, list[pl.Expr]]:
    """Case-insensitive match to the allowed spelling, plus casing/unknown-value issues."""
    canon = {v.lower(): v for v in allowed}
    fixed = raw.str.strip_chars().str.to_lowercase().replace_strict(canon, default=None)
    quoted = pl.concat_str([pl.lit("'"), raw, pl.lit("'")])
    issues = [
        issue(
            fixed.is_not_null() & (fixed != raw),
            pl.concat_str([pl.lit(f"{label} casing "), quoted]),
        ),
        issue(
            raw.is_not_null() & fixed.is_null(),
            pl.concat_str([pl.lit(f"unknown {label} "), quoted]),
        ),
    ]
    return pl.coalesce(fixed, raw), issues


# ---------------------------------------------------------------------------------------------
# the final step shared by every format


def finish(
    rows: Rows,
    mapped: dict[str, pl.Expr],
    *,
    delivery: Delivery,
    header: Header,
    mapper: Mapper,
    issues: list[pl.Expr] | None = None,
    extra: dict[str, pl.Expr] | None = None,
    key_suffix: list[pl.Expr] | None = None,
) -> BillingParse:
    """Quarantine rows with a reason, keep unmapped (and all x_) columns in `extra`, add the
    restatement fields and return the line items in LINE_ITEM_SCHEMA."""
    unmapped = {c: pl.col(c) for c in header.columns if c not in header.used or c.startswith("x_")}
    reason = pl.coalesce(mapper.checks) if mapper.checks else pl.lit(None, pl.String)
    issue_body = pl.concat_str(
        issues or [pl.lit(None, pl.String)], separator=",", ignore_nulls=True
    )
    frame = (
        rows.frame.lazy()
        .with_columns(**mapper.parsed)
        .select(
            pl.col(LINE),
            reason.alias("__reason__"),
            *(expr.alias(name) for name, expr in mapped.items()),
            json_object({**unmapped, **(extra or {})}).alias("extra"),
            pl.when(issue_body != "")
            .then(pl.concat_str([pl.lit("["), issue_body, pl.lit("]")]))
            .alias("conformance_issues"),
        )
        .collect(engine="streaming")
    )
    bad = frame.filter(pl.col("__reason__").is_not_null())
    source, file = delivery.source_system, str(delivery.file)
    reasons = [*rows.unreadable, *bad.select(LINE, "__reason__").iter_rows()]
    quarantine = [
        {"source": source, "file": file, "line": line, "reason": why}
        for line, why in sorted(reasons)
    ]
    good = frame.filter(pl.col("__reason__").is_null())
    key = pl.concat_str(
        [
            pl.lit(source),
            pl.col("billing_account_id"),
            pl.col("billing_period_start").dt.strftime("%Y-%m"),
            *(key_suffix or []),
        ],
        separator="|",
    )
    fixed = {
        "source_system": pl.lit(source),
        "delivery_key": key,
        "delivery_id": pl.lit(delivery.delivery_id),
        "delivery_rank": pl.lit(delivery.rank, pl.Int64),
        "_source_file": pl.lit(file),
        "_source_line": pl.col(LINE),
    }
    out = good.select(
        (fixed[n] if n in fixed else pl.col(n) if n in good.columns else pl.lit(None))
        .cast(dtype)
        .alias(n)
        for n, dtype in POLARS_SCHEMA.items()
    )
    table = out.to_arrow().cast(LINE_ITEM_SCHEMA)
    return BillingParse(line_items=table, quarantine=quarantine, rows_in=rows.rows_in)
