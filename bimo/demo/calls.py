"""`Requests`: a day's model calls as numpy columns, shared by simulator, injectors and writers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

import numpy as np

from bimo.demo.company import MODELS, Catalogue

US_PER_DAY = 86_400_000_000
PROVIDER = np.array([m.provider for m in MODELS])
# Error codes: index into ERRORS (0 = success): HTTP status, gateway error_type, exception class.
ERRORS = (
    (0, "", ""),
    (429, "rate_limit", "RateLimitError"),
    (500, "api_error", "InternalServerError"),
    (503, "overloaded", "ServiceUnavailableError"),
)


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

    def rows(self, names: str) -> Iterator[tuple]:
        """Row tuples of the named (space-separated) columns, as Python scalars."""
        return zip(*(getattr(self, n).tolist() for n in names.split()), strict=True)
