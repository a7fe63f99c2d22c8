"""Shared primitives of the malformed-input registry: the format and kind names, `Case` (one
malformed input and exactly what the real loaders must make of it — rows loaded, quarantine rows
and their reason, or for billing export files the `ValueError` text of a file refused whole),
and the small writers every family module builds its files with (`merged` with `DROP`,
`lines_file`, `as_bytes`, `csv_text`). It imports nothing of the registry, so the family
modules and `tests.reliability.malformed` can all import it."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

GATEWAY = ("bimo-gateway", "litellm", "otel-genai", "cli-log")
BILLING_FILES = ("focus", "aws-cur", "azure", "gcp", "oci")
BILLING_APIS = ("openai-costs", "openai-usage", "anthropic-costs", "anthropic-usage")
SAAS = ("github-copilot-seats", "github-copilot-billing", "github-billing-usage",
        "slack-billable", "zoom-users", "zoom-daily-report", "saas-invoices")  # fmt: skip
FORMATS = GATEWAY + BILLING_FILES + BILLING_APIS + SAAS
KINDS = ("truncated", "encoding", "bom", "wrong_type", "missing_field", "nan_inf", "negative",
         "magnitude", "far_date", "duplicate_id", "unknown_column", "empty_file", "huge_line",
         "other")  # fmt: skip
DROP = object()  # an override value that removes the key
HUGE = 4_000_000  # bytes of one huge line


@dataclass(frozen=True)
class Case:
    """One malformed input and exactly what loading it must give."""

    id: str
    format: str
    kind: str
    build: Callable[[Path], list[Path]]
    good: int  # rows loaded into the raw table
    bad: int  # rows in the quarantine table
    reason: str | None = None  # substring every quarantine reason of the case contains
    file_error: str | None = None  # billing files: parse raises ValueError with this text

    @property
    def family(self) -> str:
        if self.format in GATEWAY:
            return "gateway"
        return "billing" if self.format in BILLING_FILES + BILLING_APIS else "saas"


def merged(base: dict, over: dict) -> dict:
    """`base` with `over` applied deeply (`DROP` removes a key)."""
    out = dict(base)
    for key, value in over.items():
        if value is DROP:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def as_bytes(item: object) -> bytes:
    if isinstance(item, bytes):
        return item
    return item.encode() if isinstance(item, str) else json.dumps(item).encode()


def lines_file(path: Path, items: list, *, prefix: bytes = b"", gz: bool = False) -> Path:
    """JSON Lines of dicts (or raw bytes/str lines)."""
    data = prefix + b"".join(as_bytes(i) + b"\n" for i in items)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def csv_text(rows: list[dict]) -> str:
    header = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
