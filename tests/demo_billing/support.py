"""Readers shared by the demo-billing tests: FOCUS/CUR CSVs (any dialect) and API pages."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from bimo.demo.billing.truth import fmt

END_ARGS = {"days": 45, "requests_per_day": 150}
NULLS = ("", "NULL")


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str | None]]]:
    """Header and rows of a (gzipped) CSV, BOM stripped, NULL tokens and "" as None."""
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    rows = [
        {k: (None if v in NULLS else v) for k, v in zip(header, r, strict=True)} for r in reader
    ]
    return header, rows


def totals(rows, currency: str, category: str, value: str) -> dict[str, dict[str, str]]:
    acc: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in rows:
        if r.get(value) is not None:
            acc[r[currency]][r[category]] += Decimal(r[value])
    return {c: {k: fmt(v) for k, v in sorted(cats.items())} for c, cats in sorted(acc.items())}


def grand_total(by_currency: dict[str, dict[str, str]]) -> Decimal:
    return sum((Decimal(v) for cats in by_currency.values() for v in cats.values()), Decimal(0))


def load_page(path: Path) -> dict:
    """A saved API page with every number parsed as Decimal (no float rounding)."""
    return json.loads(path.read_text(), parse_float=Decimal)
