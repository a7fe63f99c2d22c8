"""Daily anomaly detection on spend and AI-signal series (see docs/anomalies.md).

For each series (long `unique_id / ds / y` frame):

1. a robust seasonal baseline — a centred 15-day rolling median of the weekday-adjusted values,
   times a median weekday profile — which one to three anomalous days cannot move;
2. days far from that baseline are replaced by it, and StatsForecast's MSTL (weekly season, its
   trend by AutoETS: `AnomalyConfig.trend_model`) is fitted to the cleaned series; its in-sample
   fit is the expected value (series shorter than three weeks keep the robust baseline:
   `method = 'robust_median'`);
3. the scale is the MAD of the cleaned residuals (a spend series' days at exactly zero left
   out: they are fitted exactly); bounds are expected ± `z` scales, and a day is
   flagged when it is outside them *and* material: for spend and the cost per 1k tokens a dollar
   impact of at least `min_impact_usd`, `min_share_of_tag_daily_cost` of the reference daily
   spend and `min_relative_change` of expected; for error rates a change of
   `min_error_rate_change`; for the unpriced share and the cache-hit ratio their own minimum
   change. AI signals count in their costly direction only (`BAD_DIRECTION`). Unknown days
   (null) are imputed for the fit and never flagged.

`expected_values` also serves other cadences (`bimo.analytics.generic`): the seasons, the
StatsForecast frequency and a `phase` column (each point's position in the season) are
parameters, and missing values (NaN) are imputed from the baseline rather than scored.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import polars as pl

from bimo.analytics.anomaly_rows import anomaly_rows
from bimo.analytics.series import long_shape

MAD_TO_SIGMA = 1.4826
# AI signals are flagged in the direction that costs money or breaks things only (a rise in
# cache hits is good news); spend is flagged both ways (a drop can be an outage).
BAD_DIRECTION = {"error_rate": 1, "unpriced_share": 1, "cost_per_1k_tokens": 1,
                 "cache_hit_ratio": -1}  # fmt: skip


@dataclass(frozen=True)
class AnomalyConfig:
    """Thresholds; the defaults are what the demo's precision/recall benchmark measures."""

    z: float = 5.0
    min_history_days: int = 21
    min_impact_usd: float = 1.0
    min_share_of_tag_daily_cost: float = 0.03
    min_relative_change: float = 0.3
    min_error_rate_change: float = 0.03
    min_unpriced_share_change: float = 0.05
    min_cache_hit_ratio_change: float = 0.1
    window: int = 15
    min_series_share: float = 0.01  # spend series below this share of their reference: skipped
    billing_settle_hours: float = 0.0  # a billing day is complete this long after it ended
    # MSTL's trend model, an AutoETS spec without a season: "ZZN" (MSTL's default) lets AutoETS
    # choose among six. A fixed "ANN" detects in a third to a half of the time but flagged two
    # more false positives on one of six demo runs (benchmarks/results/anomaly_trend.md).
    trend_model: str = "ZZN"

    def __post_init__(self) -> None:
        m = self.trend_model
        if len(m) != 3 or m[0] not in "AMZ" or m[1] not in "NAMZ" or m[2] != "N":
            raise ValueError(
                f"trend_model {self.trend_model!r}: an AutoETS model of three letters, error "
                "A, M or Z, trend N, A, M or Z and season N (MSTL fits the season), e.g. 'ZZN'"
            )


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
    """Centred rolling median; the windows at either end are cut short (not padded). The full
    windows go to one `np.median` over a sliding view (the same values; 8.5× faster than a call
    per point on 200 points, window 15); the cut ones, at most `window - 1`, one call each."""
    half = window // 2
    n = len(x)
    out = np.empty(n, dtype=float)
    for i in [*range(min(half, n)), *range(max(half, n - half), n)]:  # the cut windows
        out[i] = np.median(x[max(0, i - half) : i + half + 1])
    if n > 2 * half:
        views = np.lib.stride_tricks.sliding_window_view(x, 2 * half + 1)
        out[half : n - half] = np.median(views, axis=1)
    return out


def _mad_scale(r: np.ndarray, y: np.ndarray | None = None) -> float:
    """MAD of residuals `r`; given the values `y`, days at exactly zero are left out when a week
    of others remains (a service a commitment covers on weekends, a model unused some days): they
    are fitted exactly and would shrink the scale of the days that carry spend."""
    if y is not None and np.count_nonzero(y) >= 7:
        r = r[y != 0]
    if not len(r):
        return float("nan")
    return float(MAD_TO_SIGMA * np.median(np.abs(r - np.median(r))))


