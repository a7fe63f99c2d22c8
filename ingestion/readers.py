"""Read JSON sources as a stream of (position, record) whatever their container.

A file may hold a JSON array, a single JSON object or JSON Lines, plain or gzip. Each item comes
back with its 1-based position (line number for JSON Lines, element number for an array) so a bad
record can be quarantined with a pointer to it while the rest of the file loads. A file is read
a piece at a time (a JSON array a block of elements at a time), so memory does not follow its size.

File sources read only below their roots (`Settings.file_roots`; the landing folder for the
Dagster assets): a path is checked after `..` and symlinks are resolved, so neither a typed
path, a glob nor a symlink inside a root can reach a file elsewhere.
"""

from __future__ import annotations

import glob
import gzip
import json
import sys
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import msgspec
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


CHUNK_BYTES = 4 * 2**20
"""How much of a file is read (and, gzipped, decompressed) at a time."""
ARRAY_BLOCK_BYTES = 8 * 2**20
"""How much of a JSON array is decoded at a time: memory follows this, not the file's size."""
SPLIT_TRIES = 16
"""Object boundaries tried, from a block's end back, before the block is grown instead."""


BOM = b"\xef\xbb\xbf"


class _Cut(Exception):
    """The gzip stream ended before its end-of-stream marker, or is corrupt."""


def _chunks(path: Path) -> Iterator[bytes]:
    """The file's bytes a piece at a time, gunzipped by `gzip` when it is gzip (every member;
    at most `CHUNK_BYTES` out at a time, so a small gzip cannot balloon in memory). Raises
    `_Cut` after the last piece that could be decompressed when the stream is cut short or
    corrupt."""
    with path.open("rb") as raw:
        zipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        if not zipped:
            while piece := raw.read(CHUNK_BYTES):
                yield piece
            return
        with gzip.GzipFile(fileobj=raw) as fh:
            try:
                while piece := fh.read1(CHUNK_BYTES):
                    yield piece
            except (EOFError, gzip.BadGzipFile, zlib.error):
                raise _Cut from None


class _Stream:
    """A file's decompressed bytes with its first byte found; remembers whether gzip was cut."""

    def __init__(self, path: Path) -> None:
        self._pieces = _chunks(path)
        self.truncated = False
        self.newlines = 0

    def next(self) -> bytes | None:
        """The next piece of bytes; None at the end (or where a cut gzip stream stops)."""
        if self.truncated:
            return None
        try:
            piece = next(self._pieces)
        except StopIteration:
            return None
        except _Cut:
            self.truncated = True
            return None
        self.newlines += piece.count(b"\n")
        return piece

    def first(self) -> bytes:
        """The bytes read until the first non-blank one (a UTF-8 BOM removed); all at the end."""
        head = b""
        while (piece := self.next()) is not None:
            head += piece
            if len(head) >= len(BOM) and head.removeprefix(BOM).strip():
                break
        return head.removeprefix(BOM)


def iter_records(path: Path) -> Iterator[tuple[int, object]]:
    """Yield (position, parsed JSON value | BadJson) for every record in the file, reading it a
    piece at a time: memory follows `ARRAY_BLOCK_BYTES` / the longest line, not the file."""
    return _records(path, raw=False)


def iter_lines(path: Path) -> Iterator[tuple[int, object]]:
    """As `iter_records`, but a record comes back as its bytes, not yet decoded (`json_line`
    decodes one): a parser with a fast path for the usual record tries it first. An array
    element msgspec cannot split out comes back decoded (JSON has no bytes, so `type(rec) is
    bytes` tells the two apart)."""
    return _records(path, raw=True)


def _records(path: Path, raw: bool) -> Iterator[tuple[int, object]]:
    stream = _Stream(path)
    head = stream.first()
    if (text := head.lstrip())[:1] == b"[":
        last = yield from _array_records(stream, text[1:], raw)
        if stream.truncated:
            yield last + 1, BadJson("gzip stream is truncated or corrupt")
        return
    if raw:
        yield from _lines(stream, head)
    else:
        for pos, line in _lines(stream, head):
            yield pos, json_line(line)
    if stream.truncated:
        yield stream.newlines + 2, BadJson("gzip stream is truncated or corrupt")


def json_line(line: bytes) -> object:
    """One record decoded (`loads`), or `BadJson` with the reason."""
    try:
        return loads(line)
    except orjson.JSONDecodeError as exc:
        return BadJson(f"invalid JSON: {str(exc).split(':')[0]}")


HUGE_NUMBER = "number is infinity when parsed as double"
ORJSON_DEPTH = 1024
"""The deepest nesting orjson reads."""
_ORJSON_INTS = (-(2**63), 2**64 - 1)


