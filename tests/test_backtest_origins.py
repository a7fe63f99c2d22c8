"""The backtest's origins: on Sundays, blind to the future and to days before the training
window, and reused from the stored points while the days they saw are unchanged."""

import itertools
from datetime import date, timedelta

import polars as pl

from bimo.analytics.backtest import backtest_points, origins
from tests.forecast_series import series, weekly


def test_origins_end_a_horizon_before_the_last_day():
    last = date(2026, 10, 31)
    cuts = origins(last, horizon=30, n=4, step=7, anchor=None)
    assert cuts[-1] == last - timedelta(days=30)
    assert [(b - a).days for a, b in itertools.pairwise(cuts)] == [7, 7, 7]


def test_origins_fall_on_sundays_and_stay_put_for_a_week():
    by_day = {}
    for i in range(21):
        last = date(2026, 10, 1) + timedelta(days=i)
        cuts = origins(last, horizon=30, n=4, step=7)
        assert all(c.weekday() == 6 for c in cuts), (last, cuts)
        assert 30 <= (last - cuts[-1]).days <= 36, (last, cuts)
        assert [(b - a).days for a, b in itertools.pairwise(cuts)] == [7, 7, 7]
        by_day[last] = cuts
    # Seven consecutive last days share one set of origins; the eighth moves it by a week.
    runs = [len(list(g)) for _, g in itertools.groupby(tuple(c) for c in by_day.values())]
    assert len(runs) in (3, 4) and runs[1:-1] == [7] * (len(runs) - 2), runs
    sets = list(dict.fromkeys(tuple(c) for c in by_day.values()))
    assert all(b[:3] == a[1:] for a, b in itertools.pairwise(sets))  # three origins carry over


def test_unchanged_origins_reuse_the_stored_points_and_match_a_fresh_backtest():
    s = series(weekly(90, seed=5))
    # End on the day the origins move (its last origin leaves exactly 14 days): the next six
    # days keep them, and none of the origins sees the day added below.
    end = next(d for d in reversed(s["ds"]) if (d - timedelta(days=14)).weekday() == 6)
    s = s.filter(pl.col("ds") <= end)
    first = backtest_points(s, horizon=14, n_origins=3)
    c0, c1, c2 = sorted(first["cutoff"].unique())
    assert c2 == end - timedelta(days=14)
    day = series([123.0], start=end + timedelta(days=1))
    grown = pl.concat([s, day])
    fresh = backtest_points(grown, horizon=14, n_origins=3)
    assert sorted(fresh["cutoff"].unique()) == [c0, c1, c2]
    cols = fresh.columns
    assert fresh.sort(cols).equals(
        backtest_points(grown, horizon=14, n_origins=3, reuse=first).sort(cols)
    )
    # Marked stored points prove they are taken, not refitted...
    marked = first.with_columns(forecast=pl.col("forecast") + 1000.0)
    reused = backtest_points(grown, horizon=14, n_origins=3, reuse=marked)
    assert reused.height == fresh.height and (reused["forecast"] >= 1000.0).all()
    # ...unless a day an origin saw changed (a late restatement): only the last origin saw the
    # last day of its horizon, so it alone is refitted, and it matches a fresh fit.
    restated = grown.with_columns(
        y=pl.when(pl.col("ds") == c2 + timedelta(days=14)).then(pl.col("y") * 3).otherwise("y")
    )
    again = backtest_points(restated, horizon=14, n_origins=3, reuse=marked)
    assert set(again.filter(pl.col("forecast") >= 1000.0)["cutoff"]) == {c0, c1}
    refit = again.filter(pl.col("cutoff") == c2).sort(cols)
    expected = backtest_points(restated, horizon=14, n_origins=3).filter(pl.col("cutoff") == c2)
    assert refit.equals(expected.sort(cols)) and refit.height > 0
    # Other parameters are other inputs: nothing is reused.
    other = backtest_points(grown, horizon=14, n_origins=3, reuse=marked, training_days=42)
    assert other.height > 0 and (other["forecast"] < 1000.0).all()


def test_backtest_origins_do_not_see_the_future():
    s = series(weekly(84, seed=4))
    base = backtest_points(s, horizon=14, n_origins=2, step=7)
    cutoffs = sorted(base["cutoff"].unique())
    assert len(cutoffs) == 2
    for cutoff in cutoffs:
        # Everything after the cutoff is replaced: that origin's forecasts must not move.
        future = pl.col("ds") > cutoff
        poisoned = s.with_columns(y=pl.when(future).then(pl.col("y") * 50).otherwise("y"))
        again = backtest_points(poisoned, horizon=14, n_origins=2, step=7)
        cols = ["method", "ds", "forecast", "lo_80", "hi_80", "lo_95", "hi_95", "scale"]
        before = base.filter(pl.col("cutoff") == cutoff).select(cols).sort("method", "ds")
        after = again.filter(pl.col("cutoff") == cutoff).select(cols).sort("method", "ds")
        assert before.equals(after), cutoff
        assert set(before["method"]) == {"bimo", "seasonal_naive", "linear_trend_20pct"}
        assert before.filter(pl.col("ds") <= cutoff).is_empty()


def test_the_backtest_fits_bimo_to_the_training_window_before_each_origin():
    s = series(weekly(140, seed=8))
    cols = ["cutoff", "ds", "forecast", "lo_80", "hi_80", "lo_95", "hi_95"]

    def bimo(frame, window):
        pts = backtest_points(frame, horizon=14, n_origins=3, step=7, training_days=window)
        return pts.filter(pl.col("method") == "bimo").select(cols).sort("cutoff", "ds")

    first = min(origins(s["ds"].max(), horizon=14, n=3, step=7))
    # Days older than every origin's 42-day window: they must not move the model's forecasts.
    old = pl.col("ds") <= first - timedelta(days=42)
    poisoned = s.with_columns(y=pl.when(old).then(pl.col("y") * 50).otherwise("y"))
    assert bimo(poisoned, 42).equals(bimo(s, 42))
    assert bimo(poisoned, 42)["cutoff"].n_unique() == 3
    assert not bimo(poisoned, None).equals(bimo(s, None))
