"""The inputs fingerprint of a full dbt build: a partitioned (windowed) run rebuilds only its days
when the warehouse's last full build was made from the same inputs, and every day otherwise.
Recorded by full builds through Dagster and by `bimo build` / `bimo load` alike, so a scheduled
run after either rebuilds its window only."""

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb

import bimo.pricing
from bimo.settings import Settings
from bimo.warehouse import connect_with_retry

WINDOW_STRATEGY = "window"  # the incremental strategy of the models rebuilt by window
FINGERPRINT_TABLE = "main.dbt_window_inputs"


def windowed_models(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The models a window rebuilds (incremental strategy `window`)."""
    return [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
        and n["config"].get("incremental_strategy") == WINDOW_STRATEGY
    ]


def inputs_fingerprint(manifest: Mapping[str, Any]) -> str:
    """A hash of everything but raw data that decides a windowed model's rows: the models and
    seeds upstream of it (price overrides, provider aliases), the project's macros, and the price
    catalogue (genai-prices and `bimo/pricing.py`). Rows a window leaves untouched were built
    from the inputs of an earlier run: if these changed, they are stale."""
    todo = [n["unique_id"] for n in windowed_models(manifest)]
    upstream: set[str] = set()
    while todo:
        unique_id = todo.pop()
        if unique_id not in upstream:
            upstream.add(unique_id)
            todo.extend(manifest["parent_map"].get(unique_id, []))
    parts = [
        f"{uid}={manifest['nodes'][uid]['checksum']['checksum']}"
        for uid in sorted(upstream)
        if uid in manifest["nodes"]  # sources are data, not inputs
    ]
    project = manifest["metadata"].get("project_name")
    parts += [
        f"{uid}={hashlib.sha256(m['macro_sql'].encode()).hexdigest()}"
        for uid, m in sorted(manifest["macros"].items())
        if m["package_name"] == project
    ]
    parts += [f"genai-prices={version('genai-prices')}"]
    parts += [f"pricing={hashlib.sha256(Path(bimo.pricing.__file__).read_bytes()).hexdigest()}"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def stored_fingerprint(settings: Settings) -> str | None:
    """The inputs fingerprint of the warehouse's last full build (the caller holds the lock)."""
    con = connect_with_retry(settings.warehouse)
    try:
        return con.execute(f"select fingerprint from {FINGERPRINT_TABLE}").fetchall()[0][0]
    except (duckdb.CatalogException, IndexError):  # never recorded: rebuild in full
        return None
    finally:
        con.close()


def store_fingerprint(settings: Settings, fingerprint: str) -> None:
    con = connect_with_retry(settings.warehouse)
    try:
        con.execute(
            f"create or replace table {FINGERPRINT_TABLE} as "
            "select ? as fingerprint, ? as built_at",
            [fingerprint, datetime.now(UTC)],
        )
    finally:
        con.close()


def record_full_build(settings: Settings, manifest_path: Path) -> None:
    """After a successful full `dbt build` (the caller holds the writer lock): its inputs, from
    the manifest that build wrote."""
    store_fingerprint(settings, inputs_fingerprint(json.loads(manifest_path.read_text())))
