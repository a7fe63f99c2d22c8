"""A handful of broken records, so that ingestion's quarantine has something to catch."""

from __future__ import annotations

import copy

import numpy as np

from bimo.demo.files import dumps

KINDS = ("truncated_json", "missing_timestamp", "negative_tokens", "wrong_type")
RATE = 0.0002
# Rough share of all calls that land in each line-oriented source.
SHARE = {"gateway": 0.42, "cli": 0.15}


def plan_malformed(
    rng: np.random.Generator, days: int, per_day: int
) -> dict[tuple[str, int], list[str]]:
    """(source, day index) -> kinds of broken records to add to that day's file."""
    out: dict[tuple[str, int], list[str]] = {}
    for source, share in SHARE.items():
        k = max(len(KINDS), round(RATE * days * per_day * share))
        kinds = [KINDS[i % len(KINDS)] for i in range(k)]
        picked = rng.choice(days, size=k, replace=k > days)
        for kind, day in zip(kinds, picked.tolist(), strict=True):
            out.setdefault((source, day), []).append(kind)
    out.setdefault(("litellm", int(rng.integers(days))), []).append("null_start_time")
    return out


def corrupt(template: dict, kind: str, *, ts_field: str, id_field: str, new_id: str) -> bytes:
    """A broken copy of a valid record (with its own id, so it never shadows a real request)."""
    rec = copy.deepcopy(template)
    rec[id_field] = new_id
    usage = rec.setdefault("usage", {})
    if kind == "truncated_json":
        raw = dumps(rec)
        return raw[: max(10, len(raw) // 2)]
    if kind == "missing_timestamp":
        rec.pop(ts_field, None)
    elif kind == "negative_tokens":
        usage["input_tokens"] = -abs(int(usage.get("input_tokens") or 0) or 512)
    elif kind == "wrong_type":
        usage["output_tokens"] = "lots"
    return dumps(rec)
