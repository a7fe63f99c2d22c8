"""Cost forecasts with StatsForecast: per series, h days ahead, with 80 % and 95 % intervals.

The model is an ensemble: the mean of AutoETS (additive weekly season) and AutoTheta, fitted to
the series with its outliers replaced by a robust seasonal baseline (incidents must not become
the level or the season). Its intervals are the envelope of the two models' intervals (the lower
of the lower bounds, the higher of the upper ones): the models' own intervals ignore that the
models disagree, and the rolling-origin backtest (`bimo.analytics.backtest`) measures the
envelope close to its nominal coverage where their mean falls short. Series shorter than three
weeks get a seasonal naive forecast, constant ones (always $0) a naive one, and a model that
fails to fit falls back to a naive one (StatsForecast's `fallback_model`); docs/forecasting.md
has the measurements behind each choice. Only complete days are used (see
`bimo.analytics.series`); costs are never forecast below zero. The models see each series' last
`TRAINING_DAYS` days: the weekly season needs three weeks, the level and trend follow recent
spend, and a fit's cost grows with its length, so a year of history would make every daily run's
forecast and backtest four times slower than a quarter's (docs/benchmarks.md, item 17).

`forecast_long` is the model step alone, for any cadence (`bimo.analytics.generic`): a season
needs three full cycles before it is modelled; one season of at most 24 steps gets the ensemble,
longer or several seasons MSTL with an AutoETS trend (ETS has no seasons longer than 24).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import polars as pl

LEVELS = (80, 95)
HORIZON = 90
ENSEMBLE = "Ensemble(AutoETS,AutoTheta)"
OUTLIER_SCALES = 5.0  # the anomaly detector's z: what it would flag is not fitted
MAD_TO_SIGMA = 1.4826
INTERVAL_COLUMNS = [f"{b}_{lv}" for lv in LEVELS for b in ("lo", "hi")]
TRAINING_DAYS = 182  # the daily models' training window (26 weeks)


def forecast(
    series: pl.DataFrame,
    *,
    horizon: int = HORIZON,
    trained_through: date | None,
    n_jobs: int = 1,
    training_days: int | None = TRAINING_DAYS,
) -> pl.DataFrame:
    """Forecast every series of a long frame (`unique_id`, `ds`, `y` plus descriptors), with
    `horizon_day` (1 = the day after `trained_through`) so readers can cut 30/60/90 days; the
    models see each series' last `training_days` days (None: all of them)."""
    if series.is_empty():
        return _empty()
    descriptors = series.select(
        "unique_id", "source_tag", "series_level", "series_key", "provider"
    ).unique()
    fc = forecast_long(
        series.select("unique_id", "ds", "y"),
        horizon=horizon,
        n_jobs=n_jobs,
        max_points=training_days,
    )
    if fc.is_empty():
        return _empty()
    now = datetime.now(UTC).replace(tzinfo=None)
    return (
        fc.rename({"ds": "forecast_date"})
        .join(descriptors, on="unique_id")
        .with_columns(
            [pl.col(c).clip(lower_bound=0.0) for c in ("forecast", *INTERVAL_COLUMNS)],
            horizon_day=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over(
                "unique_id", order_by="forecast_date"
            ),
            trained_through=pl.lit(trained_through, pl.Date),
            generated_at=pl.lit(now),
        )
        .select(_empty().columns)
        .sort("source_tag", "series_level", "series_key", "forecast_date")
    )


def forecast_long(
    df: pl.DataFrame,
    *,
    horizon: int,
    seasons: tuple[int, ...] = (7,),
    freq: str = "D",
    levels: Sequence[int] = LEVELS,
    n_jobs: int = 1,
    max_points: int | None = None,
) -> pl.DataFrame:
    """`unique_id`, `ds`, `model_name`, `forecast` and `lo_<level>`/`hi_<level>` for each series
    of a long `unique_id / ds / y` frame, fitted to each series' last `max_points` points (None:
    all); series shorter than one season are left out."""
    if max_points is not None:
        df = df.sort("unique_id", "ds").filter(
            pl.int_range(pl.len(), 0, -1).over("unique_id") <= max_points
        )
    stats = df.group_by("unique_id").agg(n=pl.len(), flat=pl.col("y").min() == pl.col("y").max())
    plans: dict[tuple[int, ...] | None, list[str]] = {}
    for uid, n, flat in stats.sort("unique_id").iter_rows():
        if n >= seasons[0]:
            # A constant series (always $0, a flat fee) has nothing to fit: it stays flat.
            key = None if flat else tuple(s for s in seasons if n >= 3 * s)
            plans.setdefault(key, []).append(uid)
    out = []
    for used, ids in plans.items():
        sub = df.filter(pl.col("unique_id").is_in(ids)).sort("unique_id", "ds")
        if used is not None and len(used) == 1 and used[0] <= 24:
            fc = _ensemble(clean_outliers(sub, used[0]), horizon, used[0], freq, levels, n_jobs)
        else:
            fc = _single(sub, horizon, used, seasons[0], freq, levels, n_jobs)
        out.append(fc.with_columns(pl.col("ds").cast(df.schema["ds"])))
    return pl.concat(out) if out else pl.DataFrame()


