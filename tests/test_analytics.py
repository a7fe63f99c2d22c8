"""Anomaly detection and forecasting on synthetic series with known truth."""

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from bimo.analytics.anomalies import (
    AnomalyConfig,
    _rolling_median,
    detect,
    expected_values,
    robust_baseline,
)
from bimo.analytics.forecast import forecast

START = date(2026, 1, 1)


def series(values, *, key="total", metric="cost_usd", tag="prod", level="total"):
    n = len(values)
    return pl.DataFrame(
        {
            "unique_id": f"{tag}|{metric}|{level}|{key}",
            "source_tag": tag,
            "metric": metric,
            "series_level": level,
            "series_key": key,
            "provider": None if level == "total" else key,
            "model": None,
            "ds": [START + timedelta(days=i) for i in range(n)],
            "y": [float(v) for v in values],
        },
        schema_overrides={"provider": pl.String, "model": pl.String},
    )


def seasonal(n, *, seed=0, base=100.0, growth=0.004, noise=0.05):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    weekday = np.where(((START.weekday() + t) % 7) < 5, 1.0, 0.4)
    return base * (1 + growth * t) * weekday * (1 + rng.normal(0, noise, n))


def test_spike_is_flagged_alone_with_bounds_and_impact():
    y = seasonal(90)
    y[60] *= 4
    found = detect(series(y))
    assert found["anomaly_date"].to_list() == [START + timedelta(days=60)]
    row = found.row(0, named=True)
    assert row["direction"] == "spike" and row["method"] == "mstl"
    assert row["lower_bound"] <= row["expected"] <= row["upper_bound"] < row["actual"]
    assert abs(row["impact_usd"] - (row["actual"] - row["expected"])) < 1e-9
    assert row["severity"] == "high"


def test_clean_seasonal_growth_is_not_flagged():
    for seed in range(5):
        assert detect(series(seasonal(90, seed=seed))).is_empty()


def test_short_series_use_the_robust_fallback():
    y = seasonal(16, seed=3)
    y[12] *= 5
    found = detect(series(y))
    assert found["anomaly_date"].to_list() == [START + timedelta(days=12)]
    assert found["method"].to_list() == ["robust_median"]


def test_tiny_dollar_moves_are_not_material():
    y = seasonal(60, base=0.05)  # five cents a day
    y[40] *= 4
    assert detect(series(y)).is_empty()
    assert not detect(series(y), AnomalyConfig(min_impact_usd=0.01)).is_empty()


def test_the_trend_model_reaches_the_fit():
    # On a steady climb, simple exponential smoothing (ANN) and Holt's linear trend (AAN) fit
    # MSTL's trend differently: the expected values differ only if the config's model is fitted.
    frame = series(seasonal(60, growth=0.05, noise=0.0))
    fits = {m: expected_values(frame, AnomalyConfig(trend_model=m)) for m in ("ANN", "AAN")}
    assert all(f["method"].unique().to_list() == ["mstl"] for f in fits.values())
    gap = np.abs(fits["ANN"]["expected"].to_numpy() - fits["AAN"]["expected"].to_numpy())
    assert gap.max() > 0.05 * frame["y"].mean()


@pytest.mark.parametrize("model", ["ZZZ", "AN", "ANA", "BNN", ""])
def test_a_trend_model_with_a_season_or_unknown_letters_is_refused(model):
    with pytest.raises(ValueError, match="trend_model"):
        AnomalyConfig(trend_model=model)


def test_error_rate_burst():
    rng = np.random.default_rng(1)
    rate = np.clip(0.01 + rng.normal(0, 0.002, 60), 0, 1)
    rate[45] = 0.25
    found = detect(series(rate, metric="error_rate", level="provider", key="google"))
    assert found["anomaly_date"].to_list() == [START + timedelta(days=45)]
    assert found["impact_usd"].to_list() == [None]


def test_robust_baseline_ignores_a_two_day_spike():
    y = seasonal(56, noise=0.0, growth=0.0)
    dow = (START.weekday() + np.arange(56)) % 7
    clean = robust_baseline(y, dow)
    y[30:32] *= 10
    assert np.allclose(robust_baseline(y, dow), clean, rtol=0.05)


def test_rolling_median_is_the_median_of_each_centred_window_cut_at_the_ends():
    """The vectorised rolling median equals, bit for bit, a median per point of the window
    around it (cut short at either end), for any length and window, with zeros and NaN."""
    rng = np.random.default_rng(7)
    for n in (0, 1, 5, 14, 15, 16, 31, 90):
        for window in (1, 2, 7, 14, 15, 31):
            x = rng.lognormal(3, 1.5, n) * rng.choice([0, 1], n, p=[0.2, 0.8])
            if n > 3:
                x[n // 3] = np.nan
            half = window // 2
            expected = [np.median(x[max(0, i - half) : i + half + 1]) for i in range(n)]
            got = _rolling_median(x, window)
            assert got.shape == (n,)
            assert np.array_equal(got, np.array(expected, dtype=float), equal_nan=True)


def test_forecast_intervals_are_ordered_and_non_negative():
    long = series(seasonal(90), key="openai", level="provider")
    short = series(seasonal(10, seed=2), key="google", level="provider")
    fc = forecast(pl.concat([long, short]), horizon=30, trained_through=START + timedelta(days=89))
    assert fc.group_by("series_key").len().sort("series_key")["len"].to_list() == [30, 30]
    assert dict(fc.select("series_key", "model_name").unique().iter_rows()) == {
        "openai": "Ensemble(AutoETS,AutoTheta)",
        "google": "SeasonalNaive",
    }
    ordered = fc.filter(
        (pl.col("lo_95") <= pl.col("lo_80"))
        & (pl.col("lo_80") <= pl.col("forecast"))
        & (pl.col("forecast") <= pl.col("hi_80"))
        & (pl.col("hi_80") <= pl.col("hi_95"))
        & (pl.col("lo_95") >= 0)
    )
    assert ordered.height == fc.height
    openai = fc.filter(pl.col("series_key") == "openai")
    assert openai["forecast_date"].min() == START + timedelta(days=90)
    # Weekly season carried forward: weekday forecasts above weekend ones.
    wk = openai.with_columns(weekend=pl.col("forecast_date").dt.weekday() >= 6)
    means = dict(wk.group_by("weekend").agg(pl.col("forecast").mean()).iter_rows())
    assert means[False] > 1.5 * means[True]
