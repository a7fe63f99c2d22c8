"""Marker for records that are valid but are not model requests (e.g. OTel HTTP spans)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Skip:
    """A record left out on purpose; `why` is counted in the load summary."""

    why: str
