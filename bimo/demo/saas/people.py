"""Acme Robotics' staff as the SaaS tools see them: who works there on which day, who holds a
Copilot seat, a Zoom licence, and who Slack bills.

The twelve developers of `bimo.demo.company` are engineers here; the rest of each team is drawn
from a fixed name pool by seed. Churn is placed at fixed fractions of the window so every window
has it: people join and leave, a seat is added, a dormant seat is cancelled, a Zoom user is
upgraded, two people are away long enough for Slack to stop billing them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from bimo.demo.company import DEVELOPERS, TEAM_FORMAT

TEAMS = tuple(TEAM_FORMAT)
HEADCOUNT = {"platform": 9, "search": 8, "support": 12, "growth": 10, "data-science": 9}
ENGINEERS = {"platform": 1.0, "search": 0.9, "support": 0.25, "growth": 0.4, "data-science": 0.8}
ZOOM_LICENSED_TEAMS = ("support", "growth")  # customer-facing: every one of them licensed
OFFSETS = (-480, -300, 0, 60, 330)  # UTC offsets (minutes) of Acme's offices
FIRST = ("ana", "ben", "chloe", "david", "elena", "felix", "grace", "hugo", "ines", "jack",
         "kira", "leo", "mia", "noah", "olga", "paul", "quinn", "rosa", "sam", "tara", "umar",
         "vera", "will", "xena", "yusuf", "zoe")  # fmt: skip
LAST = ("adams", "baker", "costa", "dubois", "evans", "fischer", "garcia", "hill", "ito",
        "jensen", "kowalski", "lopez", "meyer", "novak", "oliveira", "park", "quist", "russo",
        "silva", "tanaka", "urban", "vogel", "walsh", "young", "zimmer")  # fmt: skip
SLACK_AWAY_DAYS = 14  # Slack stops billing a member inactive this long (fair billing policy)


@dataclass(frozen=True)
class Seat:
    """A Copilot seat: listed from `created` to `cancel_on` (inclusive, the end of the billing
    cycle); `cancel_requested` is when its cancellation became pending. A `dormant` seat's last
    activity is `last_active`, over 30 days before the window."""

    created: date
    cancel_requested: date | None = None
    cancel_on: date | None = None
    dormant: bool = False
    last_active: date | None = None
    via_team: bool = False

    def listed(self, day: date) -> bool:
        return self.created <= day and (self.cancel_on is None or day <= self.cancel_on)


@dataclass(frozen=True)
class Person:
    local: str  # email local part
    team: str
    engineer: bool
    offset_min: int
    joined: date
    left: date | None = None  # first day no longer employed
    seat: Seat | None = None
    zoom_licensed_from: date | None = None  # None: a basic Zoom user throughout
    away: tuple[date, date] | None = None  # on leave [from, to): no Slack activity

    def employed(self, day: date) -> bool:
        return self.joined <= day and (self.left is None or day < self.left)

    @property
    def login(self) -> str:
        return self.local.replace(".", "-")

    def ident(self, prefix: str, size: int) -> str:
        """A stable id for one tool, e.g. Slack `U…`."""
        digest = hashlib.sha256(f"acme:{prefix}:{self.local}".encode()).hexdigest().upper()
        return prefix + digest[:size]


def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) for the given parts (seed, person, day, purpose)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def local_time(day: date, minute: int, offset_min: int) -> str:
    """RFC 3339 of `minute` past local midnight on `day`, written with the local UTC offset
    (as GitHub does); offset 0 is written `Z`."""
    stamp = f"{day.isoformat()}T{minute // 60:02d}:{minute % 60:02d}:{(minute * 7) % 60:02d}"
    if offset_min == 0:
        return stamp + "Z"
    sign = "+" if offset_min > 0 else "-"
    return f"{stamp}{sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d}"


def last_active(p: Person, day: date, seed: int) -> date | None:
    """The last working day before `day` on which `p` was at work (not away), within 60 days."""
    for back in range(1, 61):
        d = day - timedelta(days=back)
        away = p.away is not None and p.away[0] <= d < p.away[1]
        if d.weekday() < 5 and p.employed(d) and not away and unit(seed, p.local, d) < 0.9:
            return d
    return None


def cycle_end(day: date) -> date:
    """The last day of the day's month: a cancelled Copilot seat bills until then."""
    nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def roster(start: date, end: date, seed: int) -> list[Person]:
    """Everyone who works at Acme at some point of [start, end], with their tool seats."""
    rng = np.random.default_rng([seed, 61])
    span = (end - start).days

    def at(share: float) -> date:
        return start + timedelta(days=int(span * share))

    people = [
        Person(local, team, True, offset, start - timedelta(days=int(rng.integers(200, 900))))
        for local, team, _, _, offset, _ in DEVELOPERS
    ]
    names = [f"{f}.{s}" for f in FIRST for s in LAST]
    taken = {p.local for p in people}
    for team in TEAMS:
        have = sum(p.team == team for p in people)
        for _ in range(HEADCOUNT[team] - have):
            local = str(next(n for n in rng.permutation(names) if n not in taken))
            taken.add(local)
            engineer = bool(rng.random() < ENGINEERS[team])
            joined = start - timedelta(days=int(rng.integers(60, 1200)))
            offset = OFFSETS[int(rng.integers(len(OFFSETS)))]
            people.append(Person(local, team, engineer, offset, joined))
    people = [_with_seat(p, rng) for p in people]
    return _churn(people, at)


