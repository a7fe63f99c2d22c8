"""A small demo company's SaaS data (52 days over three months), its truth, and a local server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from bimo.demo.saas import generate_saas
from bimo.demo.saas_server import SaasServer, serve_saas_apis
from bimo.settings import Settings, get_settings

START, END, SEED = date(2026, 8, 20), date(2026, 10, 10), 7
TOKEN = "ghp-TEST-do-not-log-4f3e2d1c"  # must never show up in rows, quarantine or errors


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("saas-demo")
    generate_saas(root, START, END, SEED)
    return root


@pytest.fixture(scope="session")
def truth(demo_root: Path) -> dict:
    return json.loads((demo_root / "saas" / "truth.json").read_text())


@pytest.fixture
def server(demo_root: Path) -> Iterator[SaasServer]:
    with serve_saas_apis(demo_root) as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return get_settings(tmp_path / "warehouse.duckdb")


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0")
    for vendor in ("GITHUB", "SLACK", "ZOOM"):
        monkeypatch.delenv(f"{vendor}_TOKEN", raising=False)
        monkeypatch.delenv(f"BIMO_{vendor}_API_BASE", raising=False)
        monkeypatch.delenv(f"SOURCES__{vendor}__ADMIN_KEY", raising=False)


def saved(root: Path, folder: str, name: str) -> Path:
    """The saved response of one day (`name` = YYYY-MM-DD) or month, whatever its suffix."""
    found = sorted((root / "saas" / folder).glob(f"{name}.json*"))
    assert found, f"no saved {folder}/{name}"
    return found[0]
