"""Vectorised simulation of a day of developer coding-agent calls (the `dev` source tag)."""

from __future__ import annotations

import numpy as np

from bimo.demo.calls import PROVIDER, US_PER_DAY, Requests
from bimo.demo.company import DEVELOPERS, FEATURES, MODEL_INDEX, TOOL_MODELS
from bimo.demo.traffic import (
    CONTENT_SHARE,
    REASON_MED,
    REASON_P,
    day_volume,
    latency,
    lognormal,
    times_of_day,
)

DEV_SHARE = 0.15  # dev calls per prod call
DEV_WEEKEND = 0.12  # developers mostly work on weekdays
# Developer activity per local hour.
# fmt: off
DEV_HOURS = np.array([0.1, 0.05, 0, 0, 0, 0, 0.2, 0.5, 2, 5, 7, 7,
                      4, 5, 7, 7, 6, 4, 2, 1.2, 1, 1, 0.6, 0.3])
# fmt: on
_DEV_ACTIVITY = np.array([d[5] for d in DEVELOPERS]) / sum(d[5] for d in DEVELOPERS)
_DEV_OFFSET_S = np.array([d[4] * 60 for d in DEVELOPERS])
_DEV_TOOL = np.array([list(TOOL_MODELS).index(d[2]) for d in DEVELOPERS])


def dev_calls(rng, dev: np.ndarray, ts_us: np.ndarray, model: np.ndarray) -> Requests:
    """Coding-agent calls: small fresh input, large cache reads, regular cache writes."""
    n = len(dev)
    claude = PROVIDER[model] == "anthropic"
    small = model == MODEL_INDEX["claude-3-5-haiku-latest"]
    fresh = np.where(claude, lognormal(rng, 60, 1.2, n), lognormal(rng, 2500, 0.9, n))
    fresh = np.where(small, lognormal(rng, 400, 0.8, n), fresh)
    read = np.where(claude, lognormal(rng, 42_000, 0.6, n), lognormal(rng, 20_000, 0.7, n))
    read = np.where(rng.random(n) < np.where(small, 0.3, 0.85), np.minimum(read, 180_000), 0)
    write = np.where(claude & (rng.random(n) < 0.55), lognormal(rng, 2500, 1.0, n), 0)
    out = np.where(small, lognormal(rng, 60, 0.8, n), lognormal(rng, 300, 1.0, n))
    reasoning = np.where(REASON_P[model] > 0, lognormal(rng, REASON_MED[model], 0.8, n), 0)
    fresh, read, write = (np.round(x).astype(np.int64) for x in (fresh, read, write))
    reasoning = np.round(reasoning).astype(np.int64)
    out = np.minimum(np.round(out).astype(np.int64), 32_000) + reasoning
    error = np.where(rng.random(n) < 0.01, 3, 0).astype(np.int8)
    feature = np.where(rng.random(n) < 0.2, FEATURES.index("code-review"), FEATURES.index("agent"))
    duration, _ = latency(rng, model, feature, fresh + read + write, out, reasoning, error)
    # A session is a developer's two-hour block of local time (`user` holds it for dev rows).
    local_s = (np.asarray(ts_us) % US_PER_DAY) // 1_000_000 + _DEV_OFFSET_S[dev]
    session = (local_s % 86_400) // 7200
    return Requests(
        ts_us=np.asarray(ts_us, dtype=np.int64),
        stream=dev,
        model=model,
        feature=feature,
        input=fresh + read + write,
        cache_read=read,
        cache_write=write,
        output=out,
        reasoning=reasoning,
        error=error,
        cache_hit=np.zeros(n, bool),
        duration_ms=duration,
        ttft_ms=np.full(n, -1),
        content=rng.random(n) < CONTENT_SHARE,
        attempt=np.ones(n, dtype=np.int8),
        user=session,
    )


def simulate_dev(rng, day_us: int, expected: float) -> Requests:
    """A day of developer calls; `expected` is the day's mean dev volume (see `DEV_SHARE`)."""
    n = day_volume(rng, expected)
    dev = rng.choice(len(DEVELOPERS), size=n, p=_DEV_ACTIVITY)
    tool = np.where(rng.random(n) < 0.85, _DEV_TOOL[dev], 1 - _DEV_TOOL[dev])
    model = np.empty(n, dtype=np.int64)
    for t, options in enumerate(TOOL_MODELS.values()):
        idx = np.flatnonzero(tool == t)
        names = [MODEL_INDEX[m] for m, _ in options]
        model[idx] = rng.choice(names, size=len(idx), p=[s for _, s in options])
    ts = day_us + times_of_day(rng, n, DEV_HOURS, shift_s=_DEV_OFFSET_S[dev])
    return dev_calls(rng, dev, ts, model)
