"""Forecast accuracy: metrics on hand-made cases (the backtest's origins: test_backtest_origins.py),
projections that add up, the 90-day ensemble and its fallbacks, and the demo's acceptance."""

import importlib.util
import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import pytest

from bimo.analytics.backtest import backtest_points, metrics
from bimo.analytics.forecast import ENSEMBLE, TRAINING_DAYS, forecast
from bimo.analytics.projections import days_to_quarter_end, period_bounds, project
from bimo.analytics.run import accuracy_table
from tests.forecast_series import START, series, weekly

spec = importlib.util.spec_from_file_location(
    "forecast_accuracy", Path(__file__).parent.parent / "benchmarks" / "forecast_accuracy.py"
)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
from demo_warehouse import warehouse_path  # noqa: E402 - on the path the benchmark set


def points(method, cutoff, y, f, lo80, hi80, lo95, hi95, scale):
    n = len(y)
    return pl.DataFrame(
        {
            "unique_id": "s",
            "method": method,
            "model_name": method,
            "cutoff": cutoff,
            "ds": [cutoff + timedelta(days=i + 1) for i in range(n)],
            "y": y,
            "forecast": f,
            "lo_80": lo80,
            "hi_80": hi80,
            "lo_95": lo95,
            "hi_95": hi95,
            "scale": float(scale),
        },
        schema_overrides={c: pl.Float64 for c in ("lo_95", "hi_95", "y", "forecast")},
    )


def test_metrics_on_a_hand_made_case():
    a, b = date(2026, 3, 1), date(2026, 3, 8)
    frame = pl.concat(
        [
            # bimo: |e| = 2, 2 (MAE 2, scale 4: 0.5) then 0, 6 (MAE 3, scale 2: 1.5)
            points("bimo", a, [10.0, 20.0], [12.0, 18.0], [9, 17], [13, 21], [8, 15],
                   [14, 22], 4),
            points("bimo", b, [10.0, 10.0], [10.0, 16.0], [9, 11], [11, 18], [8, 9],
                   [12, 20], 2),
            # seasonal naive: always 4 over (MAE 4: MASE 1 then 2)
            points("seasonal_naive", a, [10.0, 20.0], [14.0, 24.0], [0, 0], [30, 30],
                   [0, 0], [40, 40], 4),
            points("seasonal_naive", b, [10.0, 10.0], [14.0, 14.0], [0, 0], [30, 30],
                   [0, 0], [40, 40], 2),
            points("linear_trend_20pct", a, [10.0, 20.0], [10.0, 20.0], [8, 16], [12, 24],
                   [None, None], [None, None], 4),
        ]
    )  # fmt: skip
    m = {r["method"]: r for r in metrics(frame).to_dicts()}
    bimo = m["bimo"]
    assert bimo["mase"] == pytest.approx(1.0)  # mean of 0.5 and 1.5
    assert bimo["wape"] == pytest.approx(10 / 50)
    assert bimo["bias"] == pytest.approx((2 - 2 + 0 + 6) / 50)
    assert bimo["coverage_80"] == pytest.approx(3 / 4)  # origin b's 10 in [11, 18] is outside
    assert bimo["coverage_95"] == pytest.approx(1.0)
    # Totals within the summed 80 % bounds: origin a 30 in [26, 34]; origin b 20 in [20, 29].
    assert bimo["total_coverage_80"] == pytest.approx(1.0)
    assert (bimo["n_origins"], bimo["n_points"]) == (2, 4)
    assert (bimo["first_origin"], bimo["last_origin"]) == (a, b)
    assert m["seasonal_naive"]["mase"] == pytest.approx(1.5)
    assert bimo["skill"] == pytest.approx(1 - 1.0 / 1.5)
    assert m["seasonal_naive"]["skill"] == pytest.approx(0.0)
    linear = m["linear_trend_20pct"]
    assert linear["mase"] == pytest.approx(0.0) and linear["coverage_80"] == 1.0
    assert linear["coverage_95"] is None and linear["total_coverage_95"] is None


def test_zero_actuals_leave_wape_and_bias_null():
    frame = points("bimo", START, [0.0, 0.0], [1.0, 0.0], [0, 0], [2, 2], [0, 0], [3, 3], 1)
    row = metrics(frame).row(0, named=True)
    assert row["mase"] == pytest.approx(0.5)
    assert row["wape"] is None and row["bias"] is None


def test_a_series_that_is_always_zero_is_not_scored():
    s = pl.concat([series(weekly(70)), series([0.0] * 70, key="idle", level="provider")])
    scored = metrics(backtest_points(s, horizon=14, n_origins=2))
    assert set(scored["unique_id"]) == {"prod|cost_usd|total|total"}


