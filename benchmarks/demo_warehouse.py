"""A demo company's warehouse, generated, loaded and built, for the accuracy benchmarks."""

import json
from datetime import date
from pathlib import Path

from bimo.dbt_runner import dbt_build
from bimo.demo import generate
from bimo.settings import get_settings
from bimo.warehouse import writer_lock
from ingestion.load import load_files
from ingestion.readers import expand_paths
from ingestion.tables import ensure_raw_tables

SOURCES = ("bimo-gateway", "litellm", "otel-genai", "cli-log")
END = date(2026, 10, 31)  # the last generated day; fixed so every run generates the same bytes


def warehouse_path(seed: int, days: int, work: Path) -> Path:
    return work / f"w-{seed}-{days}.duckdb"


def build_demo(
    seed: int, days: int, work: Path, requests_per_day: int = 1500
) -> tuple[Path, list[dict]]:
    """(the warehouse, the demo's labelled incidents): `days` of the demo for `seed` generated in
    `work`, its AI logs loaded with dlt and the marts built with dbt."""
    demo = work / f"demo-{seed}-{days}"
    generate(demo, days=days, requests_per_day=requests_per_day, seed=seed, end=END)
    settings = get_settings(warehouse_path(seed, days, work))
    load_files({s: expand_paths([demo / s]) for s in SOURCES}, settings=settings)
    with writer_lock(settings):
        ensure_raw_tables(settings)
        assert dbt_build(settings).ok
    labels = json.loads((demo / "labels.json").read_text())["anomalies"]
    return settings.warehouse, labels
