"""Shared fixtures: a small generated company and a warehouse built from it (per test worker)."""

import os
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bimo.dbt_runner import dbt_build
from bimo.settings import get_settings
from bimo.warehouse import publish_snapshot, writer_lock
from ingestion.load import load_files
from ingestion.readers import expand_paths
from ingestion.tables import ensure_raw_tables

SOURCES = ("bimo-gateway", "litellm", "otel-genai", "cli-log")
END = date(2026, 10, 31)

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


@pytest.fixture(scope="session", autouse=True)
def file_roots(tmp_path_factory) -> None:
    """`bimo load` reads only below BIMO_FILE_ROOTS: the tests' temporary folders and the repo."""
    base = tmp_path_factory.getbasetemp().parent  # shared by every xdist worker
    os.environ.setdefault("BIMO_FILE_ROOTS", os.pathsep.join([str(base), os.getcwd()]))


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """35 days of a small demo company (deterministic)."""
    from bimo.demo import generate

    out = tmp_path_factory.mktemp("demo")
    generate(out, days=35, requests_per_day=300, seed=11, end=END)
    return out


def query(settings, sql: str, params=None) -> list[tuple]:
    """Rows of `sql` on the settings' warehouse, opened read-only for this query only."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.sql(sql, params=params).fetchall()
    finally:
        con.close()


def source_files(root: Path) -> dict[str, list[Path]]:
    return {s: expand_paths([root / s]) for s in SOURCES if (root / s).exists()}


def build(settings) -> None:
    with writer_lock(settings):
        ensure_raw_tables(settings)
        result = dbt_build(settings)
        assert result.ok, result.failures or result.output_tail
        publish_snapshot(settings, locked=True)


@pytest.fixture(scope="session")
def built(tmp_path_factory, demo_dir):
    """(settings, first load summary): the demo loaded with dlt and the marts built with dbt."""
    settings = get_settings(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")
    summary = load_files(source_files(demo_dir), settings=settings)
    build(settings)
    return settings, summary


def built_copy(built, folder: Path):
    """Settings of a copy of the `built` warehouse in `folder`, to change freely (copied under
    the original's writer lock)."""
    source, _ = built
    settings = get_settings(folder / "warehouse.duckdb")
    with writer_lock(source):
        shutil.copyfile(source.warehouse, settings.warehouse)
    return settings


@pytest.fixture
def fresh_streamlit_cache():
    """st.cache_data outlives an AppTest run: start and end a dashboard test with it empty."""
    import streamlit as st

    st.cache_data.clear()
    yield
    st.cache_data.clear()