def loads(data: bytes | str) -> object:
    """`orjson.loads`, but for a number beyond a double's range, which JSON allows and orjson
    refuses: such a number becomes ±inf (an integer past 64 bits a float, as orjson reads those)
    and the rest reads as orjson reads it (nesting too: at most `ORJSON_DEPTH`). A field that
    holds one then meets its parser's rules (`count` and `money` refuse inf), and one no parser
    reads (a prompt body) does not cost the request: the fast path steps over it alike
    (ingestion/formats/fast.py). Raises orjson's error for anything else."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if str(exc).split(":")[0] != HUGE_NUMBER:
            raise
        error = exc

    def refuse(constant: str) -> None:
        raise ValueError(constant)

    def as_orjson(digits: str) -> int | float:
        number = int(digits)
        return number if _ORJSON_INTS[0] <= number <= _ORJSON_INTS[1] else float(digits)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + ORJSON_DEPTH + 100)  # Python's json nests by recursion
    try:
        text = data if isinstance(data, str) else data.decode()
        value = json.loads(text, parse_constant=refuse, parse_int=as_orjson)
    except (ValueError, RecursionError):
        raise error from None
    finally:
        sys.setrecursionlimit(limit)
    if not _orjson_reads(value):
        raise error
    return value


def _orjson_reads(value: object) -> bool:
    """Whether orjson would read what Python's json made of a text: nesting at most
    `ORJSON_DEPTH` deep, no string with a lone surrogate (an escape Python's json lets by)."""
    todo = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode()
                except UnicodeEncodeError:
                    return False
        elif isinstance(item, dict | list):
            if depth > ORJSON_DEPTH:
                return False
            values = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            todo.extend((v, depth + 1) for v in values)
    return True


def msgspec_nests_less() -> bool:
    """Whether msgspec gives up on nesting before orjson does: at Python's recursion limit (less
    the stack in use), where orjson stops at `ORJSON_DEPTH`. Where a value msgspec reads can be
    deeper than orjson reads, no fast path decodes (`BIMO_PARSE_FAST`, `fast.usable`)."""
    return sys.getrecursionlimit() <= ORJSON_DEPTH


def valid_utf8(data: bytes) -> bool:
    """Whether the bytes are valid UTF-8, as orjson requires (ASCII: the usual case)."""
    if data.isascii():
        return True
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _lines(stream: _Stream, head: bytes) -> Iterator[tuple[int, bytes]]:
    """JSON Lines (a one-line JSON document is one line): each non-blank line and its number;
    `\\r\\n` and a lone `\\r` end a line too."""
    lineno, rest = 0, head
    while True:
        piece = stream.next()
        text = rest if piece is None else rest + piece
        if b"\r" in text:
            lines = text.splitlines() if piece is None else text.split(b"\n")
            if piece is not None:
                rest = lines.pop()
            lines = [
                line for raw in lines for line in (raw.splitlines() if b"\r" in raw else (raw,))
            ]
        elif piece is None:
            lines = text.splitlines()
        else:
            *lines, rest = text.split(b"\n")
        for line in lines:
            lineno += 1
            if line and not line.isspace():  # `line.strip()` without copying the line
                yield lineno, line
        if piece is None:
            return


def _object_ends(block: bytes, upto: int) -> Iterator[int]:
    """Offsets before `upto` just past a `}` followed by a comma and a `{`, from `upto` back:
    where one object element of an array may end and the next begin (or, inside a string or a
    nested value, may not: the decode decides)."""
    while (close := block.rfind(b"}", 0, upto)) != -1:
        after = block[close + 1 : close + 257].lstrip()
        if after[:1] == b"," and after[1:].lstrip()[:1] == b"{":
            yield close + 1
        upto = close


_SPLIT = msgspec.json.Decoder(list[msgspec.Raw]).decode


def _elements(text: bytes, raw: bool) -> list:
    """The elements of the JSON array `text` as `loads` reads them, or, with `raw`, each one's
    bytes where msgspec splits the array (it checks the syntax as orjson does, not the UTF-8 of
    what it steps over: text that is not valid UTF-8 is read by `loads`, which refuses it).
    Raises orjson's error where `loads` does."""
    if raw and msgspec_nests_less() and valid_utf8(text):
        try:
            return [bytes(element) for element in _SPLIT(text)]
        except (msgspec.DecodeError, RecursionError):
            pass  # `loads` decides (nesting msgspec gives up on below orjson's limit, or none)
    return loads(text)


def _decode_prefix(block: bytes, upto: int, raw: bool) -> tuple[list, bytes] | None:
    """The elements of the longest of the last `SPLIT_TRIES` candidate prefixes of `block`
    ending before `upto` that decode as whole array elements, and the bytes after them (past
    the comma); None when none does.

    A prefix ending inside a string leaves the string open and one ending inside a nested
    value leaves a bracket open, so only a prefix that ends between elements decodes."""
    for _, end in zip(range(SPLIT_TRIES), _object_ends(block, upto), strict=False):
        try:
            items = _elements(b"[" + block[:end] + b"]", raw)
        except orjson.JSONDecodeError:
            continue
        return items, block[end:].lstrip()[1:]
    return None


def _array_records(
    stream: _Stream, body: bytes, raw: bool
) -> Generator[tuple[int, object], None, int]:
    """The elements of a JSON array whose text after `[` starts with `body`, a block at a time
    (`_elements`). Where the array stops being valid JSON (cut short, malformed) the elements
    before that point are kept and one `BadJson` stands for the rest. Returns the last
    position."""
    pos, parts, size, want, done = 1, [body], len(body), ARRAY_BLOCK_BYTES, False
    while True:
        while not done and size < want:
            if (piece := stream.next()) is None:
                done = True
            else:
                parts.append(piece)
                size += len(piece)
        block = b"".join(parts)
        if done:
            break
        if (decoded := _decode_prefix(block, len(block), raw)) is None:
            parts, size, want = [block], len(block), want * 2  # no boundary near the end
            continue
        items, rest = decoded
        yield from enumerate(items, start=pos)
        pos += len(items)
        parts, size, want = [rest], len(rest), ARRAY_BLOCK_BYTES
    try:
        items = _elements(b"[" + block, raw)
    except orjson.JSONDecodeError as exc:  # keep the elements before where it goes wrong
        if (decoded := _decode_prefix(block, max(exc.pos - 1, 0), raw)) is not None:
            items, _ = decoded
            yield from enumerate(items, start=pos)
            pos += len(items)
        kept = f" on (elements 1-{pos - 1} were read)" if pos > 1 else ""
        why = "malformed or cut-short array"
        yield pos, BadJson(f"file is not valid JSON ({why}) from element {pos}{kept}")
        return pos
    yield from enumerate(items, start=pos)
    return pos + len(items) - 1
