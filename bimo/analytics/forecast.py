"""Cost forecasts with StatsForecast: per series, h days ahead, with 80 % and 95 % intervals.

AutoETS with a weekly season is the model; series too short or too flat for it fall back to a
seasonal naive forecast (StatsForecast's `fallback_model` covers fit failures too). Only complete
days are used (see `bimo.analytics.series`). Forecast costs are never below zero.

`forecast_long` is the model step alone, for any cadence (`bimo.analytics.generic`): a season
needs three full cycles before it is modelled; one season of at most 24 steps is AutoETS's, longer
or several seasons are MSTL's with an AutoETS trend (ETS has no seasons longer than 24).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import polars as pl

LEVELS = (80, 95)


def forecast(
    series: pl.DataFrame, *, horizon: int = 30, trained_through: date | None
) -> pl.DataFrame:
    """Forecast every series of a long frame (`unique_id`, `ds`, `y` plus descriptors)."""
    if series.is_empty():
        return _empty()
    descriptors = series.select(
        "unique_id", "source_tag", "series_level", "series_key", "provider"
    ).unique()
    fc = forecast_long(series.select("unique_id", "ds", "y"), horizon=horizon)
    if fc.is_empty():
        return _empty()
    now = datetime.now(UTC).replace(tzinfo=None)
    values = ["forecast", *[f"{b}_{lv}" for lv in LEVELS for b in ("lo", "hi")]]
    return (
        fc.rename({"ds": "forecast_date"})
        .join(descriptors, on="unique_id")
        .with_columns(
            [pl.col(c).clip(lower_bound=0.0) for c in values],
            trained_through=pl.lit(trained_through),
            generated_at=pl.lit(now),
        )
        .select(
            "source_tag",
            "series_level",
            "series_key",
            "provider",
            "forecast_date",
            "model_name",
            "forecast",
            "lo_80",
            "hi_80",
            "lo_95",
            "hi_95",
            "trained_through",
            "generated_at",
        )
        .sort("source_tag", "series_level", "series_key", "forecast_date")
    )


def forecast_long(
    df: pl.DataFrame,
    *,
    horizon: int,
    seasons: tuple[int, ...] = (7,),
    freq: str = "D",
    levels: Sequence[int] = LEVELS,
) -> pl.DataFrame:
    """`unique_id`, `ds`, `model_name`, `forecast` and `lo_<level>`/`hi_<level>` for each series
    of a long `unique_id / ds / y` frame; series shorter than one season are left out."""
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoETS, Naive, SeasonalNaive

    lengths = df.group_by("unique_id").agg(pl.len().alias("n"))
    plans: dict[tuple[int, ...], list[str]] = {}
    for uid, n in lengths.sort("unique_id").iter_rows():
        if n >= seasons[0]:
            plans.setdefault(tuple(s for s in seasons if n >= 3 * s), []).append(uid)
    out = []
    for used, ids in plans.items():
        if not used:
            model = SeasonalNaive(season_length=seasons[0])
        elif len(used) == 1 and used[0] <= 24:
            model = AutoETS(season_length=used[0], model="ZZA")
        else:
            model = MSTL(season_length=list(used))
        name = model.alias
        sf = StatsForecast(models=[model], freq=freq, fallback_model=Naive(), n_jobs=1)
        sub = df.filter(pl.col("unique_id").is_in(ids))
        fc = pl.from_pandas(sf.forecast(df=sub.to_pandas(), h=horizon, level=list(levels)))
        out.append(
            fc.select(
                "unique_id",
                pl.col("ds").cast(df.schema["ds"]),
                pl.lit(name).alias("model_name"),
                pl.col(name).alias("forecast"),
                *[
                    pl.col(f"{name}-{b}-{lv}").alias(f"{b}_{lv}")
                    for lv in levels
                    for b in ("lo", "hi")
                ],
            )
        )
    return pl.concat(out) if out else pl.DataFrame()


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "source_tag": pl.String,
            "series_level": pl.String,
            "series_key": pl.String,
            "provider": pl.String,
            "forecast_date": pl.Date,
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