def _with_seat(p: Person, rng: np.random.Generator) -> Person:
    licensed = p.joined if p.team in ZOOM_LICENSED_TEAMS else None
    if not p.engineer:
        return replace(p, zoom_licensed_from=licensed)
    seat = Seat(
        p.joined + timedelta(days=int(rng.integers(1, 20))), via_team=bool(rng.random() < 0.5)
    )
    return replace(p, seat=seat, zoom_licensed_from=licensed)


def _churn(people: list[Person], at: Callable[[float], date]) -> list[Person]:
    """Joiners, leavers, an added and a cancelled seat, dormant seats, a Zoom upgrade, leave."""
    by_team = {t: [p for p in people if p.team == t] for t in TEAMS}
    changes: dict[str, Person] = {}

    def change(p: Person, **kw) -> None:
        changes[p.local] = replace(changes.get(p.local, p), **kw)

    # joiners (two engineers get a seat the day after they join) and leavers
    for share, team, local, engineer in ((0.2, "platform", "nora.berg", True),
                                         (0.45, "support", "omar.haddad", False),
                                         (0.7, "data-science", "lena.vogt", True)):  # fmt: skip
        joined = at(share)
        seat = Seat(joined + timedelta(days=1)) if engineer else None
        licensed = joined if team in ZOOM_LICENSED_TEAMS else None
        people.append(Person(local, team, engineer, 60, joined, None, seat, licensed))
    leavers = [by_team["search"][-1], by_team["growth"][-1], by_team["platform"][-1]]
    for share, p in zip((0.35, 0.6, 0.85), leavers, strict=True):
        left = at(share)
        seat = p.seat and replace(p.seat, cancel_requested=left, cancel_on=cycle_end(left))
        change(p, left=left, seat=seat)
    # dormant seats (inactive > 30 days); the first one is cancelled by an admin clean-up
    dormant = [p for p in people if p.seat and p.local not in changes and p.joined < at(0)][-3:]
    for n, p in enumerate(dormant):
        seat = replace(p.seat, dormant=True, last_active=at(0) - timedelta(days=40 + 9 * n))
        if n == 0:
            seat = replace(seat, cancel_requested=at(0.4), cancel_on=cycle_end(at(0.4)))
        change(p, seat=seat)
    # a growth analyst gets a seat; a basic Zoom user is upgraded to a licence
    newcomer = next(p for p in by_team["growth"] if not p.engineer and p.local not in changes)
    change(newcomer, seat=Seat(at(0.5), via_team=True))
    basic = next(p for p in by_team["platform"] if p.local not in changes)
    change(basic, zoom_licensed_from=at(0.55))
    for share, p in zip(
        (0.25, 0.3), (by_team["support"][1], by_team["data-science"][2]), strict=True
    ):
        change(p, away=(at(share), at(share) + timedelta(days=30)))
    return [changes.get(p.local, p) for p in people]