def _fit_scale(fitted: pl.DataFrame, *, skip_zeros: bool) -> float:
    y = fitted["y"].to_numpy()
    return _mad_scale(y - fitted["MSTL"].to_numpy(), y if skip_zeros else None)


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
    zeros_skip_scale: Collection[str] = (),
) -> pl.DataFrame:
    """Add `expected`, `scale` and `method` to a long frame of series (daily by default).

    `seasons` are MSTL's season lengths and `freq` StatsForecast's frequency; an optional
    `phase` column groups points for the baseline's profile (default: the weekday of `ds`).
    Days at exactly zero of the series in `zeros_skip_scale` (unique ids: spend, where a zero is
    structural) are left out of the scale (see `_mad_scale`); in a rate, zeros are noise.
    """
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoETS

    out, long_ids, cleaned = [], [], []
    for (uid,), g in series.sort("ds").group_by(["unique_id"], maintain_order=True):
        y = g["y"].to_numpy().astype(float)
        missing = np.isnan(y)
        dow = g["ds"].dt.weekday().to_numpy() - 1
        groups = g["phase"].to_numpy() if "phase" in g.columns else None
        base = robust_baseline(_interpolate(y), dow, cfg.window, groups=groups)
        seen = y[~missing] if uid in zeros_skip_scale else None
        scale = _mad_scale((y - base)[~missing], seen)
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
        mstl = MSTL(season_length=season_length, trend_forecaster=AutoETS(model=cfg.trend_model))
        sf = StatsForecast(models=[mstl], freq=freq, n_jobs=1)
        sf.forecast(df=df, h=1, fitted=True)
        fitted = pl.from_pandas(sf.forecast_fitted_values()[["unique_id", "ds", "y", "MSTL"]])
        fitted = fitted.with_columns(pl.col("ds").cast(series.schema["ds"]))
        scales = pl.DataFrame(
            [
                (uid, _fit_scale(g, skip_zeros=uid in zeros_skip_scale))
                for (uid,), g in fitted.group_by(["unique_id"])
            ],
            schema={"unique_id": pl.String, "mstl_scale": pl.Float64},
            orient="row",
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
    """Anomalies in daily series (`LONG_COLUMNS` of `bimo.analytics.series`; `weight`,
    `reference_usd` and the dimensions may be missing: cost then weighs 1 and is judged against
    the tag's median daily total)."""
    cfg = cfg or AnomalyConfig()
    if series.is_empty():
        return anomaly_rows(None)
    series = long_shape(series)
    spend = series.filter(pl.col("metric") == "cost_usd")["unique_id"].unique()
    scored = expected_values(series, cfg, zeros_skip_scale=set(spend))
    tag_daily = (
        series.filter((pl.col("metric") == "cost_usd") & (pl.col("series_level") == "total"))
        .group_by("source_tag")
        .agg(pl.col("y").median().alias("tag_daily_cost"))
    )
    # A share of requests is at least as noisy as a binomial draw of that day's requests.
    p = pl.col("expected").clip(0.0, 1.0)
    binomial = (p * (1 - p) / pl.col("volume")).sqrt().fill_null(0.0).fill_nan(0.0)
    scored = scored.with_columns(scale=pl.max_horizontal("scale", binomial))
    scored = bounds(scored.join(tag_daily, on="source_tag", how="left"), cfg.z)
    is_cost = pl.col("metric") == "cost_usd"
    scored = scored.with_columns(
        impact_usd=pl.col("delta") * pl.col("weight").fill_null(pl.when(is_cost).then(1.0)),
        reference_usd=pl.coalesce("reference_usd", "tag_daily_cost"),
    )
    impact = pl.col("impact_usd").abs()
    dollars = (
        (impact >= cfg.min_impact_usd)
        & (impact >= cfg.min_share_of_tag_daily_cost * pl.col("reference_usd"))
        & (pl.col("delta").abs() >= cfg.min_relative_change * pl.col("expected"))
    )
    metric, change = pl.col("metric"), pl.col("delta").abs()
    material = (
        pl.when(is_cost | (metric == "cost_per_1k_tokens"))
        .then(dollars.fill_null(False))
        .when(metric == "error_rate")
        .then(change >= cfg.min_error_rate_change)
        .when(metric == "unpriced_share")
        .then(change >= cfg.min_unpriced_share_change)
        .otherwise(change >= cfg.min_cache_hit_ratio_change)
    )
    sign = metric.replace_strict(BAD_DIRECTION, default=0, return_dtype=pl.Int8)
    bad_way = (sign == 0) | (pl.col("delta") * sign > 0)
    outside = (pl.col("y") > pl.col("upper_bound")) | (pl.col("y") < pl.col("lower_bound"))
    known = pl.col("y").is_not_null() & ~pl.col("y").is_nan()
    flagged = scored.filter(known & outside & material & bad_way)
    return anomaly_rows(flagged)


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
