"""Every dashboard page on warehouses the pipeline built: the gateway-only `built` fixture, and
a demo company run through Dagster as `bimo demo` runs it (~80 s to build, once per module)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from bimo.analytics.acks import list_anomalies
from bimo.settings import get_settings
from tests.test_app_pages import ROOT, every_page, run_app

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fresh_streamlit_cache")]


@pytest.fixture(scope="module")
def rich(tmp_path_factory) -> Path:
    """A demo company loaded through Dagster as `bimo demo` does (gateway logs, billing
    exports and APIs, SaaS, every analytics asset), with a budget and a failing alert channel."""
    from bimo.alerts.channels import parse_channels
    from bimo.alerts.deliver import deliver_pending

    folder = tmp_path_factory.mktemp("rich")
    warehouse = folder / "warehouse.duckdb"
    (folder / "budgets.yml").write_text(
        "budgets:\n"
        "  - {name: prod-ai, scope: {source_tag: prod, service_category: ai},"
        " period: rolling_30_days, amount: 5}\n"
        "  - {name: cloud-invoice, scope: {source_tag: billing, service_category: cloud},"
        " period: rolling_30_days, amount: 1000000}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIMO_", "DAGSTER_"))}
    env |= {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "RUNTIME__DLTHUB_TELEMETRY": "false"}
    done = subprocess.run(
        [Path(sys.executable).parent / "bimo", "demo", "--days", "60",
         "--requests-per-day", "300", "--seed", "11", "--warehouse", str(warehouse)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    channels = parse_channels(
        {"channels": [{"name": "broken-hook", "type": "webhook", "url": "http://127.0.0.1:9/"}]}
    )
    deliver_pending(get_settings(warehouse), config=channels)
    return warehouse


def test_every_page_on_the_gateway_only_demo_warehouse(built, monkeypatch):
    """Logs loaded and marts built, but no billing, SaaS or (maybe) analytics: the pages with
    data draw it, the others say what is missing."""
    settings, _ = built
    seen = every_page(settings.warehouse, monkeypatch)
    for page in ("overview", "costs", "ai_usage"):
        assert seen[page]["charts"], page
        assert seen[page]["downloads"] == seen[page]["tables"], page  # every table: a CSV
    assert any("bimo load focus" in i for i in seen["cloud"]["info"])
    assert any("No SaaS data yet" in i for i in seen["saas"]["info"])
    assert seen["data_health"]["tables"] >= 1


def test_every_page_on_a_demo_company_run_through_dagster(rich, monkeypatch):
    seen = every_page(rich, monkeypatch)
    for page, found in seen.items():
        if page != "budgets":  # there: the failed deliveries of the broken channel
            assert not found["error"], (page, found["error"])
        if page not in ("sql", "budgets", "insights"):
            assert found["charts"], page
        assert found["downloads"] >= found["tables"], page  # every table has a CSV download
    assert not any("not computed yet" in i for found in seen.values() for i in found["info"])


def test_demo_budgets_and_failed_deliveries_are_visible(rich, monkeypatch):
    at = run_app(rich, monkeypatch, page="budgets")
    assert any("not delivered" in e.value and "broken-hook" in e.value for e in at.error)
    budgets = at.dataframe[0].value
    assert set(budgets["budget_name"]) == {"prod-ai", "cloud-invoice"}
    assert {"delivered", "failed"} >= set(at.dataframe[-1].value["status"])


def test_forecasts_sit_beside_their_accuracy(rich, monkeypatch):
    at = run_app(rich, monkeypatch, page="forecasts")
    labels = {m.label for m in at.metric}
    assert {"MASE", "80 % coverage", "95 % coverage", "Skill vs seasonal naive"} <= labels
    charts = at.get("vega_lite_chart")
    assert len(charts) == len([m for m in at.metric if m.label == "MASE"])  # one per chart


@pytest.fixture
def copied(rich, tmp_path) -> Path:
    """A private copy of the demo warehouse, to write to."""
    for name in (rich.name, get_settings(rich).snapshot.name):
        shutil.copy(rich.parent / name, tmp_path / name)
    return tmp_path / rich.name


def test_acknowledging_on_the_demo_warehouse(copied, monkeypatch):
    at = run_app(copied, monkeypatch, page="anomalies")
    chosen = at.selectbox(key="anomaly").value
    at.text_input(key="ack_reason").input("known incident")
    at.button(key="ack").click().run()
    assert not at.exception
    status = list_anomalies(get_settings(copied)).filter(pl.col("anomaly_id") == chosen)
    assert status["status"].to_list() == ["acknowledged"]
    assert chosen not in at.dataframe[0].value["anomaly_id"].tolist()
