"""How the six incidents change a day's traffic. Each is sized against the day's normal cost of
the affected slice (or its expectation, if higher), so it stays clearly anomalous at any
`requests_per_day`: the magnitudes in `labels.json` descriptions are floors, not targets."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from bimo.demo.anomalies import Anomaly
from bimo.demo.calls import PROVIDER, US_PER_DAY, Requests
from bimo.demo.company import (
    DEVELOPERS,
    FEATURES,
    MODEL_INDEX,
    MODELS,
    TOOL_MODELS,
    Catalogue,
    catalogue,
)
from bimo.demo.company import developer_email as email
from bimo.demo.dev_traffic import DEV_SHARE, dev_calls, simulate_dev
from bimo.demo.traffic import PROD_HOURS, latency, prod_calls, simulate_prod, times_of_day

H_US = 3_600_000_000
SONNET, GPT4O, MINI, PRO = (
    MODEL_INDEX[m] for m in ("claude-sonnet-4-5", "gpt-4o", "gpt-4o-mini", "gemini-2.5-pro")
)
SUMMARIZE = FEATURES.index("summarize")
_MAX_IN = np.array([m.max_input for m in MODELS])


@cache
def reference(n: int = 100_000) -> tuple[Requests, Requests]:
    """A large fixed sample of prod and dev calls: what a normal call costs on average."""
    rng = np.random.default_rng(20_250_101)
    return simulate_prod(rng, catalogue(), 0, n), simulate_dev(rng, 0, n * DEV_SHARE)


@dataclass
class Day:
    """What an injection needs about the day being simulated."""

    rng: np.random.Generator
    cat: Catalogue
    day_us: int
    prod: Requests
    dev: Requests
    expected_prod: float
    expected_dev: float

    def normal_cost(self, select: Callable[[Requests], np.ndarray], *, dev: bool = False) -> float:
        """The day's cost of a slice before injection: what was drawn, or its expectation if higher
        (so a quiet day does not shrink the incident)."""
        ref = reference()[dev]
        expected = (
            ref.cost(self.cat, select(ref))
            / len(ref)
            * (self.expected_dev if dev else self.expected_prod)
        )
        rows = self.dev if dev else self.prod
        return max(rows.cost(self.cat, select(rows)), expected)


def inject(a: Anomaly, offset: int, day: Day) -> None:
    """Apply anomaly `a` on its `offset`-th day, in place on `day.prod` / `day.dev`."""
    INJECTORS[a.id](a, offset, day)


def _scale_input(rng, rows: Requests, factor: np.ndarray) -> Requests:
    new = np.minimum(np.round(rows.input * factor), _MAX_IN[rows.model]).astype(np.int64)
    ratio = np.divide(new, rows.input, out=np.zeros(len(rows)), where=rows.input > 0)
    read = np.floor(rows.cache_read * ratio).astype(np.int64)
    write = np.minimum(np.floor(rows.cache_write * ratio).astype(np.int64), new - read)
    duration, ttft = latency(
        rng, rows.model, rows.feature, new, rows.output, rows.reasoning, rows.error
    )
    hit = rows.cache_hit
    return replace(
        rows,
        input=new,
        cache_read=read,
        cache_write=write,
        duration_ms=np.where(hit, rows.duration_ms, duration),
        ttft_ms=np.where(hit, rows.ttft_ms, ttft),
    )


def _until(target: float, cat: Catalogue, make: Callable[[int], Requests], n: int) -> Requests:
    """Rows from `make` until their billable cost reaches `target`."""
    rows = make(max(n, 1))
    for _ in range(8):
        cost = rows.cost(cat)
        if cost >= target:
            break
        per_row = max(cost / len(rows), 1e-6)
        rows = Requests.concat(rows, make(math.ceil((target - cost) / per_row * 1.1) + 1))
    return rows


def _cost_spike(a: Anomaly, offset: int, d: Day) -> None:
    s = d.cat.stream_of("support-helpdesk-prod", "agent", "claude-sonnet-4-5")
    target = 5.0 * d.normal_cost(lambda r: r.model == SONNET)

    def make(n: int) -> Requests:
        ts = d.day_us + times_of_day(d.rng, n, PROD_HOURS)
        rows = prod_calls(d.rng, d.cat, np.full(n, s), ts)
        return _scale_input(d.rng, rows, d.rng.uniform(2.5, 3.5, n))

    d.prod = Requests.concat(
        d.prod, _until(target, d.cat, make, 5 * int((d.prod.stream == s).sum()))
    )


def _runaway_key(a: Anomaly, offset: int, d: Day) -> None:
    s = d.cat.stream_of("platform-indexer-batch", "extract", "gpt-4o")
    lo, hi = a.scope["loop_hours_utc"]
    start_h, stop_h = (lo, 24) if offset == 0 else (0, hi)
    target = 2.2 * d.normal_cost(lambda r: PROVIDER[r.model] == "openai")

    def make(n: int) -> Requests:
        ts = d.day_us + np.sort(d.rng.integers(start_h * H_US, stop_h * H_US, n))
        rows = prod_calls(d.rng, d.cat, np.full(n, s), ts)
        ok = rows.error == 0
        inp = np.where(ok, 4200 + d.rng.integers(-60, 60, n), 0)
        read = np.where(ok & (d.rng.random(n) < 0.8), 3840, 0)
        out = np.where(ok, 520 + d.rng.integers(-50, 50, n), rows.output)
        return replace(
            rows,
            input=inp,
            cache_read=read,
            cache_write=np.zeros(n, np.int64),
            output=out,
            reasoning=np.zeros(n, np.int64),
            cache_hit=np.zeros(n, bool),
        )

    d.prod = Requests.concat(d.prod, _until(target, d.cat, make, 200))


def _model_switch(a: Anomaly, offset: int, d: Day) -> None:
    p = d.prod
    moved = (p.model == MINI) & (p.feature == SUMMARIZE)
    model = np.where(moved, GPT4O, p.model)
    duration, ttft = latency(d.rng, model, p.feature, p.input, p.output, p.reasoning, p.error)
    keep = ~moved | p.cache_hit
    d.prod = replace(
        p,
        model=model,
        duration_ms=np.where(keep, p.duration_ms, duration),
        ttft_ms=np.where(keep, p.ttft_ms, ttft),
    )


def _fail(d: Day, rows: Requests, window: np.ndarray) -> Requests:
    fail = window & (d.rng.random(len(rows)) < 0.6)
    code = np.where(d.rng.random(len(rows)) < 0.65, 1, 3).astype(np.int8)
    error = np.where(fail, code, rows.error)
    zero = np.zeros(len(rows), np.int64)
    duration, _ = latency(d.rng, rows.model, rows.feature, zero, zero, zero, error)
    tokens = {
        k: np.where(fail, 0, getattr(rows, k))
        for k in ("input", "cache_read", "cache_write", "output", "reasoning")
    }
    return replace(
        rows,
        error=error,
        cache_hit=rows.cache_hit & ~fail,
        **tokens,
        duration_ms=np.where(fail, duration, rows.duration_ms),
        ttft_ms=np.where(fail, -1, rows.ttft_ms),
    )


def _error_burst(a: Anomaly, offset: int, d: Day) -> None:
    h0 = int(str(a.scope["window_utc"][0])[:2])

    def in_window(rows: Requests) -> np.ndarray:
        tod = rows.ts_us - d.day_us
        return (PROVIDER[rows.model] == "google") & (tod >= h0 * H_US) & (tod < (h0 + 6) * H_US)

    before = d.prod.error.copy()
    p = _fail(d, d.prod, in_window(d.prod))
    failed = (p.error > 0) & (before == 0)
    retry = np.flatnonzero(failed & (d.rng.random(len(p)) < 0.5))
    ts = np.minimum(
        p.ts_us[retry] + d.rng.integers(1_000_000, 20_000_000, len(retry)),
        d.day_us + US_PER_DAY - 1,
    )
    again = prod_calls(d.rng, d.cat, p.stream[retry], ts)
    again = _fail(d, replace(again, attempt=np.full(len(retry), 2, np.int8)), in_window(again))
    d.prod = Requests.concat(p, again)


def _context_blowup(a: Anomaly, offset: int, d: Day) -> None:
    s = d.cat.stream_of("ds-docx-prod", "extract", "gemini-2.5-pro")
    target = 3.5 * d.normal_cost(lambda r: r.model == PRO)
    hit = d.prod.stream == s
    blown = _scale_input(d.rng, d.prod, np.where(hit, d.rng.uniform(6.5, 9.5, len(d.prod)), 1.0))
    d.prod = replace(
        blown,
        duration_ms=np.where(hit, blown.duration_ms, d.prod.duration_ms),
        ttft_ms=np.where(hit, blown.ttft_ms, d.prod.ttft_ms),
    )
    missing = target - d.prod.cost(d.cat, d.prod.model == PRO)
    if missing > 0:  # few documents that day: the buggy job also re-queues some of them

        def make(n: int) -> Requests:
            ts = d.day_us + times_of_day(d.rng, n, PROD_HOURS)
            rows = prod_calls(d.rng, d.cat, np.full(n, s), ts)
            return _scale_input(d.rng, rows, d.rng.uniform(6.5, 9.5, n))

        d.prod = Requests.concat(d.prod, _until(missing, d.cat, make, 2))


def _dev_runaway(a: Anomaly, offset: int, d: Day) -> None:
    dev = next(i for i, x in enumerate(DEVELOPERS) if email(x[0]) == a.scope["developer"])
    offset_s = DEVELOPERS[dev][4] * 60
    start = (10 * 3600 - offset_s) % 86_400
    target = 6.0 * d.normal_cost(lambda r: r.model >= 0, dev=True)
    model = MODEL_INDEX[TOOL_MODELS["claude-code"][0][0]]

    def make(n: int) -> Requests:
        span = min(9 * 3600, 86_400 - start) * 1_000_000
        ts = d.day_us + start * 1_000_000 + np.sort(d.rng.integers(0, span, n))
        rows = replace(
            dev_calls(d.rng, np.full(n, dev), ts, np.full(n, model)), user=np.full(n, 99)
        )
        context = (60_000 + (np.arange(n) * 731) % 120_000).astype(np.int64)
        read = np.where(rows.error == 0, context, 0)
        write = np.where(rows.error == 0, d.rng.integers(1500, 6000, n), 0)
        return replace(
            rows,
            input=rows.input - rows.cache_read - rows.cache_write + read + write,
            cache_read=read,
            cache_write=write,
        )

    d.dev = Requests.concat(d.dev, _until(target, d.cat, make, 300))


INJECTORS = {
    "cost_spike-1": _cost_spike,
    "runaway_key-1": _runaway_key,
    "model_switch-1": _model_switch,
    "error_burst-1": _error_burst,
    "cost_spike-2": _context_blowup,
    "dev_runaway-1": _dev_runaway,
}