def test_projection_is_actual_to_date_plus_forecast_of_the_rest():
    through = date(2026, 11, 10)
    actual = series(np.arange(1, 52), start=date(2026, 9, 21))  # 1 on Sep 21 … 51 on Nov 10
    days = [through + timedelta(days=i) for i in range(1, 91)]
    fc = pl.DataFrame(
        {
            "source_tag": "prod",
            "series_level": "total",
            "series_key": "total",
            "provider": None,
            "forecast_date": days,
            "model_name": ENSEMBLE,
            "forecast": 2.0,
            "lo_80": 1.0,
            "hi_80": 3.0,
            "lo_95": 0.5,
            "hi_95": 4.0,
            "trained_through": through,
        },
        schema_overrides={"provider": pl.String},
    )
    rows = {r["period"]: r for r in project(actual, fc).to_dicts()}
    month, quarter = rows["month"], rows["quarter"]
    assert (month["period_start"], month["period_end"]) == (date(2026, 11, 1), date(2026, 11, 30))
    assert month["actual_to_date"] == sum(range(42, 52))  # Nov 1..10
    assert (month["days_elapsed"], month["days_remaining"]) == (10, 20)
    assert month["forecast_remaining"] == 20 * 2.0
    assert month["projected_total"] == month["actual_to_date"] + 40.0
    assert (month["lo_80"], month["hi_95"]) == (month["actual_to_date"] + 20,
                                                month["actual_to_date"] + 80)  # fmt: skip
    assert quarter["period_start"] == date(2026, 10, 1)
    assert quarter["actual_to_date"] == sum(range(11, 52))  # Oct 1..Nov 10
    assert quarter["days_remaining"] == 51 and quarter["forecast_remaining"] == 102.0
    assert quarter["lo_95"] == quarter["actual_to_date"] + 51 * 0.5
    assert quarter["bounds_method"] == "sum_of_daily_bounds"
    # A forecast that stops before the period ends publishes no projection for it.
    short = project(actual, fc.filter(pl.col("forecast_date") < date(2026, 12, 1)))
    assert short["period"].to_list() == ["month"]


def test_period_bounds_and_the_forecast_days_a_quarter_needs():
    assert period_bounds(date(2026, 12, 15), "month") == (date(2026, 12, 1), date(2026, 12, 31))
    assert period_bounds(date(2026, 2, 1), "quarter") == (date(2026, 1, 1), date(2026, 3, 31))
    assert period_bounds(date(2026, 11, 30), "quarter") == (date(2026, 10, 1), date(2026, 12, 31))
    assert days_to_quarter_end(date(2026, 9, 30)) == 92  # Oct 1 .. Dec 31
    assert days_to_quarter_end(date(2026, 10, 31)) == 61


def test_ninety_day_ensemble_with_fallbacks_for_short_and_flat_series():
    frames = [
        series(weekly(120), key="openai", level="provider"),
        series(weekly(14, seed=2), key="google", level="provider"),
        series([0.0] * 40, key="self_hosted", level="provider"),
        series(weekly(5, seed=3), key="mistral", level="provider"),
    ]
    through = START + timedelta(days=119)
    fc = forecast(pl.concat(frames), trained_through=through)
    models = dict(fc.select("series_key", "model_name").unique().iter_rows())
    assert models == {"openai": ENSEMBLE, "google": "SeasonalNaive", "self_hosted": "Naive"}
    openai = fc.filter(pl.col("series_key") == "openai")
    assert openai.height == 90 and openai["horizon_day"].to_list() == list(range(1, 91))
    assert openai["forecast_date"].min() == through + timedelta(days=1)
    ordered = fc.filter(
        (pl.col("lo_95") <= pl.col("lo_80"))
        & (pl.col("lo_80") <= pl.col("forecast"))
        & (pl.col("forecast") <= pl.col("hi_80"))
        & (pl.col("hi_80") <= pl.col("hi_95"))
        & (pl.col("lo_95") >= 0)
    )
    assert ordered.height == fc.height
    assert fc.filter(pl.col("series_key") == "self_hosted")["hi_95"].max() == 0.0


def test_an_incident_in_the_history_does_not_become_the_forecast():
    y = weekly(84, seed=5, growth=0.0, noise=0.02)
    y[80] *= 8  # an incident four days before the forecast starts
    fc = forecast(series(y), horizon=28, trained_through=START + timedelta(days=83))
    assert fc["forecast"].mean() == pytest.approx(float(np.mean(y[:77])), rel=0.1)


FORECAST_COLUMNS = ["series_key", "forecast_date", "forecast", "lo_80", "hi_80", "lo_95", "hi_95"]


