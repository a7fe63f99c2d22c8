"""Vectorised simulation of a day of prod calls through the gateways (the shared call model)."""

from __future__ import annotations

import numpy as np

from bimo.demo.calls import ERRORS, US_PER_DAY, Requests
from bimo.demo.company import FEATURE_SHAPE, FEATURES, FORMATS, MODELS, Catalogue

GROWTH_PER_90_DAYS = 1.2
DAY_NOISE = 0.05
CONTENT_SHARE = 0.30
GATEWAY_CACHE_HIT = 0.03
ERROR_P = (0.99, 0.004, 0.003, 0.003)

# Share of traffic per UTC hour: Acme serves Europe and the Americas.
# fmt: off
PROD_HOURS = np.array([2, 1.5, 1.2, 1, 1, 1.2, 2, 3, 4.5, 5.5, 6, 6.2,
                       6.5, 7, 7.5, 7.5, 7, 6.5, 6, 5, 4.2, 3.5, 3, 2.5])
# fmt: on

_FEAT = np.array([FEATURE_SHAPE[f][:4] for f in FEATURES], dtype=float)
_STREAMED = np.array([FEATURE_SHAPE[f][4] for f in FEATURES])
_MAX_IN = np.array([m.max_input for m in MODELS])
_TTFT = np.array([m.ttft_ms for m in MODELS])
_TPS = np.array([m.tokens_per_s for m in MODELS])
REASON_P = np.array([m.reasoning for m in MODELS])
REASON_MED = np.array([m.reasoning_median for m in MODELS])
_CACHING = np.array([m.caching for m in MODELS])
_EMBED = np.array([m.embedding for m in MODELS])


def expected_volume(
    mean: float, day_index: int, days: int, weekday: int, weekend_factor: float = 0.4
) -> float:
    """Mean calls on one day: weekly seasonality and gentle growth centred on the window."""
    week = (1.0 if weekday < 5 else weekend_factor) * 7 / (5 + 2 * weekend_factor)
    return mean * week * GROWTH_PER_90_DAYS ** ((day_index - (days - 1) / 2) / 90)


def day_volume(rng: np.random.Generator, expected: float) -> int:
    """Calls on one day: the expectation with modest (clipped) day noise and Poisson counts."""
    noise = np.clip(rng.normal(0, DAY_NOISE), -2 * DAY_NOISE, 2 * DAY_NOISE)
    return int(rng.poisson(expected * float(np.exp(noise))))


def times_of_day(rng: np.random.Generator, n: int, hours: np.ndarray, shift_s=0) -> np.ndarray:
    """Microseconds since midnight UTC, drawn from an hourly profile (shifted by `shift_s`)."""
    hour = rng.choice(24, size=n, p=hours / hours.sum())
    us = hour * 3_600_000_000 + rng.integers(0, 3_600_000_000, size=n)
    return (us - np.asarray(shift_s, dtype=np.int64) * 1_000_000) % US_PER_DAY


def lognormal(rng: np.random.Generator, median, sigma, n: int) -> np.ndarray:
    return np.asarray(median) * np.exp(np.asarray(sigma) * rng.standard_normal(n))


def latency(rng, model, feature, inp, out, reasoning, error) -> tuple[np.ndarray, np.ndarray]:
    """Duration and time to first token in ms (TTFT -1 when the feature does not stream)."""
    n = len(model)
    prefill = inp / 20_000 * 1000
    ttft = _TTFT[model] * np.exp(0.45 * rng.standard_normal(n)) + prefill
    ttft += reasoning / _TPS[model] * 1000
    gen = (out - reasoning) / _TPS[model] * 1000 * np.exp(0.25 * rng.standard_normal(n))
    duration = ttft + gen
    duration = np.where(_EMBED[model], lognormal(rng, 90, 0.4, n) + inp / 200, duration)
    failed = error > 0
    duration = np.where(failed, lognormal(rng, 180, 1.0, n), duration)
    ttft = np.where(_STREAMED[feature] & ~_EMBED[model] & ~failed, ttft, -1)
    return np.maximum(duration, 1).astype(np.int64), np.round(ttft).astype(np.int64)


