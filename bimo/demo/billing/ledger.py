"""`AiLedger`: the billable AI traffic the log generator simulated, summed per day, model and
project, plus the providers' list prices for it (the basis of the simulated AI bills)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

import numpy as np
from genai_prices import Usage, calc_price

from bimo.demo.calls import US_PER_DAY, Requests
from bimo.demo.company import MODEL_INDEX, MODELS, STREAMS
from bimo.demo.writers import STREAM_INFO

# Token columns summed per group; `requests` counts the billable calls.
COLUMNS = ("input", "cache_read", "cache_write", "output", "reasoning", "requests")
DEV_PROJECT = "developer-tools"  # the coding agents' calls (cli-log) bill to one project
PROJECTS = tuple(sorted({k.project for k, _, _ in STREAM_INFO} | {DEV_PROJECT}))
_PROJECT_OF_STREAM = np.array(
    [PROJECTS.index(STREAM_INFO[s][0].project) for s in range(len(STREAMS))]
)
_EPOCH = date(1970, 1, 1)


@cache
def unit_prices(model: str) -> tuple[Decimal, Decimal, Decimal, Decimal, bool]:
    """USD per million tokens (uncached input, cache read, cache write, output) and whether
    genai-prices knows the model. Measured at 100k tokens, below any long-context tier; models
    no public catalogue knows fall back to the demo's internal price table."""
    m = MODELS[MODEL_INDEX[model]]
    probes = (
        Usage(input_tokens=100_000),
        Usage(input_tokens=100_000, cache_read_tokens=100_000),
        Usage(input_tokens=100_000, cache_write_tokens=100_000),
        Usage(output_tokens=100_000),
    )
    try:
        got = [calc_price(u, model_ref=model, provider_id=m.provider).total_price for u in probes]
    except LookupError:
        internal = (m.price_in, m.price_cache_read, m.price_cache_write, m.price_out)
        return (*(Decimal(str(p)) for p in internal), False)  # type: ignore[return-value]
    return (*(Decimal(p) * 10 for p in got), True)  # type: ignore[return-value]


def list_cost(model: str, tokens: dict[str, int]) -> dict[str, Decimal]:
    """Exact list cost in USD per token type (`uncached`, `cache_read`, `cache_write`,
    `output`; reasoning is billed as output)."""
    p_in, p_read, p_write, p_out = unit_prices(model)[:4]
    uncached = tokens["input"] - tokens["cache_read"] - tokens["cache_write"]
    mtok = Decimal(1_000_000)
    return {
        "uncached": uncached * p_in / mtok,
        "cache_read": tokens["cache_read"] * p_read / mtok,
        "cache_write": tokens["cache_write"] * p_write / mtok,
        "output": tokens["output"] * p_out / mtok,
    }


class AiLedger:
    """Billable calls (no error, no gateway cache hit) summed per (UTC day, model, project).

    `add` takes the day's final prod and dev `Requests`, after anomalies were injected: what the
    logs hold is what the providers metered."""

    def __init__(self) -> None:
        self._sums: dict[tuple[date, str, str], np.ndarray] = defaultdict(
            lambda: np.zeros(len(COLUMNS), dtype=np.int64)
        )

    def add(self, prod: Requests, dev: Requests) -> None:
        self._add(prod, _PROJECT_OF_STREAM[prod.stream])
        self._add(dev, np.full(len(dev), PROJECTS.index(DEV_PROJECT)))

    def _add(self, rows: Requests, project: np.ndarray) -> None:
        keep = rows.billable()
        if not keep.any():
            return
        day = rows.ts_us[keep] // US_PER_DAY
        code = (day * len(MODELS) + rows.model[keep]) * len(PROJECTS) + project[keep]
        groups, inverse = np.unique(code, return_inverse=True)
        values = [getattr(rows, c)[keep] for c in COLUMNS[:-1]] + [np.ones(int(keep.sum()))]
        sums = np.stack([np.bincount(inverse, weights=v) for v in values], axis=1)
        for g, row in zip(groups.tolist(), sums.astype(np.int64), strict=True):
            rest, p = divmod(g, len(PROJECTS))
            d, m = divmod(rest, len(MODELS))
            self._sums[(_EPOCH + timedelta(days=d), MODELS[m].name, PROJECTS[p])] += row

    def rows(self, provider: str) -> list[tuple[date, str, str, dict[str, int]]]:
        """(day, model, project, token sums) for one provider, sorted."""
        out = []
        for (d, model, project), v in sorted(self._sums.items()):
            if MODELS[MODEL_INDEX[model]].provider == provider:
                out.append((d, model, project, dict(zip(COLUMNS, v.tolist(), strict=True))))
        return out

    def daily_cost(self, provider: str) -> dict[date, Decimal]:
        """List cost of the logged billable traffic per day."""
        out: dict[date, Decimal] = defaultdict(Decimal)
        for d, model, _, tokens in self.rows(provider):
            out[d] += sum(list_cost(model, tokens).values())
        return dict(out)
