"""The six injected incidents: what they are, where they fall in the window, their labels.

`bimo.demo.injectors` holds how each one changes the day's traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np

from bimo.demo.company import API_KEYS, DEVELOPERS, KEY_INDEX
from bimo.demo.company import developer_email as email

LEAD_DAYS, GAP_DAYS, QUIET_TAIL = 21, 5, 3


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
            "id": self.id,
            "kind": self.kind,
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=self.days - 1)).isoformat(),
            "source_tag": self.source_tag,
            "metric": self.metric,
            "provider": self.provider,
            "models": list(self.models),
            "description": self.description,
            **self.scope,
        }


def plan(days: int, first_weekday: int, rng: np.random.Generator) -> list[Anomaly]:
    """The six incidents with their scope, placed on weekdays, spread over the window."""
    batch = API_KEYS[KEY_INDEX["platform-indexer-batch"]]
    coders = [d[0] for d in DEVELOPERS if d[2] == "claude-code"]
    dev = coders[int(rng.integers(len(coders)))]
    loop_start, loop_stop = int(rng.integers(13, 18)), int(rng.integers(14, 19))
    burst = int(rng.integers(11, 15))
    specs = [
        Anomaly(
            "cost_spike-1",
            "cost_spike",
            1,
            "prod",
            "cost_usd",
            "anthropic",
            ("claude-sonnet-4-5",),
            "Support's helpdesk agent loops on long tickets: ~6x its normal volume on "
            "claude-sonnet-4-5 with ~3x longer contexts.",
            scope={"team": "support", "project": "helpdesk-assistant", "feature": "agent"},
        ),
        Anomaly(
            "runaway_key-1",
            "runaway_key",
            2,
            "prod",
            "cost_usd",
            "openai",
            ("gpt-4o",),
            f"Batch key {batch.key_id} ({batch.name}) re-submits the same gpt-4o extraction in a "
            f"loop from {loop_start:02d}:00 UTC on day 1 until {loop_stop:02d}:00 UTC on day 2.",
            scope={
                "team": batch.team,
                "project": batch.project,
                "feature": "extract",
                "api_key_id": batch.key_id,
            },
        ),
        Anomaly(
            "model_switch-1",
            "model_switch",
            3,
            "prod",
            "cost_usd",
            "openai",
            ("gpt-4o-mini", "gpt-4o"),
            "A shared prompt-library release routes all `summarize` traffic from gpt-4o-mini "
            "to gpt-4o for three days, then is rolled back.",
            scope={"feature": "summarize"},
        ),
        Anomaly(
            "error_burst-1",
            "error_burst",
            1,
            "prod",
            "error_rate",
            "google",
            ("gemini-2.5-flash", "gemini-2.5-pro"),
            f"Google returns 429/503 for ~60% of requests from {burst:02d}:00 to {burst + 6:02d}:00"
            " UTC; clients retry once, adding some cost.",
            scope={"window_utc": [f"{burst:02d}:00", f"{burst + 6:02d}:00"]},
        ),
        Anomaly(
            "cost_spike-2",
            "cost_spike",
            1,
            "prod",
            "cost_usd",
            "google",
            ("gemini-2.5-pro",),
            "Context blow-up in doc-extraction: a chunking bug sends whole documents, so average "
            "input tokens per gemini-2.5-pro request grow ~8x.",
            scope={"team": "data-science", "project": "doc-extraction", "feature": "extract"},
        ),
        Anomaly(
            "dev_runaway-1",
            "dev_runaway",
            1,
            "dev",
            "cost_usd",
            "anthropic",
            ("claude-sonnet-4-5",),
            f"{email(dev)}'s claude-code agent loops in one session for hours, re-reading a large "
            "context on every turn.",
            scope={"developer": email(dev), "tool": "claude-code"},
        ),
    ]
    specs[1].scope.update(loop_hours_utc=[loop_start, loop_stop])
    starts = place([a.days for a in specs], days, first_weekday, rng)
    return [replace(a, start=s) for a, s in zip(specs, starts, strict=True)]


def place(
    durations: list[int], days: int, first_weekday: int, rng: np.random.Generator
) -> list[int]:
    """Start indices: >= LEAD_DAYS in, none in the last QUIET_TAIL days, GAP_DAYS apart, weekdays.

    Short windows relax the lead and the gap (then the weekday rule) rather than drop incidents.
    """
    last = days - 1 - QUIET_TAIL
    relaxed = ((LEAD_DAYS, GAP_DAYS), (LEAD_DAYS, 2), (14, 2), (14, 1), (10, 1), (7, 1), (0, 0))
    for lead, gap in relaxed:
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
