"""Vectorised simulation of one day of prod (gateway) and dev (CLI) model calls."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from bimo.demo.company import (
    DEVELOPERS,
    FEATURE_SHAPE,
    FEATURES,
    FORMATS,
    MODEL_INDEX,
    MODELS,
    TOOL_MODELS,
    Catalogue,
)

US_PER_DAY = 86_400_000_000
WEEKDAY_FACTOR = 7 / 5.8  # weekends run at 40% of a weekday; the weekly mean is 1
GROWTH_PER_90_DAYS = 1.2
DAY_NOISE = 0.05
CONTENT_SHARE = 0.30
GATEWAY_CACHE_HIT = 0.03
DEV_SHARE = 0.15

# Error codes: index into ERRORS (0 = success).
ERRORS = ((0, "", ""), (429, "rate_limit", "RateLimitError"), (500, "api_error",
          "InternalServerError"), (503, "overloaded", "ServiceUnavailableError"))  # fmt: skip
ERROR_P = (0.99, 0.004, 0.003, 0.003)

# Share of traffic per UTC hour: Acme serves Europe and the Americas.
PROD_HOURS = np.array(
    [
        2,
        1.5,
        1.2,
        1,
        1,
        1.2,
        2,
        3,
        4.5,
        5.5,
        6,
        6.2,
        6.5,
        7,
        7.5,
        7.5,
        7,
        6.5,
        6,
        5,
        4.2,
        3.5,
        3,
        2.5,
    ]
)
# Developer activity per local hour.
DEV_HOURS = np.array(
    [0.1, 0.05, 0, 0, 0, 0, 0.2, 0.5, 2, 5, 7, 7, 4, 5, 7, 7, 6, 4, 2, 1.2, 1, 1, 0.6, 0.3]
)

_FEAT = np.array([FEATURE_SHAPE[f][:4] for f in FEATURES], dtype=float)
_STREAMED = np.array([FEATURE_SHAPE[f][4] for f in FEATURES])
_MAX_IN = np.array([m.max_input for m in MODELS])
_TTFT = np.array([m.ttft_ms for m in MODELS])
_TPS = np.array([m.tokens_per_s for m in MODELS])
_REASON_P = np.array([m.reasoning for m in MODELS])
_REASON_MED = np.array([m.reasoning_median for m in MODELS])
_CACHING = np.array([m.caching for m in MODELS])
_EMBED = np.array([m.embedding for m in MODELS])
PROVIDER = np.array([m.provider for m in MODELS])


@dataclass
class Requests:
    """One row per model call, column-oriented. `stream` indexes STREAMS (prod) or DEVELOPERS (dev).

    `input` counts all input tokens including cache reads and writes; `output` includes reasoning.
    """

    ts_us: np.ndarray
    stream: np.ndarray
    model: np.ndarray
    feature: np.ndarray
    input: np.ndarray
    cache_read: np.ndarray
    cache_write: np.ndarray
    output: np.ndarray
    reasoning: np.ndarray
    error: np.ndarray
    cache_hit: np.ndarray
    duration_ms: np.ndarray
    ttft_ms: np.ndarray  # -1 when not streamed
    content: np.ndarray
    attempt: np.ndarray
    user: np.ndarray

    def __len__(self) -> int:
        return len(self.ts_us)

    def take(self, idx: np.ndarray) -> Requests:
        return Requests(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def sorted(self) -> Requests:
        return self.take(np.argsort(self.ts_us, kind="stable"))

    @staticmethod
    def concat(*parts: Requests) -> Requests:
        return Requests(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in fields(Requests)
            }
        )

    def billable(self) -> np.ndarray:
        return (self.error == 0) & ~self.cache_hit

    def cost(self, cat: Catalogue, mask: np.ndarray | None = None) -> float:
        """Internal-price cost of the billable rows (optionally within `mask`)."""
        keep = self.billable() if mask is None else self.billable() & mask
        c = cat.cost(self.model, self.input, self.cache_read, self.cache_write, self.output)
        return float(c[keep].sum())


def day_volume(rng: np.random.Generator, mean: float, day_index: int, days: int, weekday: int,
               weekend_factor: float = 0.4) -> int:  # fmt: skip
    """Requests on one day: weekly seasonality, gentle growth centred on the window, day noise."""
    week = (1.0 if weekday < 5 else weekend_factor) * 7 / (5 + 2 * weekend_factor)
    growth = GROWTH_PER_90_DAYS ** ((day_index - (days - 1) / 2) / 90)
    noise = float(np.exp(rng.normal(0, DAY_NOISE)))
    return int(rng.poisson(mean * week * growth * noise))


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
        rng.random(n) < _REASON_P[model], lognormal(rng, _REASON_MED[model], 0.8, n), 0
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
    return {"input": inp, "cache_read": read, "cache_write": write.astype(np.int64),
            "output": out, "reasoning": reasoning}  # fmt: skip


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
        ts_us=np.asarray(ts_us, dtype=np.int64), stream=np.asarray(stream), model=np.asarray(model),
        feature=np.asarray(feature), **u, error=error.astype(np.int8), cache_hit=hit,
        duration_ms=duration, ttft_ms=ttft, content=rng.random(n) < CONTENT_SHARE,
        attempt=np.ones(n, dtype=np.int8), user=rng.integers(0, 100_000, n),
    )  # fmt: skip


def prod_calls(rng, cat: Catalogue, streams: np.ndarray, ts_us: np.ndarray) -> Requests:
    """Rows for prod calls on the given streams at the given times."""
    in_gateway = np.isin(
        cat.stream_format[streams], [FORMATS.index("gateway"), FORMATS.index("litellm")]
    )
    return build(rng, ts_us, streams, cat.stream_model[streams], cat.stream_feature[streams],
                 cat.stream_in_mult[streams], gateway=in_gateway)  # fmt: skip


def simulate_prod(rng, cat: Catalogue, day_us: int, mean: float, day_index: int, days: int,
                  weekday: int) -> Requests:  # fmt: skip
    n = day_volume(rng, mean, day_index, days, weekday)
    streams = rng.choice(len(cat.stream_weight), size=n, p=cat.stream_weight)
    return prod_calls(rng, cat, streams, day_us + times_of_day(rng, n, PROD_HOURS))


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
    reasoning = np.where(_REASON_P[model] > 0, lognormal(rng, _REASON_MED[model], 0.8, n), 0)
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
        ts_us=np.asarray(ts_us, dtype=np.int64), stream=dev, model=model, feature=feature,
        input=fresh + read + write, cache_read=read, cache_write=write, output=out,
        reasoning=reasoning, error=error, cache_hit=np.zeros(n, bool), duration_ms=duration,
        ttft_ms=np.full(n, -1), content=rng.random(n) < CONTENT_SHARE,
        attempt=np.ones(n, dtype=np.int8), user=session,
    )  # fmt: skip


def simulate_dev(
    rng, day_us: int, mean: float, day_index: int, days: int, weekday: int
) -> Requests:
    n = day_volume(rng, mean * DEV_SHARE, day_index, days, weekday, weekend_factor=0.12)
    dev = rng.choice(len(DEVELOPERS), size=n, p=_DEV_ACTIVITY)
    tool = np.where(rng.random(n) < 0.85, _DEV_TOOL[dev], 1 - _DEV_TOOL[dev])
    model = np.empty(n, dtype=np.int64)
    for t, options in enumerate(TOOL_MODELS.values()):
        idx = np.flatnonzero(tool == t)
        names = [MODEL_INDEX[m] for m, _ in options]
        model[idx] = rng.choice(names, size=len(idx), p=[s for _, s in options])
    ts = day_us + times_of_day(rng, n, DEV_HOURS, shift_s=_DEV_OFFSET_S[dev])
    return dev_calls(rng, dev, ts, model)
