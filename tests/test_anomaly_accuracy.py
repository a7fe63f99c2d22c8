"""The demo's labelled incidents are found with precision and recall of at least 0.8, with a
better F1 than both baselines; the `--input` path scores a labelled CSV."""

import importlib.util
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load("anomaly_accuracy")
scoring = _load("anomaly_scoring")


@pytest.fixture(scope="module")
def seed7(tmp_path_factory):
    """One demo seed, generated, loaded, built and scored once for the tests below."""
    return bench.run_seed(7, 90, tmp_path_factory.mktemp("seed7"))


@pytest.mark.slow
def test_demo_incidents_are_found(seed7):
    assert seed7["bimo"]["recall"] >= 0.8, seed7["bimo"]
    assert seed7["bimo"]["precision"] >= 0.8, seed7["bimo"]


@pytest.mark.slow
def test_bimo_beats_both_baselines_on_f1(seed7):
    for baseline in ("spike_rule", "rolling_zscore"):
        assert seed7["bimo"]["f1"] > seed7[baseline]["f1"], (seed7["bimo"], seed7[baseline])


def test_matching_rule():
    label = {"source_tag": "prod", "metric": "cost_usd", "start_date": "2026-10-01",
             "end_date": "2026-10-02", "provider": "openai", "models": ["gpt-4o"]}  # fmt: skip
    row = {"source_tag": "prod", "metric": "cost_usd", "anomaly_date": date(2026, 10, 2),
           "series_level": "model", "provider": "openai", "model": "gpt-4o"}  # fmt: skip
    assert scoring.matches(row, label)
    assert not scoring.matches({**row, "model": "gpt-4o-mini"}, label)
    assert not scoring.matches({**row, "anomaly_date": date(2026, 10, 3)}, label)
    assert not scoring.matches({**row, "source_tag": "dev"}, label)
    assert scoring.matches({**row, "series_level": "total", "provider": None}, label)


def test_baselines_follow_their_rules():
    y = [10.0] * 7 + [25.0, 10.0]  # 25 > 2 × 10: a spike; 10 after it is not
    frame = pl.DataFrame({"unique_id": "a", "ds": range(len(y)), "y": y})
    flags = scoring.baseline_flags(frame)
    assert flags["spike_rule"].to_list() == [False] * 7 + [True, False]
    rng = np.random.default_rng(0)
    y = list(100 + rng.normal(0, 1, 40))
    y[30] = 110.0  # ~10 sigma above the trailing 28 days
    flags = scoring.baseline_flags(pl.DataFrame({"unique_id": "a", "ds": range(40), "y": y}))
    assert flags["rolling_zscore"].arg_true().to_list() == [30]
    assert not flags["rolling_zscore"][:14].any()  # under 14 days of history: never flagged


def labelled_csv(path: Path) -> dict:
    """Two daily series over 120 days (weekly season, noise), a gap, and labelled incidents:
    three one-day spikes and a two-day level shift."""
    rng, start, rows = np.random.default_rng(3), date(2026, 1, 1), []
    incidents = {"api": {40: 3.5, 75: 4.0, 76: 4.0}, "web": {60: 0.2, 95: 3.0}}
    for series, base in (("api", 200.0), ("web", 50.0)):
        for i in range(120):
            day = start + timedelta(days=i)
            y = base * (1.0 if day.weekday() < 5 else 0.5) * (1 + rng.normal(0, 0.04))
            factor = incidents[series].get(i)
            value = "" if (series, i) == ("web", 20) else f"{y * (factor or 1):.3f}"
            rows.append({"day": day.isoformat(), "series": series, "cost": value,
                         "anomaly": "yes" if factor else ""})  # fmt: skip
    pl.DataFrame(rows).write_csv(path)
    return incidents


def test_input_csv_is_scored_for_all_three_detectors(tmp_path):
    csv = tmp_path / "labelled.csv"
    labelled_csv(csv)
    result = bench.main(["--input", str(csv), "--time-col", "day", "--value-col", "cost",
                         "--label-col", "anomaly", "--id-col", "series", "--out",
                         str(tmp_path / "results")])  # fmt: skip
    (run,) = result["runs"]
    assert (run["series"], run["points"], run["cadence"]) == (2, 239, "1d")
    assert (run["labelled_points"], run["incidents"]) == (5, 4)
    assert run["bimo"]["recall"] == 1.0 and run["bimo"]["precision"] >= 0.8, run["bimo"]
    for name in ("spike_rule", "rolling_zscore"):
        assert 0 <= run[name]["precision"] <= 1 and 0 <= run[name]["recall"] <= 1
    assert run["spike_rule"]["incidents_found"] < 4  # a drop is no spike
    assert set(result["ratios"]) == {"spike_rule", "rolling_zscore"}
    saved = json.loads((tmp_path / "results" / "anomaly_accuracy_labelled.json").read_text())
    assert saved["runs"][0]["bimo"] == run["bimo"] and saved["machine"]["cores"]
    page = (tmp_path / "results" / "anomaly_accuracy_labelled.md").read_text()
    assert "| labelled.csv | bimo |" in page and "Bimo ÷ baseline" in page


def test_input_csv_rejects_unknown_labels(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("day,cost,anomaly\n2026-01-01,1,maybe\n")
    with pytest.raises(bench.generic.InputError, match=r"line 2: label 'maybe'"):
        bench.run_csv(csv, time_col="day", value_col="cost", label_col="anomaly")
