"""Daily anomaly detection on cost and error-rate series.

For each series (long `unique_id / ds / y` frame):

1. a robust seasonal baseline — a centred 15-day rolling median of the weekday-adjusted values,
   times a median weekday profile — which one to three anomalous days cannot move;
2. days far from that baseline are replaced by it, and StatsForecast's MSTL (weekly season) is
   fitted to the cleaned series; its in-sample fit is the expected value (series shorter than
   three weeks keep the robust baseline: `method = 'robust_median'`);
3. the scale is the MAD of the cleaned residuals; bounds are expected ± `z` scales, and a day is
   flagged when it is outside them *and* material (a minimum dollar impact for cost, a minimum
   rate change for error rates).

`expected_values` also serves other cadences (`bimo.analytics.generic`): the seasons, the
StatsForecast frequency and a `phase` column (each point's position in the season) are
parameters, and missing values (NaN) are imputed from the baseline rather than scored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl

from bimo.analytics.series import SERIES_COLUMNS

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class AnomalyConfig:
    """Thresholds; the defaults are what the demo's precision/recall benchmark measures."""

    z: float = 5.0
    min_history_days: int = 21
    min_impact_usd: float = 1.0
    min_share_of_tag_daily_cost: float = 0.03
    min_relative_change: float = 0.3
    min_error_rate_change: float = 0.03
    window: int = 15


def robust_baseline(
    y: np.ndarray, dow: np.ndarray | None, window: int = 15, *, groups: np.ndarray | None = None
) -> np.ndarray:
    """Centred rolling median × median weekday profile (two refinements).

    With fewer than four weeks a weekday has too few samples for a robust median, so the profile
    is by day type (Monday–Friday vs weekend) instead. `groups` (each point's seasonal phase)
    replaces the weekday for other cadences.
    """
    if groups is None:
        groups = dow if len(y) >= 28 else (dow >= 5).astype(int)
    ids = np.unique(groups)
    profile = {g: 1.0 for g in ids}
    level = y.copy()
    for _ in range(2):
        factor = np.array([profile[g] for g in groups])
        level = _rolling_median(y / np.where(factor > 0, factor, 1.0), window)
        ratio = np.divide(y, level, out=np.ones_like(y), where=level > 0)
        profile = {g: float(np.median(ratio[groups == g])) for g in ids}
        mean = float(np.mean([profile[g] for g in groups]))
        profile = {g: (p / mean if mean > 0 else 1.0) for g, p in profile.items()}
    return level * np.array([profile[g] for g in groups])


def _rolling_median(x: np.ndarray, window: int) -> np.ndarray:
    half = window // 2
    return np.array([np.median(x[max(0, i - half) : i + half + 1]) for i in range(len(x))])


def _mad_scale(r: np.ndarray) -> float:
    return float(MAD_TO_SIGMA * np.median(np.abs(r - np.median(r))))


def _interpolate(y: np.ndarray) -> np.ndarray:
    seen = ~np.isnan(y)
    if seen.all() or not seen.any():
        return y
    idx = np.arange(len(y))
    return np.interp(idx, idx[seen], y[seen])


def expected_values(
    series: pl.DataFrame,
    cfg: AnomalyConfig,
    *,
    seasons: tuple[int, ...] = (7,),
    freq: str = "D",
) -> pl.DataFrame:
    """Add `expected`, `scale` and `method` to a long frame of series (daily by default).

    `seasons` are MSTL's season lengths and `freq` StatsForecast's frequency; an optional
    `phase` column groups points for the baseline's profile (default: the weekday of `ds`).
    """
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL

    out, long_ids, cleaned = [], [], []
    for (uid,), g in series.sort("ds").group_by(["unique_id"], maintain_order=True):
        y = g["y"].to_numpy().astype(float)
        missing = np.isnan(y)
        dow = g["ds"].dt.weekday().to_numpy() - 1
        groups = g["phase"].to_numpy() if "phase" in g.columns else None
        base = robust_baseline(_interpolate(y), dow, cfg.window, groups=groups)
        scale = _mad_scale((y - base)[~missing])
        clean = np.where(missing | (np.abs(y - base) > 3 * max(scale, 1e-9)), base, y)
        frame = g.with_columns(
            expected=pl.Series(base), scale=pl.lit(scale), method=pl.lit("robust_median")
        )
        if len(g) >= cfg.min_history_days and np.ptp(clean) > 0:
            long_ids.append(uid)
            cleaned.append(g.select("unique_id", "ds").with_columns(y=pl.Series(clean)))
        out.append(frame)
    result = (
        pl.concat(out)
        if out
        else series.with_columns(
            expected=pl.lit(None, pl.Float64),
            scale=pl.lit(None, pl.Float64),
            method=pl.lit(None, pl.String),
        )
    )
    if cleaned:
        df = pl.concat(cleaned).to_pandas()
        season_length = seasons[0] if len(seasons) == 1 else list(seasons)
        sf = StatsForecast(models=[MSTL(season_length=season_length)], freq=freq, n_jobs=1)
        sf.forecast(df=df, h=1, fitted=True)
        fitted = pl.from_pandas(sf.forecast_fitted_values()[["unique_id", "ds", "y", "MSTL"]])
        fitted = fitted.with_columns(pl.col("ds").cast(series.schema["ds"]))
        scales = fitted.group_by("unique_id").agg(
            (pl.col("y") - pl.col("MSTL"))
            .map_batches(lambda r: pl.Series([_mad_scale(r.to_numpy())]), returns_scalar=True)
            .alias("mstl_scale")
        )
        result = (
            result.join(
                fitted.select("unique_id", "ds", "MSTL"), on=["unique_id", "ds"], how="left"
            )
            .join(scales, on="unique_id", how="left")
            .with_columns(
                expected=pl.coalesce("MSTL", "expected"),
                scale=pl.when(pl.col("MSTL").is_not_null())
                .then(pl.col("mstl_scale"))
                .otherwise(pl.col("scale")),
                method=pl.when(pl.col("MSTL").is_not_null())
                .then(pl.lit("mstl"))
                .otherwise(pl.col("method")),
            )
            .drop("MSTL", "mstl_scale")
        )
    return result


