"""Fixtures of the browser tests: one headless Chromium, and warehouses to point the app at."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bimo.settings import get_settings
from bimo.warehouse import publish_snapshot, writer_lock
from ingestion.tables import ensure_raw_tables
from tests.browser.support import ROOT, chromium_paths, clean_env, start_chromium

DEMO_DAYS = 30
DEMO_TIMEOUT_S = 900


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory):
    """One headless Chromium for every page of every test in this worker."""
    pytest.importorskip("selenium", reason="selenium is not installed (uv sync --group dev)")
    if chromium_paths() is None:
        pytest.skip(
            "headless Chromium is missing: `make browser-deps` installs the Debian packages"
            " chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)"
        )
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory, browser) -> Path:
    """A short demo company run through the whole pipeline by `bimo demo`, as a user would.

    Depends on `browser` so that a machine without Chromium skips before paying for the build.
    """
    warehouse = tmp_path_factory.mktemp("demo-warehouse") / "warehouse.duckdb"
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "bimo"), "demo", "--days", str(DEMO_DAYS),
         "--requests-per-day", "300", "--seed", "7"],
        cwd=ROOT, env=clean_env(BIMO_WAREHOUSE=str(warehouse)),
        capture_output=True, text=True, timeout=DEMO_TIMEOUT_S, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    assert get_settings(warehouse).snapshot.exists(), "bimo demo published no read copy"
    return warehouse


@pytest.fixture(params=["missing", "raw-only"])
def empty_warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """`missing`: nothing loaded yet, no file at all. `raw-only`: the raw tables exist and are
    published but hold no rows and no mart has been built (`bimo load --no-build` on nothing)."""
    warehouse = tmp_path / "empty-warehouse" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    if request.param == "raw-only":
        settings = get_settings(warehouse)
        with writer_lock(settings):
            ensure_raw_tables(settings)
            publish_snapshot(settings, locked=True)
    return warehouse
