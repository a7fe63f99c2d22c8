"""Deterministic file output helpers: ids, timestamps, (gzipped) line files."""

from __future__ import annotations

import gzip
import os
from datetime import datetime
from pathlib import Path

import numpy as np
import orjson

SOURCE_DIRS = {
    "gateway": "bimo-gateway",
    "litellm": "litellm",
    "otel": "otel-genai",
    "cli": "cli-log",
}
PATTERNS = {
    "gateway": ("requests-*.jsonl", "requests-*.jsonl.gz"),
    "litellm": ("spend-logs-*.json",),
    "otel": ("traces-*.jsonl",),
    "cli": ("usage-*.jsonl",),
}


def hexes(rng: np.random.Generator, n: int, chars: int) -> list[str]:
    """`n` random lowercase hex strings of `chars` characters each."""
    if n == 0:
        return []
    blob = rng.bytes(n * ((chars + 1) // 2)).hex()
    step = 2 * ((chars + 1) // 2)
    return [blob[i : i + chars] for i in range(0, n * step, step)]


def uuids(rng: np.random.Generator, n: int) -> list[str]:
    return [
        f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"
        for h in hexes(rng, n, 32)
    ]


def iso_ms(ts_us: np.ndarray, offset_min: np.ndarray | None = None) -> list[str]:
    """RFC 3339 with milliseconds: `Z`, or local time with the given UTC offsets."""
    if offset_min is None:
        return [s + "Z" for s in np.datetime_as_string(ts_us.astype("datetime64[us]"), unit="ms")]
    local = (ts_us + offset_min.astype(np.int64) * 60_000_000).astype("datetime64[us]")
    out = []
    for s, off in zip(np.datetime_as_string(local, unit="ms"), offset_min.tolist(), strict=True):
        out.append(
            s
            + (
                "Z"
                if off == 0
                else f"{'+' if off > 0 else '-'}{abs(off) // 60:02d}:{abs(off) % 60:02d}"
            )
        )
    return out


def naive_us(ts_us: np.ndarray) -> list[str]:
    """LiteLLM's naive UTC timestamps: `2025-01-24 09:20:46.847371`."""
    return [
        s.replace("T", " ")
        for s in np.datetime_as_string(ts_us.astype("datetime64[us]"), unit="us")
    ]


def dumps(obj: object) -> bytes:
    return orjson.dumps(obj)


def write_bytes(path: Path, data: bytes, *, mtime: datetime | None = None) -> None:
    """Write a file (gzip when it ends in .gz) byte-identically across runs; `mtime`, when
    given, becomes its modification time (how export deliveries are ordered)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        # mtime=0 and no file name keep gzip output byte-identical across runs.
        with (
            path.open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        ):
            gz.write(data)
    else:
        path.write_bytes(data)
    if mtime is not None:
        ns = int(mtime.timestamp()) * 1_000_000_000
        os.utime(path, ns=(ns, ns))


def write_lines(path: Path, lines: list[bytes]) -> None:
    write_bytes(path, b"".join(line + b"\n" for line in lines))


def prepare(out: Path) -> None:
    """Create the source folders and remove files a previous run left there (only ours)."""
    for source, folder in SOURCE_DIRS.items():
        d = out / folder
        d.mkdir(parents=True, exist_ok=True)
        for pattern in PATTERNS[source]:
            for stale in d.glob(pattern):
                stale.unlink()
    (out / "labels.json").unlink(missing_ok=True)


def merge(
    lines: list[bytes], extra: list[bytes], rng: np.random.Generator
) -> tuple[list[bytes], list[int]]:
    """Insert `extra` lines at random places; return the lines and their 1-based line numbers."""
    total = len(lines) + len(extra)
    where = sorted(rng.choice(total, size=len(extra), replace=False).tolist()) if extra else []
    out, it_lines, it_extra, slots = [], iter(lines), iter(extra), set(where)
    for i in range(total):
        out.append(next(it_extra) if i in slots else next(it_lines))
    return out, [w + 1 for w in where]
