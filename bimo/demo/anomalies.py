"""The six injected incidents: where they fall in the window, how they change traffic, their labels.

Each injection is sized against the same day's normal traffic, so it stays clearly anomalous at
any `requests_per_day` (the magnitudes in the brief are floors, not targets).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np

from bimo.demo.company import (
    API_KEYS,
    DEVELOPERS,
    FEATURES,
    KEY_INDEX,
    MODEL_INDEX,
    MODELS,
    TOOL_MODELS,
    Catalogue,
)
from bimo.demo.company import developer_email as email
from bimo.demo.traffic import (
    PROD_HOURS,
    PROVIDER,
    US_PER_DAY,
    Requests,
    dev_calls,
    latency,
    prod_calls,
    times_of_day,
)

H_US = 3_600_000_000
LEAD_DAYS, GAP_DAYS, QUIET_TAIL = 21, 5, 3
SONNET, GPT4O, MINI = (MODEL_INDEX[m] for m in ("claude-sonnet-4-5", "gpt-4o", "gpt-4o-mini"))
SUMMARIZE = FEATURES.index("summarize")
_MAX_IN = np.array([m.max_input for m in MODELS])


@dataclass(frozen=True)
class Anomaly:
    """One labelled incident; `start` is a day index into the window."""

    id: str
    kind: str
    days: int
    source_tag: str
    metric: str
    provider: str
    models: tuple[str, ...]
    description: str
    start: int = 0
    scope: dict[str, object] = field(default_factory=dict)

    def covers(self, day_index: int) -> bool:
        return self.start <= day_index < self.start + self.days

    def label(self, first_day: date) -> dict[str, object]:
        start = first_day + timedelta(days=self.start)
        return {
            "id": self.id, "kind": self.kind, "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=self.days - 1)).isoformat(),
            "source_tag": self.source_tag, "metric": self.metric, "provider": self.provider,
            "models": list(self.models), "description": self.description, **self.scope,
        }  # fmt: skip


def plan(days: int, first_weekday: int, rng: np.random.Generator) -> list[Anomaly]:
    """The six incidents with their scope, placed on weekdays, spread over the window."""
    batch = API_KEYS[KEY_INDEX["platform-indexer-batch"]]
    coders = [d[0] for d in DEVELOPERS if d[2] == "claude-code"]
    dev = coders[int(rng.integers(len(coders)))]
    loop_start, loop_stop = int(rng.integers(13, 18)), int(rng.integers(14, 19))
    burst = int(rng.integers(11, 15))
    specs = [
        Anomaly("cost_spike-1", "cost_spike", 1, "prod", "cost_usd", "anthropic", ("claude-sonnet-4-5",),
                "Support's helpdesk agent loops on long tickets: ~6x its normal volume on "
                "claude-sonnet-4-5 with ~3x longer contexts.",
                scope={"team": "support", "project": "helpdesk-assistant", "feature": "agent"}),
        Anomaly("runaway_key-1", "runaway_key", 2, "prod", "cost_usd", "openai", ("gpt-4o",),
                f"Batch key {batch.key_id} ({batch.name}) re-submits the same gpt-4o extraction in a "
                f"loop from {loop_start:02d}:00 UTC on day 1 until {loop_stop:02d}:00 UTC on day 2.",
                scope={"team": batch.team, "project": batch.project, "feature": "extract",
                       "api_key_id": batch.key_id}),
        Anomaly("model_switch-1", "model_switch", 3, "prod", "cost_usd", "openai",
                ("gpt-4o-mini", "gpt-4o"),
                "A shared prompt-library release routes all `summarize` traffic from gpt-4o-mini "
                "to gpt-4o for three days, then is rolled back.",
                scope={"feature": "summarize"}),
        Anomaly("error_burst-1", "error_burst", 1, "prod", "error_rate", "google",
                ("gemini-2.5-flash", "gemini-2.5-pro"),
                f"Google returns 429/503 for ~60% of requests from {burst:02d}:00 to {burst + 6:02d}:00"
                " UTC; clients retry once, adding some cost.",
                scope={"window_utc": [f"{burst:02d}:00", f"{burst + 6:02d}:00"]}),
        Anomaly("cost_spike-2", "cost_spike", 1, "prod", "cost_usd", "google", ("gemini-2.5-pro",),
                "Context blow-up in doc-extraction: a chunking bug sends whole documents, so average "
                "input tokens per gemini-2.5-pro request grow ~8x.",
                scope={"team": "data-science", "project": "doc-extraction", "feature": "extract"}),
        Anomaly("dev_runaway-1", "dev_runaway", 1, "dev", "cost_usd", "anthropic", ("claude-sonnet-4-5",),
                f"{email(dev)}'s claude-code agent loops in one session for hours, re-reading a large "
                "context on every turn.",
                scope={"developer": email(dev), "tool": "claude-code"}),
    ]  # fmt: skip
    specs[1].scope.update(loop_hours_utc=[loop_start, loop_stop])
    specs[3].scope.update(burst_hour=burst)
    starts = place([a.days for a in specs], days, first_weekday, rng)
    return [replace(a, start=s) for a, s in zip(specs, starts, strict=True)]


def place(
    durations: list[int], days: int, first_weekday: int, rng: np.random.Generator
) -> list[int]:
    """Start indices: >= LEAD_DAYS in, none in the last QUIET_TAIL days, GAP_DAYS apart, on weekdays.

    Short windows relax the lead and the gap (then the weekday rule) rather than drop incidents.
    """
    last = days - 1 - QUIET_TAIL
    for lead, gap in (
        (LEAD_DAYS, GAP_DAYS),
        (LEAD_DAYS, 3),
        (14, 3),
        (14, 2),
        (10, 2),
        (7, 1),
        (0, 1),
        (0, 0),
    ):
        for weekdays in (True, False):
            starts = _greedy(durations, lead, gap, last, first_weekday, weekdays, rng)
            if starts is not None:
                return starts
    return [max(0, min(days - d, last)) for d in durations]


def _greedy(durations, lead, gap, last, first_weekday, weekdays, rng) -> list[int] | None:
    def ok(s: int, d: int) -> bool:
        return not weekdays or all((first_weekday + s + t) % 7 < 5 for t in range(d))

    k = len(durations)
    for _ in range(40):
        order, cursor, starts = rng.permutation(k), lead, [0] * k
        for j, a in enumerate(order):
            rest = sum(durations[b] + gap for b in order[j + 1 :])
            hi = last - rest - durations[a] + 1
            cands = [s for s in range(cursor, hi + 1) if ok(s, durations[a])]
            if not cands:
                break
            fair = cursor + 2 * (hi - cursor) // (k - j)
            pool = [s for s in cands if s <= fair] or cands[:1]
            starts[a] = pool[int(rng.integers(len(pool)))]
            cursor = starts[a] + durations[a] + gap
        else:
            return starts
    return None


@dataclass
class Day:
    """What an injection needs about the day being simulated."""

    rng: np.random.Generator
    cat: Catalogue
    day_us: int
    prod: Requests
    dev: Requests


def inject(a: Anomaly, offset: int, day: Day) -> None:
    """Apply anomaly `a` on its `offset`-th day, in place on `day.prod` / `day.dev`."""
    INJECTORS[a.kind if a.id != "cost_spike-2" else "context_blowup"](a, offset, day)


def _scale_input(rng, rows: Requests, factor: np.ndarray) -> Requests:
    new = np.minimum(np.round(rows.input * factor), _MAX_IN[rows.model]).astype(np.int64)
    ratio = np.divide(new, rows.input, out=np.zeros(len(rows)), where=rows.input > 0)
    read = np.floor(rows.cache_read * ratio).astype(np.int64)
    write = np.minimum(np.floor(rows.cache_write * ratio).astype(np.int64), new - read)
    duration, ttft = latency(
        rng, rows.model, rows.feature, new, rows.output, rows.reasoning, rows.error
    )
    hit = rows.cache_hit
    return replace(rows, input=new, cache_read=read, cache_write=write,
                   duration_ms=np.where(hit, rows.duration_ms, duration),
                   ttft_ms=np.where(hit, rows.ttft_ms, ttft))  # fmt: skip


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
    target = max(5.0 * d.prod.cost(d.cat, d.prod.model == SONNET), 0.05)

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
    target = max(2.2 * d.prod.cost(d.cat, PROVIDER[d.prod.model] == "openai"), 0.05)

    def make(n: int) -> Requests:
        ts = d.day_us + np.sort(d.rng.integers(start_h * H_US, stop_h * H_US, n))
        rows = prod_calls(d.rng, d.cat, np.full(n, s), ts)
        ok = rows.error == 0
        inp = np.where(ok, 4200 + d.rng.integers(-60, 60, n), 0)
        read = np.where(ok & (d.rng.random(n) < 0.8), 3840, 0)
        out = np.where(ok, 520 + d.rng.integers(-50, 50, n), rows.output)
        return replace(rows, input=inp, cache_read=read, cache_write=np.zeros(n, np.int64), output=out,
                       reasoning=np.zeros(n, np.int64), cache_hit=np.zeros(n, bool))  # fmt: skip

    d.prod = Requests.concat(d.prod, _until(target, d.cat, make, 200))


def _model_switch(a: Anomaly, offset: int, d: Day) -> None:
    p = d.prod
    moved = (p.model == MINI) & (p.feature == SUMMARIZE)
    model = np.where(moved, GPT4O, p.model)
    duration, ttft = latency(d.rng, model, p.feature, p.input, p.output, p.reasoning, p.error)
    keep = ~moved | p.cache_hit
    d.prod = replace(p, model=model, duration_ms=np.where(keep, p.duration_ms, duration),
                     ttft_ms=np.where(keep, p.ttft_ms, ttft))  # fmt: skip


def _fail(d: Day, rows: Requests, window: np.ndarray) -> Requests:
    fail = window & (d.rng.random(len(rows)) < 0.6)
    code = np.where(d.rng.random(len(rows)) < 0.65, 1, 3).astype(np.int8)
    error = np.where(fail, code, rows.error)
    zero = np.zeros(len(rows), np.int64)
    duration, _ = latency(d.rng, rows.model, rows.feature, zero, zero, zero, error)
    tokens = {k: np.where(fail, 0, getattr(rows, k)) for k in ("input", "cache_read", "cache_write",
              "output", "reasoning")}  # fmt: skip
    return replace(rows, error=error, cache_hit=rows.cache_hit & ~fail, **tokens,
                   duration_ms=np.where(fail, duration, rows.duration_ms),
                   ttft_ms=np.where(fail, -1, rows.ttft_ms))  # fmt: skip


def _error_burst(a: Anomaly, offset: int, d: Day) -> None:
    h0 = int(a.scope["burst_hour"])

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
    hit = d.prod.stream == s
    blown = _scale_input(d.rng, d.prod, np.where(hit, d.rng.uniform(6.5, 9.5, len(d.prod)), 1.0))
    keep = ~hit
    d.prod = replace(blown, duration_ms=np.where(keep, d.prod.duration_ms, blown.duration_ms),
                     ttft_ms=np.where(keep, d.prod.ttft_ms, blown.ttft_ms))  # fmt: skip


def _dev_runaway(a: Anomaly, offset: int, d: Day) -> None:
    dev = next(i for i, x in enumerate(DEVELOPERS) if email(x[0]) == a.scope["developer"])
    offset_s = DEVELOPERS[dev][4] * 60
    start = (10 * 3600 - offset_s) % 86_400
    target = max(6.0 * d.dev.cost(d.cat), 0.5)
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
        return replace(rows, input=rows.input - rows.cache_read - rows.cache_write + read + write,
                       cache_read=read, cache_write=write)  # fmt: skip

    d.dev = Requests.concat(d.dev, _until(target, d.cat, make, 300))


INJECTORS = {
    "cost_spike": _cost_spike,
    "runaway_key": _runaway_key,
    "model_switch": _model_switch,
    "error_burst": _error_burst,
    "context_blowup": _context_blowup,
    "dev_runaway": _dev_runaway,
}
