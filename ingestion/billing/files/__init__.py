"""Billing export files (FOCUS, AWS CUR, Azure, GCP, OCI) → canonical billing line items.

`FILE_SOURCES[name](path)` parses one file into a `BillingParse` (LINE_ITEM_SCHEMA rows, the
quarantined rows with their line and reason, and the input row count). `expand_billing_paths`
turns files, folders and globs into the data files to parse, in delivery order.

Delivery ordering (`delivery_rank`): the modification time, in microseconds, of the legacy CUR /
Data Exports manifest that lists the file (all parts of one delivery share it), else of the file
itself — a restated delivery written later outranks the month-to-date one it replaces.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ingestion.billing.files import aws_cur, azure, focus, gcp, oci
from ingestion.billing.files.assemble import delivery_for
from ingestion.billing.files.common import suffix
from ingestion.billing.schema import BillingParse
from ingestion.readers import check_inside

FILE_SOURCES: dict[str, Callable[[Path], BillingParse]] = {
    "focus": focus.parse,
    "aws-cur": aws_cur.parse,
    "azure": azure.parse,
    "gcp": gcp.parse,
    "oci": oci.parse,
}
DATA_SUFFIXES = ("csv", "csv.gz", "parquet", "json", "jsonl", "ndjson", "json.gz", "jsonl.gz")

__all__ = ["DATA_SUFFIXES", "FILE_SOURCES", "expand_billing_paths", "is_billing_file"]


def is_billing_file(path: Path) -> bool:
    """A data file we can parse: not a manifest, not zipped, not hidden."""
    name = path.name
    if name.startswith(".") or name.endswith("-Manifest.json"):
        return False
    return suffix(path) in DATA_SUFFIXES


def expand_billing_paths(
    paths: Iterable[str | Path], *, roots: Sequence[Path] | None = None
) -> list[Path]:
    """Files, folders (recursively) and glob patterns → billing data files in delivery order
    (oldest delivery first, then by path). Manifests and .zip archives are skipped; a named
    path that does not exist raises FileNotFoundError. With `roots`, a path or file that
    resolves outside all of them raises `OutsideRootsError` (see `ingestion.readers`)."""
    found: dict[Path, None] = {}
    for item in paths:
        text = str(item)
        if any(ch in text for ch in "*?["):
            candidates = [Path(p) for p in sorted(glob.glob(text, recursive=True))]
        else:
            if roots is not None:
                check_inside([text], roots)
            path = Path(text)
            if not path.exists():
                raise FileNotFoundError(f"billing input not found: {path}")
            candidates = [path]
        for candidate in candidates:
            files = (
                sorted(p for p in candidate.rglob("*") if p.is_file())
                if candidate.is_dir()
                else [candidate]
            )
            found.update((f, None) for f in files if f.is_file() and is_billing_file(f))
    if roots is not None:
        check_inside(found, roots)
    return sorted(found, key=lambda p: (delivery_for(p, "").rank, str(p)))
