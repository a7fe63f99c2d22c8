"""Rolling-origin backtest: how accurate the forecaster was, against two baselines.

At each origin (cutoff) the series are cut to the days up to and including it, so nothing after
it reaches the models, the outlier cleaning or the MASE scale. Every method then forecasts the
next `horizon` days, which are compared with what happened. The last origin is the last Sunday
at least `horizon` days before the last complete day (`ANCHOR`), and the others `step` days apart
before it (4 origins, 7 days apart and 30 days ahead by default). On a fixed weekday the origins
stay put for a week, so each origin's points are reused from the previous run (`reuse`) while the
days it saw, up to the end of its horizon, are unchanged (`inputs`, a fingerprint of those days,
the parameters and this code): a daily run refits no origin on six days in seven and one on the
seventh. An origin is used for a series once the series has a full season of history at it and
changed week on week in it (a window that is always $0 has no MASE scale).

Methods, all clipped at zero like the published forecast:

- `bimo`: `forecast.forecast_long`, the production model (the ensemble, or its short-series
  fallback: `model_name` says which);
- `seasonal_naive`: each weekday repeats its last value, with StatsForecast's intervals;
- `linear_trend_20pct`: a least-squares line through the training days, with a band of ± 20 %
  of it (its only band: reported as `coverage_80`, `coverage_95` is null).

Metrics per series and method (`metrics`), over every origin and horizon day:

- `mase`: mean over origins of MAE / the training window's in-sample seasonal-naive MAE (lag
  `season`);
- `wape`: Σ|forecast − actual| / Σ|actual|; `bias`: Σ(forecast − actual) / Σ|actual| (positive =
  over-forecast); both null when the actuals are all zero;
- `coverage_80` / `coverage_95`: share of days whose actual lies within the interval;
- `total_coverage_80` / `total_coverage_95`: share of origins whose `horizon`-day total lies
  within the summed daily bounds (how the spend projections bound a sum);
- `skill`: 1 − MASE / MASE of seasonal naive on the same series (0 for seasonal naive itself;
  above 0 is better than it).
"""

from __future__ import annotations

import functools
import hashlib
from datetime import date, timedelta
from importlib.metadata import version
from pathlib import Path

import numpy as np
import polars as pl

from bimo.analytics.forecast import INTERVAL_COLUMNS, TRAINING_DAYS, forecast_long

HORIZON, ORIGINS, STEP, SEASON = 30, 4, 7, 7
ANCHOR = 6  # the weekday (Monday = 0) every origin falls on: Sunday, the end of an ISO week
METHODS = ("bimo", "seasonal_naive", "linear_trend_20pct")
LINEAR_BAND = 0.2
POINT_COLUMNS = ["unique_id", "method", "model_name", "cutoff", "ds", "y", "forecast",
                 *INTERVAL_COLUMNS, "scale", "inputs"]  # fmt: skip
# What a backtest's numbers depend on besides the data: the code of the models and of this module.
_CODE = (Path(__file__), Path(__file__).with_name("forecast.py"))


def origins(
    last_day: date,
    *,
    horizon: int = HORIZON,
    n: int = ORIGINS,
    step: int = STEP,
    anchor: int | None = ANCHOR,
) -> list[date]:
    """The cutoffs, oldest first. The last one is the last `anchor` weekday that leaves at least
    `horizon` days to compare (exactly `horizon` days before `last_day` when `anchor` is None)."""
    last = last_day - timedelta(days=horizon)
    if anchor is not None:
        last -= timedelta(days=(last.weekday() - anchor) % 7)
    return [last - timedelta(days=k * step) for k in reversed(range(n))]


