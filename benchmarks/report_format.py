"""Number and header formatting shared by the results page's sections."""

from __future__ import annotations

GB, MB = 2**30, 2**20
APP_LABEL = {"working_tree": "this working tree", "committed": "the committed app (git HEAD)"}


def f(x, digits: int = 1) -> str:
    if x is None:
        return "—"
    if isinstance(x, int) or (isinstance(x, float) and x >= 1000):
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def meta(sec: dict) -> str:
    m = sec.get("machine", {})
    return (
        f"`{sec.get('command', '?')}` — {m.get('date', '?')}, 1-minute load average "
        f"{sec.get('load_average_start', '?')}{yardstick_note(sec)} at the start (2 cores shared "
        "with other work: timings are slower than on an idle machine)."
    )


def yardstick_note(sec: dict) -> str:
    """The machine's speed when a run began (`machine.yardstick`: the same fixed workload every
    run; more seconds, a slower hour), for runs that recorded it."""
    y = sec.get("yardstick_s")
    return f", yardstick {y:.3f} s" if y is not None else ""
