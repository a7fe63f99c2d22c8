"""Cost forecasts with StatsForecast: per series, h days ahead, with 80 % and 95 % intervals.

AutoETS with a weekly season is the model; series too short or too flat for it fall back to a
seasonal naive forecast (StatsForecast's `fallback_model` covers fit failures too). Only complete
days are used (see `bimo.analytics.series`). Forecast costs are never below zero.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

LEVELS = (80, 95)
MIN_ETS_DAYS = 21
MIN_DAYS = 7


def forecast(
    series: pl.DataFrame, *, horizon: int = 30, trained_through: date | None
) -> pl.DataFrame:
    """Forecast every series of a long frame (`unique_id`, `ds`, `y` plus descriptors)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, Naive, SeasonalNaive

    if series.is_empty():
        return _empty()
    descriptors = series.select(
        "unique_id", "source_tag", "series_level", "series_key", "provider"
    ).unique()
    lengths = series.group_by("unique_id").agg(pl.len().alias("n"))
    out = []
    groups = {
        "AutoETS": lengths.filter(pl.col("n") >= MIN_ETS_DAYS)["unique_id"],
        "SeasonalNaive": lengths.filter((pl.col("n") >= MIN_DAYS) & (pl.col("n") < MIN_ETS_DAYS))[
            "unique_id"
        ],
    }
    for name, ids in groups.items():
        if ids.is_empty():
            continue
        model = (
            AutoETS(season_length=7, model="ZZA", alias=name)
            if name == "AutoETS"
            else SeasonalNaive(season_length=7, alias=name)
        )
        sf = StatsForecast(models=[model], freq="D", fallback_model=Naive(), n_jobs=1)
        df = series.filter(pl.col("unique_id").is_in(ids.implode())).select("unique_id", "ds", "y")
        fc = pl.from_pandas(sf.forecast(df=df.to_pandas(), h=horizon, level=list(LEVELS)))
        out.append(
            fc.select(
                "unique_id",
                pl.col("ds").cast(pl.Date).alias("forecast_date"),
                pl.lit(name).alias("model_name"),
                pl.col(name).alias("forecast"),
                *[
                    pl.col(f"{name}-{b}-{lv}").alias(f"{b}_{lv}")
                    for lv in LEVELS
                    for b in ("lo", "hi")
                ],
            )
        )
    if not out:
        return _empty()
    now = datetime.now(UTC).replace(tzinfo=None)
    values = ["forecast", *[f"{b}_{lv}" for lv in LEVELS for b in ("lo", "hi")]]
    return (
        pl.concat(out)
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
