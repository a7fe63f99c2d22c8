"""Fixtures of the reliability suite: the demo landing folder and the warehouses built from it,
each made once per test session and shared by the xdist workers (`support.shared`)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.reliability import support
from tests.reliability.properties_support import compile_models, staging_catalogue


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory) -> Path:
    return support.shared_root(tmp_path_factory)


@pytest.fixture(scope="session")
def landing(shared_dir) -> Path:
    """21 days of a small demo company: logs of the four formats, billing exports and API pages,
    SaaS snapshots and invoices."""
    return support.shared(shared_dir, "landing", support.make_landing)


@pytest.fixture(scope="session")
def raw(shared_dir, landing) -> Path:
    """Folder of a warehouse with every source of the demo loaded (`bimo load`), not built;
    clone it (`support.clone`), never write to it."""
    return support.shared(shared_dir, "raw", support.make_raw(landing))


@pytest.fixture(scope="session")
def baseline(shared_dir, raw) -> Path:
    """Folder of the demo loaded and its marts and analytics built (`bimo_marts`)."""
    return support.shared(shared_dir, "baseline", support.make_built(raw))


@pytest.fixture(scope="session")
def redelivery(shared_dir, landing) -> Path:
    """Folder of the AWS FOCUS month re-delivered with changed costs and removed lines."""
    folder = support.shared(
        shared_dir, "redelivery", lambda f: support.write_redelivery(landing, f)
    )
    return folder / "BILLING_PERIOD=2026-10"


@pytest.fixture(scope="session")
def redelivered(shared_dir, raw, redelivery) -> Path:
    """Folder of a clean load of the demo plus the re-delivery, marts and analytics built."""
    return support.shared(shared_dir, "redelivered", support.make_built(raw, ("focus", redelivery)))


@pytest.fixture(scope="session")
def compiled(tmp_path_factory) -> dict[str, str]:
    """The compiled SQL of the staging and intermediate models (`compile_models`), once per
    worker for both property modules."""
    return compile_models(tmp_path_factory.mktemp("dbt_compile"))


@pytest.fixture(scope="module")
def wh(compiled) -> duckdb.DuckDBPyConnection:
    """The in-memory catalogue the compiled SQL runs in (`staging_catalogue`), one per module."""
    con = staging_catalogue(compiled)
    yield con
    con.close()
