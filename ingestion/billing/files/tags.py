"""Tags and map cells in every vendor encoding → one JSON object of string values.

FOCUS JSON objects, CUR 2.0 maps (JSON in CSV, [{key, value}] from Parquet), Azure's brace-less
`"k": "v","k2": "v2"`, GCP [{key, value}] arrays (also as Python repr) — all end up as
`{"key": "value"}` with sorted keys; empty → NULL.
"""

from __future__ import annotations

import ast
import json


def loose_json(text: str) -> object:
    """JSON, Azure's brace-less `"k": "v","k2": "v2"`, or a Python repr (`[{'key': 'a'}]`)."""
    text = text.strip()
    if not text or text in ("None", "null"):
        return None
    try:
        return json.loads(text, parse_float=str, parse_int=str)
    except ValueError:
        pass
    if text.startswith('"'):
        try:
            return json.loads("{" + text + "}", parse_float=str, parse_int=str)
        except ValueError:
            pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ValueError(f"unparseable key-value text {text[:40]!r}") from None


def tag_pairs(value: object, *, prefix: str = "") -> dict[str, str]:
    """Key → string value from an object or a [{key, value, namespace?}] array."""
    if isinstance(value, str):
        value = loose_json(value)
    out: dict[str, str] = {}
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = []
        for entry in value:
            if isinstance(entry, dict) and "key" in entry:
                key = str(entry["key"])
                if entry.get("namespace"):
                    key = f"{entry['namespace']}/{key}"
                items.append((key, entry.get("value")))
    else:
        return out
    for key, val in items:
        if val is None:
            continue
        if isinstance(val, bool):
            val = "true" if val else "false"
        elif isinstance(val, dict | list):
            val = json.dumps(val, sort_keys=True)
        out[f"{prefix}{key}"] = str(val)
    return out


def tags_json(pairs: dict[str, str]) -> str | None:
    return json.dumps(pairs, sort_keys=True, ensure_ascii=False) if pairs else None


def normalise_tags(text: str) -> str | None:
    """One tag cell in any encoding → canonical JSON (unparseable text kept under `_raw`)."""
    try:
        return tags_json(tag_pairs(text))
    except ValueError:
        return tags_json({"_raw": text})


def map_value(text: str | None, key: str) -> str | None:
    """One key of a map cell (CUR 2.0 `product` as JSON or Parquet [{key, value}])."""
    if text is None:
        return None
    try:
        return tag_pairs(text).get(key)
    except ValueError:
        return None
