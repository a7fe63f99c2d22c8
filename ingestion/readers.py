"""Read JSON sources as a stream of (position, record) whatever their container.

A file may hold a JSON array, a single JSON object or JSON Lines, plain or gzip. Each item comes
back with its 1-based position (line number for JSON Lines, element number for an array) so a bad
record can be quarantined with a pointer to it while the rest of the file loads.
"""

from __future__ import annotations

import glob
import gzip
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")


@dataclass(frozen=True, slots=True)
class BadJson:
    """A position whose text is not valid JSON (the text itself is never kept)."""

    reason: str


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named by paths, globs and folders (recursively: JSON files only), sorted, unique."""
    found: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.update(f for f in p.rglob("*") if f.is_file() and f.name.endswith(JSON_SUFFIXES))
        elif any(ch in str(raw) for ch in "*?["):
            found.update(Path(m) for m in glob.glob(str(raw), recursive=True) if Path(m).is_file())
        elif p.is_file():
            found.add(p)
        else:
            raise FileNotFoundError(f"no such file, folder or glob match: {raw}")
    return sorted(f.resolve() for f in found)


def _open_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as fh:
        return fh.read()


def iter_records(path: Path) -> Iterator[tuple[int, object]]:
    """Yield (position, parsed JSON value | BadJson) for every record in the file."""
    data = _open_bytes(path)
    stripped = data.lstrip()
    if stripped[:1] == b"[" or (stripped[:1] == b"{" and b"\n" not in stripped.rstrip()):
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            doc = None
        if isinstance(doc, list):
            yield from enumerate(doc, start=1)
            return
        if isinstance(doc, dict):
            yield 1, doc
            return
        if stripped[:1] == b"[":
            yield 1, BadJson("file is not valid JSON (unterminated or malformed array)")
            return
    for lineno, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield lineno, orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield lineno, BadJson(f"invalid JSON: {str(exc).split(':')[0]}")