def detect(series: pl.DataFrame, cfg: AnomalyConfig | None = None) -> pl.DataFrame:
    """Anomalies in daily series (columns of `bimo.analytics.series` plus `ds`, `y`)."""
    cfg = cfg or AnomalyConfig()
    if series.is_empty():
        return _empty()
    scored = expected_values(series, cfg)
    tag_daily = (
        series.filter((pl.col("metric") == "cost_usd") & (pl.col("series_level") == "total"))
        .group_by("source_tag")
        .agg(pl.col("y").median().alias("tag_daily_cost"))
    )
    scored = bounds(scored.join(tag_daily, on="source_tag", how="left"), cfg.z)
    is_cost = pl.col("metric") == "cost_usd"
    material = (
        pl.when(is_cost)
        .then(
            (pl.col("delta").abs() >= cfg.min_impact_usd)
            & (pl.col("delta").abs() >= cfg.min_share_of_tag_daily_cost * pl.col("tag_daily_cost"))
            & (pl.col("delta").abs() >= cfg.min_relative_change * pl.col("expected"))
        )
        .otherwise(pl.col("delta").abs() >= cfg.min_error_rate_change)
    )
    flagged = scored.filter(
        ((pl.col("y") > pl.col("upper_bound")) | (pl.col("y") < pl.col("lower_bound"))) & material
    )
    return _finish(flagged)


def bounds(scored: pl.DataFrame, z: float, *, floor: float | None = 0.0) -> pl.DataFrame:
    """Bounds at expected ± `z` scales (the scale at least 2 % of expected), with `score` and
    `delta`; `floor` is the lowest value the series can take (None: unbounded)."""
    expected, lower = pl.col("expected"), pl.col("expected") - z * pl.col("scale")
    scored = scored.with_columns(
        expected=expected if floor is None else expected.clip(lower_bound=floor),
        scale=pl.max_horizontal("scale", pl.col("expected").abs() * 0.02, pl.lit(1e-9)),
    )
    return scored.with_columns(
        lower_bound=lower if floor is None else lower.clip(lower_bound=floor),
        upper_bound=pl.col("expected") + z * pl.col("scale"),
        score=(pl.col("y") - pl.col("expected")) / pl.col("scale"),
        delta=pl.col("y") - pl.col("expected"),
    )


def _finish(flagged: pl.DataFrame) -> pl.DataFrame:
    now = datetime.now(UTC).replace(tzinfo=None)
    abs_score = pl.col("score").abs()
    return (
        flagged.with_columns(
            anomaly_id=pl.concat_str(
                ["source_tag", "metric", "series_key", pl.col("ds").cast(pl.String)], separator="|"
            ).map_elements(
                lambda s: hashlib.sha1(s.encode()).hexdigest()[:16], return_dtype=pl.String
            ),
            severity=pl.when(abs_score >= 12)
            .then(pl.lit("high"))
            .when(abs_score >= 8)
            .then(pl.lit("medium"))
            .otherwise(pl.lit("low")),
            impact_usd=pl.when(pl.col("metric") == "cost_usd")
            .then(pl.col("delta"))
            .otherwise(None),
            direction=pl.when(pl.col("delta") > 0).then(pl.lit("spike")).otherwise(pl.lit("drop")),
            status=pl.lit("open"),
            detected_at=pl.lit(now),
        )
        .select(
            "anomaly_id",
            *SERIES_COLUMNS[1:],
            pl.col("ds").alias("anomaly_date"),
            pl.col("y").alias("actual"),
            "expected",
            "lower_bound",
            "upper_bound",
            "score",
            "severity",
            "impact_usd",
            "direction",
            "method",
            "status",
            "detected_at",
        )
        .sort(["anomaly_date", "source_tag", "metric", "series_key"])
    )


def _empty() -> pl.DataFrame:
    return _finish(
        pl.DataFrame(
            schema={
                "source_tag": pl.String,
                "metric": pl.String,
                "series_level": pl.String,
                "series_key": pl.String,
                "provider": pl.String,
                "model": pl.String,
                "ds": pl.Date,
                "y": pl.Float64,
                "expected": pl.Float64,
                "lower_bound": pl.Float64,
                "upper_bound": pl.Float64,
                "score": pl.Float64,
                "delta": pl.Float64,
                "method": pl.String,
            }
        )
    )
