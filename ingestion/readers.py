"""Read JSON sources as a stream of (position, record) whatever their container.

A file may hold a JSON array, a single JSON object or JSON Lines, plain or gzip. Each item comes
back with its 1-based position (line number for JSON Lines, element number for an array) so a bad
record can be quarantined with a pointer to it while the rest of the file loads.

File sources read only below their roots (`Settings.file_roots`; the landing folder for the
Dagster assets): a path is checked after `..` and symlinks are resolved, so neither a typed
path, a glob nor a symlink inside a root can reach a file elsewhere.
"""

from __future__ import annotations

import glob
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import orjson

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")


@dataclass(frozen=True, slots=True)
class BadJson:
    """A position whose text is not valid JSON (the text itself is never kept)."""

    reason: str


class OutsideRootsError(ValueError):
    """A file path that resolves outside every configured root; nothing was read."""


def escapes(path: str | Path, roots: Sequence[Path]) -> Path | None:
    """Where `path` really leads (`..` and symlinks resolved) when that is outside every root;
    None when it stays inside one."""
    target = Path(path).resolve()
    return None if any(target.is_relative_to(root) for root in roots) else target


def check_inside(paths: Iterable[str | Path], roots: Sequence[Path]) -> None:
    """Raise `OutsideRootsError` naming the first path that leads outside every root."""
    for path in paths:
        if (target := escapes(path, roots)) is not None:
            shown = "" if str(target) == str(path) else f" (it resolves to {target})"
            raise OutsideRootsError(
                f"refusing {path}{shown}: outside the file roots "
                f"{', '.join(map(str, roots))}; set BIMO_FILE_ROOTS to read from elsewhere"
            )


def keep_inside(
    files: Iterable[Path], root: Path, warn: Callable[[str], None] | None = None
) -> list[Path]:
    """The files that resolve inside `root`; each one that does not is skipped with a warning."""
    kept = []
    for f in files:
        if (target := escapes(f, [root.resolve()])) is None:
            kept.append(f)
        elif warn:
            warn(f"skipped {f}: it resolves to {target}, outside {root}")
    return kept


WRITE_SLACK = timedelta(days=1)
"""Clock skew allowed between a request's time and its log file's last write."""


def written_since(files: Iterable[Path], since: datetime) -> list[Path]:
    """The log files that can hold a request from `since` on: a log is written at or after the
    requests it records, so a file last modified more than `WRITE_SLACK` before `since` cannot
    (a late file for an old day is new, so it stays)."""
    oldest = (since - WRITE_SLACK).timestamp()
    return [f for f in files if f.stat().st_mtime >= oldest]


def expand_paths(paths: Iterable[str | Path], *, roots: Sequence[Path] | None = None) -> list[Path]:
    """Files named by paths, globs and folders (recursively: JSON files only), sorted, unique.

    With `roots`, every path and every file found must resolve inside one of them, else
    `OutsideRootsError` (before anything is read)."""
    found: set[Path] = set()
    for raw in paths:
        if roots is not None and not any(ch in str(raw) for ch in "*?["):
            check_inside([raw], roots)
        p = Path(raw)
        if p.is_dir():
            found.update(f for f in p.rglob("*") if f.is_file() and f.name.endswith(JSON_SUFFIXES))
        elif any(ch in str(raw) for ch in "*?["):
            found.update(Path(m) for m in glob.glob(str(raw), recursive=True) if Path(m).is_file())
        elif p.is_file():
            found.add(p)
        else:
            raise FileNotFoundError(f"no such file, folder or glob match: {raw}")
    if roots is not None:
        check_inside(sorted(found), roots)
    return sorted({f.resolve() for f in found})


def _open_bytes(path: Path) -> tuple[bytes, bool]:
    """The file's bytes (gunzipped, without a UTF-8 BOM) and whether a gzip stream was cut
    short (then the bytes are what could be decompressed)."""
    raw = path.read_bytes()
    truncated = False
    if raw[:2] == b"\x1f\x8b":
        parts, rest = [], raw
        while rest:  # one gzip member after another, as gzip.open reads them
            inflate = zlib.decompressobj(wbits=31)
            try:
                parts.append(inflate.decompress(rest))
            except zlib.error:
                truncated = True
                break
            if not inflate.eof:
                truncated = True
                break
            rest = inflate.unused_data.lstrip(b"\x00")
        raw = b"".join(parts)
    return raw.removeprefix(b"\xef\xbb\xbf"), truncated


def iter_records(path: Path) -> Iterator[tuple[int, object]]:
    """Yield (position, parsed JSON value | BadJson) for every record in the file."""
    data, truncated = _open_bytes(path)
    yield from _records(data)
    if truncated:
        yield data.count(b"\n") + 2, BadJson("gzip stream is truncated or corrupt")


def _records(data: bytes) -> Iterator[tuple[int, object]]:
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
