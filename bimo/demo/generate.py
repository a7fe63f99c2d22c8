"""`generate()`: a deterministic landing zone of Acme Robotics' AI usage logs, with labels."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import orjson

from bimo.demo.anomalies import plan
from bimo.demo.billing import AiLedger, generate_billing
from bimo.demo.calls import Requests
from bimo.demo.company import FORMATS, catalogue
from bimo.demo.content import Texts
from bimo.demo.dev_traffic import DEV_SHARE, DEV_WEEKEND, simulate_dev
from bimo.demo.files import SOURCE_DIRS, prepare
from bimo.demo.injectors import Day, inject
from bimo.demo.malformed import plan_malformed
from bimo.demo.saas import generate_saas
from bimo.demo.traffic import expected_volume, simulate_prod
from bimo.demo.writer_litellm import write_litellm
from bimo.demo.writer_otel import write_otel
from bimo.demo.writers import write_cli, write_gateway

GZIP_EVERY = 7  # every 7th day of the gateway log is gzipped, as a log rotator leaves it
NON_GENAI, SUMMARIES = "otel-genai/non_genai_spans", "cli-log/summary_lines"


@dataclass(frozen=True)
class GenerateResult:
    """What `generate` wrote. `counts` are valid request records per source folder; `skipped`
    counts lines a loader must skip (not quarantine): non-GenAI spans and CLI summary lines."""

    out_dir: Path
    start: date
    end: date
    requests: int
    files: list[Path]
    labels_path: Path
    counts: dict[str, int]
    malformed: int
    skipped: dict[str, int] = field(default_factory=dict)
    billing: dict[str, int] = field(default_factory=dict)  # rows per billing file set


@dataclass
class _Tally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCE_DIRS.values(), 0))
    skipped: dict[str, int] = field(default_factory=lambda: {NON_GENAI: 0, SUMMARIES: 0})
    malformed: list[dict[str, object]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def generate(
    out: Path,
    *,
    days: int = 90,
    requests_per_day: int = 1500,
    seed: int = 7,
    end: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GenerateResult:
    """Write `days` days of prod gateway logs (three formats) and dev CLI logs ending on `end`
    (default: yesterday, UTC) under `out`, plus `labels.json` with the injected anomalies and
    malformed records, the bills of the same window (`billing/`, `billing-api/`; see
    `bimo.demo.billing`) and its SaaS seat snapshots and invoices (`saas/`; see
    `bimo.demo.saas`). Same arguments, byte-identical files."""
    if days < 1 or requests_per_day < 1:
        raise ValueError("days and requests_per_day must be positive")
    end = end or datetime.now(UTC).date() - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    out = Path(out)
    prepare(out)
    cat = catalogue()
    anomalies = plan(days, start.weekday(), np.random.default_rng([seed, 1]))
    bad = plan_malformed(np.random.default_rng([seed, 2]), days, requests_per_day)
    tally, ledger = _Tally(), AiLedger()
    for i in range(days):
        day = start + timedelta(days=i)
        day_us = (day - date(1970, 1, 1)).days * 86_400_000_000
        # Separate streams per day and purpose: normal traffic is the same with or without
        # an incident that day, and each day can be regenerated on its own.
        rng = np.random.default_rng([seed, 3, day.toordinal()])
        n_prod = expected_volume(requests_per_day, i, days, day.weekday())
        n_dev = expected_volume(requests_per_day * DEV_SHARE, i, days, day.weekday(), DEV_WEEKEND)
        dev = simulate_dev(rng, day_us, n_dev)
        prod = simulate_prod(rng, cat, day_us, n_prod)
        arng = np.random.default_rng([seed, 4, day.toordinal()])
        today = Day(arng, cat, day_us, prod, dev, n_prod, n_dev)
        for a in anomalies:
            if a.covers(i):
                inject(a, i - a.start, today)
        bad_today = {source: kinds for (source, d), kinds in bad.items() if d == i}
        gz = i % GZIP_EVERY == GZIP_EVERY - 1
        _write_day(out, day, today.prod.sorted(), today.dev.sorted(), bad_today, seed, tally, gz=gz)
        ledger.add(today.prod, today.dev)
        if progress:
            progress(i + 1, days)

    billing = generate_billing(out, traffic=ledger, seed=seed, start=start, end=end)
    saas = generate_saas(out, start, end, seed)
    labels_path = out / "labels.json"
    labels = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "seed": seed,
        "requests_per_day": requests_per_day,
        "anomalies": [a.label(start) for a in anomalies],
        "malformed": tally.malformed,
        "counts": tally.counts,
        "skipped": tally.skipped,
        "billing": {
            "truth": billing.path.relative_to(out).as_posix(),
            "files": len(billing.files),
            "counts": billing.counts,
            "fx": "export: focus-azure bills EUR with x_BillingExchangeRate (EUR per 1 USD)",
        },
        "saas": {"truth": "saas/truth.json", "rows": saas["rows"]},
    }
    labels_path.write_bytes(orjson.dumps(labels, option=orjson.OPT_INDENT_2) + b"\n")
    return GenerateResult(
        out_dir=out,
        start=start,
        end=end,
        requests=sum(tally.counts.values()),
        files=tally.files,
        labels_path=labels_path,
        counts=tally.counts,
        malformed=len(tally.malformed),
        skipped=tally.skipped,
        billing=billing.counts,
    )


def _write_day(
    out: Path,
    day: date,
    prod: Requests,
    dev: Requests,
    bad: dict[str, list[str]],
    seed: int,
    tally: _Tally,
    *,
    gz: bool,
) -> None:
    """Split the day's prod calls by their team's gateway and write the four day files."""
    stamp, suffix = day.isoformat(), ".gz" if gz else ""
    rng = np.random.default_rng([seed, 5, day.toordinal()])
    texts = Texts(rng)
    paths = {
        "gateway": out / SOURCE_DIRS["gateway"] / f"requests-{stamp}.jsonl{suffix}",
        "litellm": out / SOURCE_DIRS["litellm"] / f"spend-logs-{stamp}.json",
        "otel": out / SOURCE_DIRS["otel"] / f"traces-{stamp}.jsonl",
        "cli": out / SOURCE_DIRS["cli"] / f"usage-{stamp}.jsonl",
    }
    fmt = catalogue().stream_format[prod.stream]
    part = {f: prod.take(np.flatnonzero(fmt == FORMATS.index(f))) for f in FORMATS}
    written = {
        "gateway": write_gateway(
            paths["gateway"], part["gateway"], rng, texts, bad.get("gateway", [])
        ),
        "litellm": write_litellm(
            paths["litellm"], part["litellm"], rng, texts, catalogue(), bad.get("litellm", [])
        ),
    }
    n_otel, n_http = write_otel(paths["otel"], part["otel"], rng, texts)
    n_cli, cli_bad, n_summary = write_cli(
        paths["cli"], dev, rng, texts, bad.get("cli", []), seed=seed, day=stamp
    )
    written |= {"otel": (n_otel, []), "cli": (n_cli, cli_bad)}
    # A day's log file is closed just after midnight UTC (never later than now), as a rotated
    # log is: the Dagster gateway assets read only files written since their window began.
    closed = min(datetime.combine(day + timedelta(days=1), time(0, 10), UTC), datetime.now(UTC))
    for path in paths.values():
        os.utime(path, (closed.timestamp(), closed.timestamp()))
    tally.skipped[NON_GENAI] += n_http
    tally.skipped[SUMMARIES] += n_summary
    for source, (valid, broken) in written.items():
        tally.counts[SOURCE_DIRS[source]] += valid
        name = paths[source].relative_to(out).as_posix()
        tally.malformed += [{"file": name, "line": n, "reason_kind": k} for n, k in broken]
    tally.files += paths.values()