def backtest_points(
    series: pl.DataFrame,
    *,
    horizon: int = HORIZON,
    n_origins: int = ORIGINS,
    step: int = STEP,
    season: int = SEASON,
    n_jobs: int = 1,
    training_days: int | None = TRAINING_DAYS,
    anchor: int | None = ANCHOR,
    reuse: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per series, method, origin and forecast day (`POINT_COLUMNS`), from a long
    `unique_id / ds / y` frame of daily series; `bimo` is fitted to the last `training_days`
    days before each origin, as the production forecast is. An origin whose `inputs`
    fingerprint matches rows of `reuse` (an earlier run's points) takes those rows instead of
    being fitted again: the same days and parameters give the same points."""
    df = series.select("unique_id", "ds", "y").sort("unique_id", "ds")
    if df.is_empty():
        return pl.DataFrame(schema=_point_schema())
    params = (horizon, season, training_days)
    parts = []
    for cutoff in origins(df["ds"].max(), horizon=horizon, n=n_origins, step=step, anchor=anchor):
        seen = df.filter(pl.col("ds") <= cutoff + timedelta(days=horizon))
        key = inputs_fingerprint(seen, cutoff, params)
        earlier = _reused(reuse, cutoff, key)
        if earlier is not None:
            parts.append(earlier)
            continue
        parts.extend(_origin_points(seen, cutoff, horizon, season, n_jobs, training_days, key))
    return pl.concat(parts) if parts else pl.DataFrame(schema=_point_schema())


def _origin_points(
    seen: pl.DataFrame,
    cutoff: date,
    horizon: int,
    season: int,
    n_jobs: int,
    training_days: int | None,
    key: str,
) -> list[pl.DataFrame]:
    """Every method's points at one origin, from the days up to the end of its horizon."""
    train = seen.filter(pl.col("ds") <= cutoff)
    # A window that never changed week on week (e.g. always $0) has no MASE scale: unscored.
    scale = _scale(train, season).filter(pl.col("scale") > 0)
    train = train.filter(
        (pl.len().over("unique_id") >= season) & pl.col("unique_id").is_in(scale["unique_id"])
    )
    if train.is_empty():
        return []
    actual = seen.filter(pl.col("ds") > cutoff)
    bimo = forecast_long(
        train, horizon=horizon, seasons=(season,), n_jobs=n_jobs, max_points=training_days
    )
    return [
        fc.join(actual, on=["unique_id", "ds"])
        .join(scale, on="unique_id")
        .with_columns(
            *[pl.col(c).clip(lower_bound=0.0) for c in ("forecast", *INTERVAL_COLUMNS)],
            method=pl.lit(method),
            cutoff=pl.lit(cutoff, pl.Date),
            inputs=pl.lit(key),
        )
        .select(POINT_COLUMNS)
        for method, fc in (
            ("bimo", bimo),
            ("seasonal_naive", seasonal_naive(train, horizon, season, n_jobs)),
            ("linear_trend_20pct", linear_trend(train, horizon)),
        )
    ]


def inputs_fingerprint(seen: pl.DataFrame, cutoff: date, params: tuple) -> str:
    """A hash of what one origin's points depend on: the days it saw (training and actuals, a
    `unique_id / ds / y` frame sorted by series and day), the origin, the parameters, and the
    code of the models (this module, `forecast.py`, statsforecast's version)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((cutoff.isoformat(), params)).encode())
    h.update(_code_hash())
    runs = seen.group_by("unique_id", maintain_order=True).len()
    h.update("\x1f".join(f"{u}\x1e{n}" for u, n in runs.iter_rows()).encode())
    h.update(seen["ds"].cast(pl.Int32).to_numpy().tobytes())
    h.update(seen["y"].cast(pl.Float64).fill_null(float("nan")).to_numpy().tobytes())
    return h.hexdigest()


@functools.cache
def _code_hash() -> bytes:
    """The models' code and statsforecast's version, read once per process."""
    h = hashlib.blake2b(version("statsforecast").encode(), digest_size=16)
    for path in _CODE:
        h.update(path.read_bytes())
    return h.digest()


def _reused(reuse: pl.DataFrame | None, cutoff: date, key: str) -> pl.DataFrame | None:
    """An earlier run's points for this origin, if they were made from the same inputs."""
    if reuse is None or reuse.is_empty() or "inputs" not in reuse.columns:
        return None
    rows = reuse.filter((pl.col("cutoff") == cutoff) & (pl.col("inputs") == key))
    return rows.select(POINT_COLUMNS).cast(_point_schema()) if rows.height else None


def metrics(points: pl.DataFrame) -> pl.DataFrame:
    """Accuracy per series and method from `backtest_points` rows (definitions above). The sums
    run in one order (series, method, origin, day) whatever the order of the rows, so points
    reused from a stored table give the same floats as points just fitted."""
    err = pl.col("forecast") - pl.col("y")
    points = points.sort("unique_id", "method", "cutoff", "ds")
    per_origin = points.group_by("unique_id", "method", "cutoff", maintain_order=True).agg(
        pl.col("model_name").first(),
        mase=pl.when(pl.col("scale").first() > 0)
        .then(err.abs().mean() / pl.col("scale").first())
        .otherwise(None),
        abs_err=err.abs().sum(),
        err=err.sum(),
        abs_y=pl.col("y").abs().sum(),
        n_points=pl.len(),
        **{f"covered_{lv}": _inside(lv).cast(pl.Float64).sum() for lv in (80, 95)},
        **{f"total_in_{lv}": _total_inside(lv) for lv in (80, 95)},
    )
    ratio = pl.when(pl.col("abs_y").sum() > 0).then(pl.col("abs_y").sum()).otherwise(None)
    per_series = per_origin.group_by("unique_id", "method", maintain_order=True).agg(
        model_name=pl.col("model_name").unique().sort().str.join(","),
        n_origins=pl.len().cast(pl.Int32),
        first_origin=pl.col("cutoff").min(),
        last_origin=pl.col("cutoff").max(),
        n_points=pl.col("n_points").sum().cast(pl.Int32),
        mase=pl.col("mase").mean(),
        wape=pl.col("abs_err").sum() / ratio,
        bias=pl.col("err").sum() / ratio,
        **{
            f"coverage_{lv}": pl.col(f"covered_{lv}").sum() / pl.col("n_points").sum()
            for lv in (80, 95)
        },
        **{f"total_coverage_{lv}": pl.col(f"total_in_{lv}").mean() for lv in (80, 95)},
    )
    # Intervals a method does not have (its nulls counted as "not inside") are null, not 0.
    has = points.group_by("unique_id", "method").agg(
        **{f"has_{lv}": pl.col(f"lo_{lv}").is_not_null().all() for lv in (80, 95)}
    )
    snaive = per_series.filter(pl.col("method") == "seasonal_naive").select(
        "unique_id", snaive_mase="mase"
    )
    return (
        per_series.join(has, on=["unique_id", "method"])
        .join(snaive, on="unique_id", how="left")
        .with_columns(
            *[
                pl.when(pl.col(f"has_{lv}")).then(pl.col(c)).otherwise(None).alias(c)
                for lv in (80, 95)
                for c in (f"coverage_{lv}", f"total_coverage_{lv}")
            ],
            skill=pl.when(pl.col("snaive_mase") > 0)
            .then(1 - pl.col("mase") / pl.col("snaive_mase"))
            .otherwise(None),
        )
        .drop("has_80", "has_95", "snaive_mase")
        .sort("unique_id", "method")
    )


def summary(accuracy: pl.DataFrame) -> pl.DataFrame:
    """Per method over all series: mean MASE and skill, median MASE, and WAPE, bias and
    coverages weighted by points (what the benchmark and docs quote)."""
    return (
        accuracy.group_by("method")
        .agg(
            series=pl.len(),
            mase=pl.col("mase").mean(),
            median_mase=pl.col("mase").median(),
            skill=pl.col("skill").mean(),
            **{c: _weighted(c) for c in ("wape", "bias", "coverage_80", "coverage_95")},
            total_coverage_80=pl.col("total_coverage_80").mean(),
        )
        .sort("method")
    )


def _weighted(column: str) -> pl.Expr:
    """Mean weighted by `n_points`, over the series that have the metric (null if none)."""
    w = pl.col("n_points").filter(pl.col(column).is_not_null())
    return pl.when(w.sum() > 0).then((pl.col(column) * pl.col("n_points")).sum() / w.sum())


def _inside(lv: int) -> pl.Expr:
    return (pl.col(f"lo_{lv}") <= pl.col("y")) & (pl.col("y") <= pl.col(f"hi_{lv}"))


def _total_inside(lv: int) -> pl.Expr:
    total = pl.col("y").sum()
    return ((pl.col(f"lo_{lv}").sum() <= total) & (total <= pl.col(f"hi_{lv}").sum())).cast(
        pl.Float64
    )


def _scale(train: pl.DataFrame, season: int) -> pl.DataFrame:
    """In-sample MAE of the seasonal naive forecast (lag `season`) on each training window."""
    return train.group_by("unique_id").agg(
        scale=(pl.col("y") - pl.col("y").shift(season)).abs().mean()
    )


def seasonal_naive(train: pl.DataFrame, horizon: int, season: int = SEASON, n_jobs: int = 1):
    """The seasonal naive baseline in the backtest's columns, with 80 % and 95 % intervals."""
    from statsforecast import StatsForecast
    from statsforecast.models import SeasonalNaive

    sf = StatsForecast(models=[SeasonalNaive(season_length=season)], freq="D", n_jobs=n_jobs)
    fc = pl.from_pandas(sf.forecast(df=train.to_pandas(), h=horizon, level=[80, 95]))
    return fc.select(
        "unique_id",
        pl.col("ds").cast(pl.Date),
        model_name=pl.lit("SeasonalNaive"),
        forecast="SeasonalNaive",
        **{f"{b}_{lv}": f"SeasonalNaive-{b}-{lv}" for lv in (80, 95) for b in ("lo", "hi")},
    )


def linear_trend(train: pl.DataFrame, horizon: int) -> pl.DataFrame:
    """The least-squares line through each training window, with its ± 20 % band."""
    rows = []
    for (uid,), g in train.group_by(["unique_id"], maintain_order=True):
        y = g["y"].to_numpy().astype(float)
        t = np.arange(len(y))
        slope, intercept = np.polyfit(t, y, 1) if len(y) > 1 else (0.0, float(y[0]))
        line = intercept + slope * (len(y) + np.arange(horizon))
        last = g["ds"].max()
        rows.append(
            pl.DataFrame(
                {
                    "unique_id": uid,
                    "ds": [last + timedelta(days=i + 1) for i in range(horizon)],
                    "forecast": line,
                }
            )
        )
    lo, hi = 1 - LINEAR_BAND, 1 + LINEAR_BAND
    return pl.concat(rows).select(
        "unique_id",
        pl.col("ds").cast(pl.Date),
        model_name=pl.lit("LinearTrend±20%"),
        forecast=pl.col("forecast"),
        lo_80=pl.col("forecast").clip(lower_bound=0) * lo,
        hi_80=pl.col("forecast").clip(lower_bound=0) * hi,
        lo_95=pl.lit(None, pl.Float64),
        hi_95=pl.lit(None, pl.Float64),
    )


def _point_schema() -> dict:
    return {
        "unique_id": pl.String, "method": pl.String, "model_name": pl.String,
        "cutoff": pl.Date, "ds": pl.Date, "y": pl.Float64, "forecast": pl.Float64,
        **dict.fromkeys(INTERVAL_COLUMNS, pl.Float64), "scale": pl.Float64, "inputs": pl.String,
    }  # fmt: skip
