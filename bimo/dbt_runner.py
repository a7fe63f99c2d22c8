"""Run `dbt build` against the configured warehouse (used by `bimo load` and `bimo build`)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bimo.settings import DBT_PROJECT_DIR, Settings

DBT = str(Path(sys.executable).parent / "dbt")


@dataclass
class DbtResult:
    """Outcome of one dbt invocation, read from its run_results.json."""

    ok: bool
    models: int
    tests: int
    failures: list[str]
    output_tail: str
    target: Path  # the build's target folder: its manifest.json and run_results.json


def target_path(settings: Settings) -> Path:
    """dbt's target folder for builds of this warehouse. Builds of two warehouses at once (test
    workers, a second warehouse) then never read each other's run results half-written, and
    each warehouse keeps its own partial-parse cache (dbt parses everything again when
    BIMO_WAREHOUSE changes). Builds of one warehouse queue on its writer lock."""
    digest = hashlib.sha256(str(settings.warehouse).encode()).hexdigest()[:16]
    return DBT_PROJECT_DIR / "target" / "warehouses" / digest


def fresh_target(settings: Settings, target: Path | None = None) -> Path:
    """The warehouse's target folder (or `target`), made, without an earlier build's run results
    (a build that dies early must not report the last one's)."""
    target = target or target_path(settings)
    target.mkdir(parents=True, exist_ok=True)
    (target / "run_results.json").unlink(missing_ok=True)
    return target


WINDOW_ENV = ("BIMO_WINDOWED", "BIMO_WINDOW_START", "BIMO_WINDOW_END")


def dbt_build_args(window: tuple[date, date] | None) -> list[str]:
    """`dbt build`'s arguments for a run with this window (its days go in `window_env`). A
    windowed (scheduled, partitioned) run leaves out the unit tests: they test model logic on
    fixed inputs, not the day's data, and a full build, `make test` and CI run them (2–3 s of
    every daily run)."""
    if window is None:
        return ["build"]
    return ["build", "--exclude-resource-type", "unit_test"]


def window_env(window: tuple[date, date] | None) -> dict[str, str]:
    """The window as the environment variables `macros/window.sql` reads: BIMO_WINDOWED=1 and
    the days, end exclusive; empty values for no window (the models rebuild in full). Not
    `--vars`: new vars make dbt parse the whole project again. Parsing reads only
    BIMO_WINDOWED, the same every day, and the days are read when the models run, so a new
    day's window re-parses nothing (docs/benchmarks.md items 4 and 15)."""
    if window is None:
        return dict.fromkeys(WINDOW_ENV, "")
    days = (window[0].isoformat(), window[1].isoformat())
    return dict(zip(WINDOW_ENV, ("1", *days), strict=True))


def dbt_build(settings: Settings, *args: str, window: tuple[date, date] | None = None) -> DbtResult:
    """`dbt build` against the settings' warehouse, rebuilding the per-request models for
    `window`'s days only when given (the caller holds the writer lock). A window set in this
    process's environment is never inherited: without `window` the build is full."""
    env = {
        **os.environ,
        **window_env(window),
        "BIMO_WAREHOUSE": str(settings.warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    cmd = [
        DBT,
        "build",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        *args,
    ]
    if "--target-path" in args:
        target = fresh_target(settings, Path(args[args.index("--target-path") + 1]))
    else:
        target = fresh_target(settings)
        cmd += ["--target-path", str(target)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    results_path = target / "run_results.json"
    models = tests = 0
    failures: list[str] = []
    if results_path.exists():
        for r in json.loads(results_path.read_text())["results"]:
            kind = r["unique_id"].split(".")[0]
            if r["status"] in ("success", "pass"):
                models += kind == "model"
                tests += kind in ("test", "unit_test")
            elif r["status"] not in ("skipped",):
                failures.append(f"{r['unique_id']}: {r['status']} {r.get('message') or ''}".strip())
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
    return DbtResult(proc.returncode == 0, models, tests, failures, tail, target)