def usage(rng, model, feature, in_mult) -> dict[str, np.ndarray]:
    """Token counts for successful calls (lognormal, capped at the model's context)."""
    n = len(model)
    f = _FEAT[feature]
    inp = lognormal(rng, f[:, 0] * in_mult, f[:, 1], n)
    inp = np.clip(inp, 8, _MAX_IN[model]).astype(np.int64)
    out = np.where(f[:, 2] > 0, np.maximum(1, lognormal(rng, f[:, 2], f[:, 3], n)), 0)
    reasoning = np.where(
        rng.random(n) < REASON_P[model], lognormal(rng, REASON_MED[model], 0.8, n), 0
    )
    reasoning = reasoning.astype(np.int64)
    out = np.minimum(out, 16_000).astype(np.int64) + reasoning
    big = inp >= 1024
    anth = (_CACHING[model] == "anthropic") & big
    auto = (_CACHING[model] == "auto") & big
    read_frac = rng.uniform(0.5, 0.9, n)
    read = np.where(anth & (rng.random(n) < 0.55), inp * read_frac, 0)
    auto_read = np.floor(inp * rng.uniform(0.2, 0.8, n) / 128) * 128
    read = np.where(auto & (rng.random(n) < 0.3), auto_read, read).astype(np.int64)
    write = np.where(anth & (rng.random(n) < 0.15), (inp - read) * rng.uniform(0.3, 0.8, n), 0)
    return {
        "input": inp,
        "cache_read": read,
        "cache_write": write.astype(np.int64),
        "output": out,
        "reasoning": reasoning,
    }


def build(rng, ts_us, stream, model, feature, in_mult, *, gateway=None, errors=True) -> Requests:
    """Complete rows for the given calls: usage, errors, gateway cache hits, latency, content."""
    n = len(ts_us)
    u = usage(rng, model, feature, in_mult)
    error = rng.choice(len(ERRORS), size=n, p=ERROR_P) if errors else np.zeros(n, dtype=np.int64)
    failed = error > 0
    for k in ("input", "cache_read", "cache_write", "reasoning"):
        u[k] = np.where(failed, 0, u[k])
    u["output"] = np.where(failed, np.where(error >= 2, rng.integers(0, 40, n), 0), u["output"])
    hit = (
        np.zeros(n, bool)
        if gateway is None
        else gateway & ~failed & (rng.random(n) < GATEWAY_CACHE_HIT)
    )
    duration, ttft = latency(rng, model, feature, u["input"], u["output"], u["reasoning"], error)
    duration = np.where(hit, rng.integers(3, 40, n), duration)
    ttft = np.where(hit & (ttft >= 0), np.minimum(ttft, duration), ttft)
    return Requests(
        ts_us=np.asarray(ts_us, dtype=np.int64),
        stream=np.asarray(stream),
        model=np.asarray(model),
        feature=np.asarray(feature),
        **u,
        error=error.astype(np.int8),
        cache_hit=hit,
        duration_ms=duration,
        ttft_ms=ttft,
        content=rng.random(n) < CONTENT_SHARE,
        attempt=np.ones(n, dtype=np.int8),
        user=rng.integers(0, 100_000, n),
    )


def prod_calls(rng, cat: Catalogue, streams: np.ndarray, ts_us: np.ndarray) -> Requests:
    """Rows for prod calls on the given streams at the given times."""
    in_gateway = np.isin(
        cat.stream_format[streams], [FORMATS.index("gateway"), FORMATS.index("litellm")]
    )
    return build(
        rng,
        ts_us,
        streams,
        cat.stream_model[streams],
        cat.stream_feature[streams],
        cat.stream_in_mult[streams],
        gateway=in_gateway,
    )


def simulate_prod(rng, cat: Catalogue, day_us: int, expected: float) -> Requests:
    n = day_volume(rng, expected)
    # Systematic allocation: each stream gets its share of the day (the day's noise is enough).
    edges = np.floor(np.cumsum(cat.stream_weight) * n + rng.random()).astype(np.int64)
    counts = np.diff(np.concatenate([[0], np.minimum(edges, n)]))
    streams = np.repeat(np.arange(len(counts)), counts)
    return prod_calls(rng, cat, streams, day_us + times_of_day(rng, n, PROD_HOURS))
