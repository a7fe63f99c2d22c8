"""`generate()`: a deterministic demo landing zone of AI usage logs for Acme Robotics, with labels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson

from bimo.demo.anomalies import Day, inject, plan
from bimo.demo.company import FORMATS, catalogue
from bimo.demo.content import Texts
from bimo.demo.files import SOURCE_DIRS, prepare
from bimo.demo.malformed import plan_malformed
from bimo.demo.traffic import simulate_dev, simulate_prod
from bimo.demo.writer_litellm import write_litellm
from bimo.demo.writer_otel import write_otel
from bimo.demo.writers import write_cli, write_gateway

GZIP_EVERY = 7  # every 7th day of the gateway log is gzipped, as a log rotator would leave it


@dataclass(frozen=True)
class GenerateResult:
    """What `generate` wrote. `counts` are valid request records per source folder."""

    out_dir: Path
    start: date
    end: date
    requests: int
    files: list[Path]
    labels_path: Path
    counts: dict[str, int]
    malformed: int
    skipped: dict[str, int] = field(default_factory=dict)  # lines a loader must skip, not quarantine


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
    malformed records. Same arguments, byte-identical files."""
    if days < 1 or requests_per_day < 1:
        raise ValueError("days and requests_per_day must be positive")
    end = end or datetime.now(UTC).date() - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    out = Path(out)
    prepare(out)
    cat = catalogue()
    anomalies = plan(days, start.weekday(), np.random.default_rng([seed, 1]))
    bad = plan_malformed(np.random.default_rng([seed, 2]), days, requests_per_day)
    counts = dict.fromkeys(SOURCE_DIRS.values(), 0)
    skipped = {"otel-genai/non_genai_spans": 0, "cli-log/summary_lines": 0}
    files: list[Path] = []
    malformed: list[dict[str, object]] = []

    for i in range(days):
        day = start + timedelta(days=i)
        stamp = day.isoformat()
        day_us = (day - date(1970, 1, 1)).days * 86_400_000_000
        rng = np.random.default_rng([seed, 3, day.toordinal()])
        dev = simulate_dev(rng, day_us, requests_per_day, i, days, day.weekday())
        prod = simulate_prod(rng, cat, day_us, requests_per_day, i, days, day.weekday())
        today = Day(np.random.default_rng([seed, 4, day.toordinal()]), cat, day_us, prod, dev)
        for a in anomalies:
            if a.covers(i):
                inject(a, i - a.start, today)
        prod, dev = today.prod.sorted(), today.dev.sorted()
        wrng = np.random.default_rng([seed, 5, day.toordinal()])
        texts = Texts(wrng)
        fmt = cat.stream_format[prod.stream]

        gz = ".gz" if i % GZIP_EVERY == GZIP_EVERY - 1 else ""
        paths = {
            "gateway": out / SOURCE_DIRS["gateway"] / f"requests-{stamp}.jsonl{gz}",
            "litellm": out / SOURCE_DIRS["litellm"] / f"spend-logs-{stamp}.json",
            "otel": out / SOURCE_DIRS["otel"] / f"traces-{stamp}.jsonl",
            "cli": out / SOURCE_DIRS["cli"] / f"usage-{stamp}.jsonl",
        }
        part = {f: prod.take(np.flatnonzero(fmt == FORMATS.index(f))) for f in FORMATS}
        results = {
            "gateway": write_gateway(paths["gateway"], part["gateway"], wrng, texts, bad.get(("gateway", i), [])),
            "litellm": write_litellm(paths["litellm"], part["litellm"], wrng, texts, cat,
                                     bad.get(("litellm", i), [])),
        }  # fmt: skip
        n_otel, n_http = write_otel(paths["otel"], part["otel"], wrng, texts)
        n_cli, cli_bad, n_summary = write_cli(paths["cli"], dev, wrng, texts, bad.get(("cli", i), []),
                                              seed=seed, day=stamp)  # fmt: skip
        results["cli"] = (n_cli, cli_bad)
        counts[SOURCE_DIRS["otel"]] += n_otel
        skipped["otel-genai/non_genai_spans"] += n_http
        skipped["cli-log/summary_lines"] += n_summary
        for source, (valid, broken) in results.items():
            counts[SOURCE_DIRS[source]] += valid
            rel = paths[source].relative_to(out).as_posix()
            malformed += [{"file": rel, "line": line, "reason_kind": kind} for line, kind in broken]
        files += paths.values()
        if progress:
            progress(i + 1, days)

    labels_path = out / "labels.json"
    labels = {
        "start": start.isoformat(), "end": end.isoformat(), "seed": seed,
        "requests_per_day": requests_per_day,
        "anomalies": [a.label(start) for a in anomalies],
        "malformed": malformed, "counts": counts, "skipped": skipped,
    }  # fmt: skip
    labels_path.write_bytes(orjson.dumps(labels, option=orjson.OPT_INDENT_2) + b"\n")
    return GenerateResult(
        out_dir=out, start=start, end=end, requests=sum(counts.values()), files=files,
        labels_path=labels_path, counts=counts, malformed=len(malformed), skipped=skipped,
    )  # fmt: skip
