"""What the fast-path tests share: a record's row by the parser and by the fast path, checked
against each other, values to try, and whole files loaded either way."""

import json
import random
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
from hypothesis import strategies as st

from ingestion.formats import FORMATS, fast
from ingestion.formats import bimo_gateway as gateway
from ingestion.formats.common import BadRecord
from ingestion.formats.skip import Skip
from ingestion.parse import FormatStats, parse_files
from ingestion.readers import BadJson, iter_records, json_line

DROP = object()


def line(rec: dict) -> bytes:
    return json.dumps(rec).encode()


def parser_row(line: bytes, module=gateway) -> tuple | None:
    """What the parser makes of the line: its row in `COLUMNS` order, or None (quarantined or
    skipped)."""
    rec = json_line(line)
    if isinstance(rec, BadJson) or not isinstance(rec, dict):
        return None
    [out] = module.parse(rec)
    if isinstance(out, BadRecord | Skip):
        return None
    return tuple(out.get(c) for c in module.COLUMNS)


def check(line: bytes, module=gateway) -> object:
    """The fast path's answer for the line, after checking it against the parser's."""
    got = module.fast_row(line)
    if got is not fast.FALLBACK:
        assert repr(got) == repr(parser_row(line, module)), line
    return got


VALUES = st.one_of(
    st.just("None"),
    st.sampled_from([2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 0, 1.5]),
    st.none(),
    st.booleans(),
    st.integers(-(2**65), 2**65),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "None", "x", "success", "error", "chat", "2026-08-03T00:00:00Z"]),
    st.sampled_from(["2026-08-03T00:00:00", "2026-08-03T01:00:00-05:30", "2101-01-01T00:00:00Z"]),
    st.text(max_size=5),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["input_tokens", "team", "q"]), st.integers(-1, 5), max_size=2),
)


def parse_either(source, files, monkeypatch, on: bool):
    monkeypatch.setenv("BIMO_PARSE_FAST", "1" if on else "0")
    monkeypatch.setenv("BIMO_PARSE_WORKERS", "1")
    stats = FormatStats()
    out = list(parse_files(source, files, stats=stats, batch_rows=500))
    rows = pa.concat_tables(out[:-1]).drop_columns(["_loaded_at"])
    bad = [{k: v for k, v in b.items() if k != "quarantined_at"} for b in out[-1]]
    return rows, bad, asdict(stats)


def whole_files_agree(files: list[Path], tmp_path, monkeypatch, source: str, fields: list[str]):
    """The files, and their records again with some `fields` edited to values the parser must
    read (a JSON array for a format whose files are arrays), load the same rows, quarantine rows
    and counts with the fast path as with the parser alone; both paths were taken."""
    rng = random.Random(3)
    records = [rec for f in files[:3] for _, rec in iter_records(f)]
    edits = ["None", "", None, "12", 1.0, -3, "2026-08-03T00:00:00", True, "usage"]
    for rec in records:
        if isinstance(rec, dict) and rng.random() < 0.3:
            rec[rng.choice(fields)] = rng.choice(edits)
    texts = [json.dumps(r) if not isinstance(r, BadJson) else "{,}" for r in records]
    if files[0].read_bytes().lstrip()[:1] == b"[":
        mixed = tmp_path / "mixed.json"
        mixed.write_text("[\n" + ",\n".join(texts) + "\n]\n")
    else:
        mixed = tmp_path / "mixed.jsonl"
        mixed.write_text("\n".join(texts) + "\n")
    module, taken = FORMATS[source], []
    real = module.fast_row
    monkeypatch.setattr(module, "fast_row", lambda ln: taken.append(real(ln)) or taken[-1])
    fast_ = parse_either(source, [*files, mixed], monkeypatch, on=True)
    slow = parse_either(source, [*files, mixed], monkeypatch, on=False)
    fell_back = sum(t is fast.FALLBACK for t in taken)
    assert len(taken) - fell_back > 1000 and fell_back > 50 and len(slow[1]) > 5
    assert fast_[0].equals(slow[0])
    assert fast_[1] == slow[1]
    assert fast_[2] == slow[2]