def test_the_models_see_only_each_series_last_training_days():
    # Two series of different lengths whose older days are poisoned (× 50): the forecast is the
    # one of their last `TRAINING_DAYS` days alone, and without the window it is not.
    long, short = weekly(TRAINING_DAYS + 80, seed=6), weekly(TRAINING_DAYS + 10, seed=7)
    long[:80] *= 50
    short[:10] *= 50
    end = START + timedelta(days=TRAINING_DAYS + 79)
    frame = pl.concat(
        [
            series(long, key="openai", level="provider"),
            series(
                short, key="google", level="provider", start=end - timedelta(days=len(short) - 1)
            ),
        ]
    )
    windowed = forecast(frame, trained_through=end).select(FORECAST_COLUMNS)
    recent = frame.filter(pl.col("ds") > end - timedelta(days=TRAINING_DAYS))
    alone = forecast(recent, trained_through=end).select(FORECAST_COLUMNS)
    assert windowed.equals(alone)
    # Fitted to every day, the fall from the poisoned level drags the forecast far off.
    everything = forecast(frame, trained_through=end, training_days=None)
    off = (everything["forecast"].mean() - windowed["forecast"].mean()) / windowed[
        "forecast"
    ].mean()
    assert abs(off) > 0.5


@pytest.fixture(scope="module")
def demo90(tmp_path_factory):
    """The 90-day demo (seed 7) loaded and built: (warehouse path, forecast series)."""
    work = tmp_path_factory.mktemp("demo90")
    return warehouse_path(7, 90, work), bench.demo_series(7, 90, work)


@pytest.mark.slow
def test_demo_forecast_beats_seasonal_naive_with_calibrated_intervals(demo90):
    _, s = demo90
    acc = accuracy_table(s, trained_through=s["ds"].max())
    summary = bench.by_method(acc)
    bimo, snaive = summary["bimo"], summary["seasonal_naive"]
    assert bimo["mase"] < snaive["mase"], summary
    assert 0.70 <= bimo["coverage_80"] <= 0.90, summary
    assert set(acc["method"]) == {"bimo", "seasonal_naive", "linear_trend_20pct"}
    assert (acc["n_origins"] == 4).all() and (acc["horizon_days"] == 30).all()


@pytest.mark.slow
def test_assets_write_forecast_projections_and_accuracy(demo90, tmp_path, monkeypatch):
    from orchestration.defs.analytics import cost_forecast, cost_projections, forecast_accuracy

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo90[0], warehouse)
    monkeypatch.setenv("BIMO_WAREHOUSE", str(warehouse))
    result = dg.materialize([cost_forecast, cost_projections, forecast_accuracy])
    assert result.success
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        days, first = con.sql(
            "select max(horizon_day), min(forecast_date) - max(trained_through) "
            "from analytics.cost_forecast where source_tag = 'prod' and series_level = 'total'"
        ).fetchall()[0]
        periods = con.sql(
            "select period, count(*) from analytics.cost_projections group by 1 order by 1"
        ).fetchall()
        methods = con.sql(
            "select method, count(*) from analytics.forecast_accuracy group by 1 order by 1"
        ).fetchall()
    finally:
        con.close()
    assert days >= 90 and first == 1
    assert [p for p, _ in periods] == ["month", "quarter"] and periods[0][1] == periods[1][1]
    assert len({n for _, n in methods}) == 1 and len(methods) == 3

    # A second run over the same days refits nothing: every origin's points are reused, and the
    # accuracy is what the first run computed.
    def accuracy():
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.sql("select * exclude (generated_at) from analytics.forecast_accuracy").pl()

    before = accuracy()
    again = dg.materialize([forecast_accuracy])
    assert again.success
    meta = again.asset_materializations_for_node("analytics__forecast_accuracy")[0].metadata
    assert meta["origins_reused"].value == "4 of 4"
    assert accuracy().equals(before)


def test_the_cleaning_baseline_is_the_anomaly_detectors():
    from bimo.analytics.anomalies import robust_baseline
    from bimo.analytics.forecast import clean_outliers, seasonal_baseline

    y = weekly(60, seed=6)
    y[[20, 41]] *= [6, 0.1]
    s = pl.concat([series(y), series(weekly(30, seed=7), key="b", level="provider")])
    base = seasonal_baseline(s.select("unique_id", "ds", "y"), 7)
    for uid, g in base.group_by("unique_id"):
        expected = robust_baseline(g["y"].to_numpy(), None, 15, groups=np.arange(g.height) % 7)
        assert np.allclose(g["_base"].to_numpy(), expected), uid
    cleaned = clean_outliers(s.select("unique_id", "ds", "y"), 7)
    total = cleaned.filter(pl.col("unique_id") == s["unique_id"][0])["y"].to_numpy()
    changed = np.flatnonzero(total != y)
    assert changed.tolist() == [20, 41]
