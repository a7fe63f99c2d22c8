"""The demo's labelled incidents are found with precision and recall of at least 0.8."""

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

spec = importlib.util.spec_from_file_location(
    "anomaly_accuracy", Path(__file__).parent.parent / "benchmarks" / "anomaly_accuracy.py"
)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_demo_incidents_are_found(tmp_path):
    result = bench.run_seed(7, 90, tmp_path)
    assert result["bimo"]["recall"] >= 0.8, result["bimo"]
    assert result["bimo"]["precision"] >= 0.8, result["bimo"]


def test_matching_rule():
    from datetime import date

    label = {"source_tag": "prod", "metric": "cost_usd", "start_date": "2026-10-01",
             "end_date": "2026-10-02", "provider": "openai", "models": ["gpt-4o"]}  # fmt: skip
    row = {"source_tag": "prod", "metric": "cost_usd", "anomaly_date": date(2026, 10, 2),
           "series_level": "model", "provider": "openai", "model": "gpt-4o"}  # fmt: skip
    assert bench.matches(row, label)
    assert not bench.matches({**row, "model": "gpt-4o-mini"}, label)
    assert not bench.matches({**row, "anomaly_date": date(2026, 10, 3)}, label)
    assert not bench.matches({**row, "source_tag": "dev"}, label)
    assert bench.matches({**row, "series_level": "total", "provider": None}, label)