def _statsforecast(models: list, df: pl.DataFrame, horizon, freq, levels, n_jobs):
    from statsforecast import StatsForecast
    from statsforecast.models import Naive

    sf = StatsForecast(models=models, freq=freq, fallback_model=Naive(), n_jobs=n_jobs)
    return pl.from_pandas(sf.forecast(df=df.to_pandas(), h=horizon, level=list(levels)))


def _ensemble(df, horizon, season, freq, levels, n_jobs) -> pl.DataFrame:
    from statsforecast.models import AutoETS, AutoTheta

    models = [AutoETS(season_length=season, model="ZZA"), AutoTheta(season_length=season)]
    fc = _statsforecast(models, df, horizon, freq, levels, n_jobs)
    names = [m.alias for m in models]
    bound = {"lo": pl.min_horizontal, "hi": pl.max_horizontal}
    return fc.select(
        "unique_id",
        "ds",
        pl.lit(ENSEMBLE).alias("model_name"),
        pl.mean_horizontal(names).alias("forecast"),
        *[
            bound[b](f"{m}-{b}-{lv}" for m in names).alias(f"{b}_{lv}")
            for lv in levels
            for b in ("lo", "hi")
        ],
    )


def _single(df, horizon, used, season, freq, levels, n_jobs) -> pl.DataFrame:
    from statsforecast.models import MSTL, Naive, SeasonalNaive

    if used is None:
        model = Naive()
    else:
        model = MSTL(season_length=list(used)) if used else SeasonalNaive(season_length=season)
    name = model.alias
    fc = _statsforecast([model], df, horizon, freq, levels, n_jobs)
    return fc.select(
        "unique_id",
        "ds",
        pl.lit(name).alias("model_name"),
        pl.col(name).alias("forecast"),
        *[pl.col(f"{name}-{b}-{lv}").alias(f"{b}_{lv}") for lv in levels for b in ("lo", "hi")],
    )


def clean_outliers(df: pl.DataFrame, season: int) -> pl.DataFrame:
    """The series with points more than `OUTLIER_SCALES` robust scales (MAD of the residuals)
    from `seasonal_baseline` replaced by it; a series whose residuals have no spread (mostly
    zeros, constant) is kept as it is. Sorted by `unique_id`, `ds`."""
    resid = pl.col("y") - pl.col("_base")
    mad = (resid - resid.median()).abs().median().over("unique_id")
    far = resid.abs() > OUTLIER_SCALES * MAD_TO_SIGMA * mad
    return (
        seasonal_baseline(df, season)
        .with_columns(y=pl.when(far & (mad > 0)).then(pl.col("_base")).otherwise(pl.col("y")))
        .drop("_base")
    )


def seasonal_baseline(df: pl.DataFrame, season: int) -> pl.DataFrame:
    """`_base`: the anomaly detector's robust baseline (`anomalies.robust_baseline` with the
    phase in the season as groups and a window of two seasons plus one) for every series at
    once: a centred rolling median of the season-adjusted values times the median profile."""
    by, y = "unique_id", pl.col("y").cast(pl.Float64)
    out = df.sort(by, "ds").with_columns(
        _phase=(pl.int_range(pl.len()) % season).over(by), _profile=pl.lit(1.0)
    )
    for _ in range(2):  # as robust_baseline: two refinements of level and profile
        factor = pl.when(pl.col("_profile") > 0).then(pl.col("_profile")).otherwise(1.0)
        level = (y / factor).rolling_median(2 * season + 1, center=True, min_samples=1)
        out = out.with_columns(_level=level.over(by))
        ratio = pl.when(pl.col("_level") > 0).then(y / pl.col("_level")).otherwise(1.0)
        out = out.with_columns(_profile=ratio.median().over(by, "_phase"))
        mean = pl.col("_profile").mean().over(by)
        out = out.with_columns(
            _profile=pl.when(mean > 0).then(pl.col("_profile") / mean).otherwise(1.0)
        )
    return out.with_columns(_base=pl.col("_level") * pl.col("_profile")).drop(
        "_phase", "_profile", "_level"
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "source_tag": pl.String,
            "series_level": pl.String,
            "series_key": pl.String,
            "provider": pl.String,
            "forecast_date": pl.Date,
            "horizon_day": pl.Int32,
            "model_name": pl.String,
            "forecast": pl.Float64,
            "lo_80": pl.Float64,
            "hi_80": pl.Float64,
            "lo_95": pl.Float64,
            "hi_95": pl.Float64,
            "trained_through": pl.Date,
            "generated_at": pl.Datetime,
        }
    )
