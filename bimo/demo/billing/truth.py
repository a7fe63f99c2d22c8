"""`BillingTruth`: what the billing generator wrote and the totals a loader must reproduce.
Money is kept as decimal strings throughout; sums are exact (Decimal) over the written values."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import orjson

SCHEMA = "bimo.demo.billing_truth.v1"


def fmt(value: Decimal) -> str:
    """A plain decimal string without trailing zeros (never E-notation)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()


def sums(
    rows: Iterable[Mapping[str, object]], currency: str, category: str, values: tuple[str, ...]
) -> dict[str, dict[str, dict[str, str]]]:
    """{snake(value column): {currency: {category: decimal string}}} over rows (NULL skipped)."""
    acc: dict[str, dict[str, dict[str, Decimal]]] = {
        snake(v): defaultdict(lambda: defaultdict(Decimal)) for v in values
    }
    for r in rows:
        for v in values:
            if r.get(v) not in (None, ""):
                acc[snake(v)][str(r[currency])][str(r[category])] += Decimal(str(r[v]))
    return {
        name: {
            cur: {cat: fmt(x) for cat, x in sorted(cats.items())}
            for cur, cats in sorted(by.items())
        }
        for name, by in acc.items()
    }


def add_sums(total: dict, more: dict) -> dict:
    """Add two `sums` results (per value, currency and category)."""
    out: dict = {}
    for name in sorted(set(total) | set(more)):
        merged: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for part in (total.get(name, {}), more.get(name, {})):
            for cur, cats in part.items():
                for cat, x in cats.items():
                    merged[cur][cat] += Decimal(x)
        out[name] = {
            c: {k: fmt(v) for k, v in sorted(m.items())} for c, m in sorted(merged.items())
        }
    return out


@dataclass
class BillingTruth:
    """`file_sets`: per source (focus-aws, focus-azure, focus-gcp, aws-cur, openai-costs, …) its
    files, final row count and billed sums; `ai_apis`: per provider and month how the bill and
    the gateway-log cost differ. `path` is `billing/truth.json` under the output folder."""

    path: Path
    start: str
    end: str
    file_sets: dict[str, dict] = field(default_factory=dict)
    ai_apis: dict[str, dict] = field(default_factory=dict)
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def files(self) -> list[str]:
        return sorted(f for s in self.file_sets.values() for f in s["files"])

    @property
    def counts(self) -> dict[str, int]:
        """Rows (or API results) per file set, counting only the final delivery of a period."""
        return {name: s["rows"] for name, s in sorted(self.file_sets.items())}

    def as_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "start": self.start,
            "end": self.end,
            "file_sets": self.file_sets,
            "ai_apis": self.ai_apis,
            "notes": self.notes,
        }

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = orjson.dumps(self.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        self.path.write_bytes(data + b"\n")
