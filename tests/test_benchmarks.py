"""The benchmark harness (`benchmarks/bench.py`): runs on a tiny scale and writes every section;
its pure helpers (percentiles, dbt layer timings, the results page) on fixed inputs."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench import rss_by_phase  # noqa: E402
from harness import percentile  # noqa: E402
from pipeline import LOG_SOURCES, file_day, generate_data, in_days, layer_times  # noqa: E402
from report import _scales as scales_section  # noqa: E402
from report import render  # noqa: E402
from setup_tasks import forget_newest_origin  # noqa: E402
from targets import shortfall, targets  # noqa: E402

SECTIONS = ("ingestion", "scales", "dashboard", "profile", "forecast")
HEADINGS = (
    "## Targets",
    "## 1. Ingestion throughput per source format",
    "## 2. End to end per scale",
    "## 3. One-day increment",
    "## 4. dbt per layer, analytics, forecast",
    "## 5. Dashboard page latency",
    "## 6. Profile of the slowest stage",
)


def test_percentile_interpolates_between_ranks():
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert percentile([5.0], 95) == 5.0


def test_rss_by_phase_leaves_a_step_without_a_sample_unmeasured():
    """A dlt step shorter than the sampling interval has no RSS figure, not 0 MB."""
    report = {"rss_timeline": [[0.0, 100.0], [1.0, 300.0], [2.0, 200.0]]}
    phases = {"extract": [0.5, 1.2], "normalize": [1.6, 1.65], "load": [1.7, 2.1]}
    assert rss_by_phase(report, phases) == {
        "start-up": 100.0,
        "extract": 300.0,
        "normalize": None,
        "load": 200.0,
    }


def test_layer_times_sum_execute_time_per_folder_prefix():
    def node(uid, start, end):
        return {
            "unique_id": uid,
            "timing": [
                {
                    "name": "compile",
                    "started_at": "2026-10-31T00:00:00Z",
                    "completed_at": "2026-10-31T00:00:09Z",
                },
                {
                    "name": "execute",
                    "started_at": f"2026-10-31T00:00:{start:02d}Z",
                    "completed_at": f"2026-10-31T00:00:{end:02d}Z",
                },
            ],
        }

    layers = layer_times(
        {
            "results": [
                node("model.bimo.stg_a", 0, 1),
                node("model.bimo.stg_b", 1, 4),
                node("model.bimo.fct_c", 4, 10),
                node("test.bimo.not_null_x", 10, 11),
            ]
        }
    )
    assert layers["staging"] == {"nodes": 2, "seconds": 4.0, "slowest": ["stg_b", 3.0]}
    assert layers["marts"]["seconds"] == 6.0
    assert layers["data tests"]["nodes"] == 1


def test_day_files_are_selected_by_the_date_in_their_name():
    files = [
        Path("requests-2026-10-30.jsonl"),
        Path("requests-2026-10-31.jsonl.gz"),
        Path("invoices.csv"),
    ]
    assert file_day(files[1]).isoformat() == "2026-10-31"
    assert in_days(files, ("2026-10-31", "2026-10-31")) == [files[1]]
    assert in_days(files, None) == files


def test_gzipped_landing_holds_the_same_records_with_the_same_file_times(tmp_path):
    """L's landing: every log file gzipped after generation, its modification time kept (the
    daily asset picks files by it) and its records unchanged."""
    from ingestion.readers import iter_records

    args = {"days": 2, "requests_per_day": 40, "seed": 7, "end": "2026-10-31"}
    plain = generate_data(str(tmp_path / "plain"), **args)
    packed = generate_data(str(tmp_path / "gz"), **args, gzip_logs=True)
    assert packed["requests"] == plain["requests"]
    assert packed["raw_bytes"] == plain["bytes"] > packed["bytes"]
    for source in LOG_SOURCES:
        files = sorted((tmp_path / "plain" / source).iterdir())
        assert files
        for f in files:
            gz = tmp_path / "gz" / source / (f.name if f.suffix == ".gz" else f.name + ".gz")
            assert gz.read_bytes()[:2] == b"\x1f\x8b"
            assert gz.stat().st_mtime == f.stat().st_mtime
            assert list(iter_records(gz)) == list(iter_records(f))


def test_forgetting_the_newest_origin_deletes_its_points_only(tmp_path):
    import duckdb

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema analytics")
    con.execute(
        "create table analytics.forecast_backtest_points as select cutoff::date as cutoff, d "
        "from (values ('2026-09-06', 1), ('2026-09-13', 2), ('2026-09-27', 3), "
        "('2026-09-27', 4)) t(cutoff, d)"
    )
    con.close()
    assert forget_newest_origin(str(tmp_path)) == {"deleted": 2}
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    left = con.sql("select d from analytics.forecast_backtest_points order by d").fetchall()
    assert left == [(1,), (2,)]


def test_results_page_says_how_a_scale_was_stored_and_what_it_left_out():
    stage = {"seconds": 1.0, "process_s": 1.0, "peak_rss_mb": 10.0, "load_average": [0.1]}
    scale = {
        "days": 90,
        "requests_per_day": 465_000,
        "history_requests": 50,
        "n": 1,
        "landing_bytes": 8 * 2**30,
        "warehouse_bytes": 2**30,
        "total_s": 2.0,
        "total_without_generate_s": 1.0,
        "peak_rss_mb": 10.0,
        "stages": {
            "generate": stage
            | {"result": {"requests": 50, "bytes": 8 * 2**30, "raw_bytes": 53 * 2**30}},
            "dbt build": stage | {"result": {}},
        },
    }
    native = {  # the shape `scale_summary` writes
        "otel-genai": {
            "rows": 1,
            "bytes": 2**30,
            "n": 1,
            "bimo_s": 1.0,
            "duckdb_s": 1.0,
            "bimo_rows_per_s": 1,
            "duckdb_rows_per_s": 1,
            "duckdb_peak_rss_mb": 5120.0,
            "bimo_vs_duckdb": 1.0,
        }
    }
    page = "\n".join(scales_section({"scales": {"M": scale | {"native": native}, "L": scale}}))
    assert page.count("gzipped (`gzip -1`) after generation, 53.00 GB before") == 2
    assert page.count("native reads of the history") == 1  # at L only, where M has them
    assert "its read of otel-genai held 5.0 GB at M" in page


def test_each_invocation_states_the_yardstick_it_recorded_and_older_ones_none():
    from report import _invocations

    calls = [
        {"command": "a", "date": "d1", "load_average_start": 0.5, "yardstick_s": 0.3456},
        {"command": "b", "date": "d2", "load_average_start": 0.7},
    ]
    text = _invocations({"invocations": calls})
    assert "at d1 (load average 0.5, yardstick 0.346 s)" in text
    assert "at d2 (load average 0.7)" in text


def test_results_page_reports_targets_not_measured_without_results():
    page = render({})
    assert "## Targets" in page
    assert page.count("not measured") + page.count("not run") >= 4


def test_a_shortfall_is_a_percentage_below_one_and_a_half_times():
    assert shortfall(50, 49.1) == "2% short"
    assert shortfall(0.5, 0.231) == "2.2× short"
    assert shortfall(15, 12) == "25% short"
    assert shortfall(15, 10) == "1.5× short"


def test_ingestion_target_counts_both_json_decoders_with_the_parse():
    """The share of the slowest load's profile given to parsing: Bimo's own code and the JSON
    decoders it calls (orjson, msgspec), whichever the profile's top functions hold; dlt's own
    share as measured."""
    fmt = {"bimo": {"rows": 30_000}, "bimo_vs_duckdb": 0.25, "bimo_vs_dicts": 9.0}
    top = [
        {"function": "<method 'decode' of 'msgspec.json.Decoder' objects>", "own_s": 20.0},
        {"function": "<orjson.loads>", "own_s": 5.0},
        {"function": "fast_row (ingestion/formats/litellm.py:213)", "own_s": 30.0},
    ]
    profile = {
        "profiled_s": 100.0,
        "top_own": top,
        "own_by_package": {"ingestion": {"share": 0.5}, "dlt": {"share": 0.012}},
    }
    rows = targets({"ingestion": {"formats": {"litellm": fmt}}, "profile": {"profile": profile}})
    why = rows[0]["why"]
    assert "take 75% of the time" in why and "dlt's own code 1.2%" in why
    assert rows[1]["why"].startswith("litellm at 9.0× (5.6× short)")


@pytest.mark.slow
@pytest.mark.heavy  # the whole harness, every section (3–4 min): `make test-heavy`, in CI
def test_tiny_benchmark_writes_every_section(tmp_path):
    out = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench.py"),
            "--tiny",
            "--out",
            str(out),
            "--work",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    results = json.loads(out.with_suffix(".json").read_text())
    assert set(SECTIONS) <= set(results)
    scale = results["scales"]["XS"]
    assert scale["history_requests"] > 0 and scale["increment"]["new_rows_first_run"] > 0
    assert {"dbt build", "analytics", "publish"} <= set(scale["stages"])
    # the day in seven the backtest fits its newest origin, taken once more after the increments
    assert scale["origin_day"]["n"] == 1 and scale["origin_day"]["stages"]["analytics"]["seconds"]
    assert scale["increment"]["backtest_origins_reused"] is not None
    assert scale["dbt_layers"]["marts"]["nodes"] > 0
    for run in ("dagster_first", "dagster_day"):
        assert {"gateway_logs", "saas", "bimo_dbt_assets"} <= set(scale[run]["result"]["steps"])
    assert all(f["bimo"]["rows"] > 0 for f in results["ingestion"]["formats"].values())
    dashboard = results["dashboard"][results["dashboard"]["used"]]
    assert dashboard["pages"] and all(p["queries"] > 0 for p in dashboard["pages"].values())
    assert results["ingestion_at_scale"]["bimo_vs_dicts"] > 0
    assert results["profile"]["profile"]["top_own"]
    page = out.with_suffix(".md").read_text()
    assert all(h in page for h in HEADINGS), page[:2000]
    assert "The same day through the Dagster daily job in one process" in page
    assert "| XS, origin day | 14 | same day | 1 |" in page
    assert results["ingestion"]["command"].startswith(".venv/bin/python benchmarks/bench.py")
    # the machine's speed when the run began, beside its load average
    assert results["ingestion"]["yardstick_s"] > 0
    assert f"yardstick {results['ingestion']['yardstick_s']:.3f} s at the start" in page
