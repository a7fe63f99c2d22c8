"""End to end per scale (generate → load → dbt build → analytics → publish) and the one-day
increment on top of the loaded history. Each stage is its own process (`harness.run_task`).

A scale's data is `days + 1` generated days: the first `days` are the history, the last one the
increment. Stage results are saved in `<work>/<scale>/runN/state.json`, so a long scale can be run
in several bounded invocations (`--resume` with `--budget-min`: no new stage starts once the
invocation has run that long).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import monotonic

from harness import load_average, peak_rss_mb, run_task
from pipeline import LOG_SOURCES
from scale_summary import NATIVE, summarise_increment, summarise_scale

END = date(2026, 10, 31)  # the increment day; fixed so every run generates the same bytes
# A daily run finds dbt's partial-parse cache as the day before's run left it (its window), so
# the timed increments and Dagster runs start from that, not from the same day's cache.
DAY_BEFORE = [(END - timedelta(days=1)).isoformat(), END.isoformat()]
SEED = 7


@dataclass(frozen=True)
class Scale:
    name: str
    days: int
    requests_per_day: int  # prod requests per day; dev CLI traffic and growth come on top
    # L's uncompressed landing files (53.7 GB) and warehouse with its read copy (27 GB) do not
    # fit this machine's disk together: its log files are gzipped as they would be rotated.
    gzip_logs: bool = False
    # DuckDB's native read of OTLP held 4.9 GB at M and grows with the input: not at L.
    native: bool = True
    task_timeout_s: float = 900  # a longer stage is stopped (L: 28 min to generate and gzip)

    @property
    def history(self) -> tuple[str, str]:
        return (END - timedelta(days=self.days)).isoformat(), (END - timedelta(days=1)).isoformat()


# requests ≈ 1.19 × days × requests_per_day (dev share and the demo's growth over the window)
SCALES = {
    "XS": Scale("XS", 14, 150),
    "Q": Scale("Q", 30, 1_000),
    "S": Scale("S", 90, 9_300),
    "M": Scale("M", 90, 93_000),
    "L": Scale("L", 90, 465_000, gzip_logs=True, native=False, task_timeout_s=3600),
    # S's and M's requests spread over a year of history (the issue's increment: "with a year of
    # history loaded"): the same rows in 4× the days, so the increment's day is a quarter of S's
    # or M's and the series the analytics fit are 4× as long.
    "S-year": Scale("S-year", 365, 2_300),
    "M-year": Scale("M-year", 365, 23_000),
}


def stage_plan(
    scale: Scale, run: Path, landing: Path, target: Path
) -> list[tuple[str, str, str, dict]]:
    """(group, stage name, task, kwargs) in order."""
    w, lnd = str(run), str(landing)
    new_day = END.isoformat()
    plan: list[tuple[str, str, str, dict]] = [
        (
            "generate",
            "generate",
            "pipeline:generate_data",
            {
                "landing": lnd,
                "days": scale.days + 1,
                "requests_per_day": scale.requests_per_day,
                "seed": SEED,
                "end": new_day,
            }
            | ({"gzip_logs": True} if scale.gzip_logs else {}),
        ),
    ]
    for source in LOG_SOURCES:
        kw = {"work": w, "landing": lnd, "sources": [source], "days": scale.history}
        plan.append(("load", f"load {source}", "pipeline:load_logs", kw))
        if not scale.native:
            continue
        # not a pipeline stage: DuckDB reading the same files natively, for the ratio
        kw = {"source": source, "landing": lnd, "days": scale.history, "work": f"{w}-native"}
        plan.append(("load", f"{NATIVE}{source}", "ingest_formats:native_history", kw))
    plan += [
        ("load", "load billing", "pipeline:load_billing", {"work": w, "landing": lnd}),
        (
            "load",
            "load saas",
            "pipeline:load_saas",
            {"work": w, "landing": lnd, "days": scale.history},
        ),
        ("build", "dbt build", "pipeline:dbt_build", {"work": w, "target": str(target)}),
        ("build", "analytics", "pipeline:analytics", {"work": w}),
        ("build", "publish", "pipeline:publish", {"work": w}),
    ]
    return plan


def increment_plan(run: Path, landing: Path, target: Path) -> list[tuple[str, str, dict]]:
    """One new day, as the daily job runs it: the day's files of every log source in one dlt
    run, its SaaS snapshots, `dbt build` with the day as its window (the per-request models
    rebuild that day only), analytics and publish."""
    w, lnd, day = str(run), str(landing), (END.isoformat(), END.isoformat())
    window = [END.isoformat(), (END + timedelta(days=1)).isoformat()]
    plan = [
        (
            "load logs",
            "pipeline:load_logs",
            {"work": w, "landing": lnd, "sources": list(LOG_SOURCES), "days": day},
        ),
    ]
    plan += [
        ("load saas", "pipeline:load_saas", {"work": w, "landing": lnd, "days": day}),
        ("dbt build", "pipeline:dbt_build", {"work": w, "target": str(target), "window": window}),
        ("analytics", "pipeline:analytics", {"work": w}),
        ("publish", "pipeline:publish", {"work": w}),
    ]
    return plan


def _state(path: Path) -> dict:
    path = path if path.suffix == ".json" else path / "state.json"
    if path.exists():
        return json.loads(path.read_text())
    return {"stages": {}, "increments": [], "runs": []}


def _save(run: Path, state: dict) -> None:
    (run / "state.json").write_text(json.dumps(state, indent=1, default=str))


def run_scale(
    scale: Scale,
    work: Path,
    *,
    n: int,
    increments: int,
    resume: bool = False,
    budget_s: float | None = None,
    window_load: bool = False,
    dagster_day: bool = False,
    meta: dict | None = None,
    log=print,
) -> dict | None:
    """`n` full runs of the scale (each from a fresh warehouse; data generated per run) and
    `increments` one-day increments on the last run's warehouse. None when stopped early: no
    stage starts after `budget_s` seconds (resume later with `resume=True`).
    `window_load`: also time the Dagster daily asset's way of loading that day (every landing
    file parsed, rows outside the day dropped). `dagster_day`: also run the day through the
    Dagster daily job in one process, as `bimo run` does (after the increments: the same day)."""
    started = monotonic()

    def out_of_budget() -> bool:
        return budget_s is not None and monotonic() - started > budget_s

    root = work / scale.name
    root.mkdir(parents=True, exist_ok=True)
    calls = root / "invocations.json"
    invocations = json.loads(calls.read_text()) if resume and calls.exists() else []
    listed = False

    def timed(name: str, **kwargs) -> dict:
        """`run_task` for a measured task; the first to finish lists this invocation (a scale
        taken in several bounded invocations lists each that measured something). Set-up
        tasks (parse caches, forgetting the day) call `run_task` and list nothing."""
        nonlocal listed
        result = run_task(name, timeout_s=scale.task_timeout_s, **kwargs)
        if meta and not listed:
            invocations.append(
                {k: meta.get(k) for k in ("command", "load_average_start", "yardstick_s")}
                | {"date": meta["machine"]["date"]}
            )
            calls.write_text(json.dumps(invocations))
            listed = True
        return result

    # One warehouse path per scale: dbt parses everything again when BIMO_WAREHOUSE changes.
    run, target, landing = root / "run", root / "dbt_target", root / "landing"
    if not (target / "partial_parse.msgpack").exists():
        run_task("pipeline:dbt_parse", work=str(run), target=str(target))
    runs = _state(root / "done.json")["runs"] if resume else []
    for i in range(len(runs), n):
        if not resume and run.exists():
            shutil.rmtree(run)
        run.mkdir(parents=True, exist_ok=True)
        resume = True  # only the first run may continue from a saved state
        state = _state(run)
        if state.get("run_index", i) != i:  # a finished earlier run left behind: start afresh
            shutil.rmtree(run)
            run.mkdir(parents=True)
            state = _state(run)
        state["run_index"] = i
        for _group, name, task, kwargs in stage_plan(scale, run, landing, target):
            if name in state["stages"]:
                continue
            if out_of_budget():
                return None
            log(f"  {scale.name} run {i + 1}/{n}: {name} (load average {load_average()})")
            state["stages"][name] = timed(task, **kwargs) | {"load_average": load_average()}
            _save(run, state)
        runs.append(state)
        (root / "done.json").write_text(json.dumps({"runs": runs}, default=str))
        if i < n - 1:
            shutil.rmtree(run)  # every run starts from an empty warehouse at the same path
    last = run
    state = _state(last)

    def increment() -> dict:
        """One day's stages, timed, after a parse of the day before's window (not timed)."""
        run_task("pipeline:dbt_parse", work=str(last), target=str(target), window=DAY_BEFORE)
        return {
            name: timed(task, **kwargs) | {"load_average": load_average()}
            for name, task, kwargs in increment_plan(last, root / "landing", target)
        }

    if increments and not state["increments"]:  # the day is new even if a run was cut short
        run_task("setup_tasks:forget_day", work=str(last), day=END.isoformat())
    for k in range(len(state["increments"]), increments):
        if out_of_budget():
            return None
        log(f"  {scale.name} increment {k + 1}/{increments} (load average {load_average()})")
        state["increments"].append(increment())
        _save(last, state)
    if increments and "origin_day" not in state:  # the day in seven the backtest fits an origin
        if out_of_budget():
            return None
        log(f"  {scale.name}: the increment on the day its backtest's newest origin is new")
        run_task("setup_tasks:forget_newest_origin", work=str(last))
        state["origin_day"] = increment()
        _save(last, state)
    if window_load and "window_load" not in state:
        if out_of_budget():
            return None
        log(f"  {scale.name}: the daily asset's load (every landing file, one day's window)")
        start = datetime.combine(END, time(), UTC)
        state["window_load"] = timed(
            "pipeline:load_logs",
            work=str(last),
            landing=str(landing),
            sources=list(LOG_SOURCES),
            window=(start.isoformat(), (start + timedelta(days=1)).isoformat()),
        ) | {"load_average": load_average()}
        _save(last, state)
    # Dagster's first run on the warehouse the stages built, then the next: the first would
    # rebuild every day if that full build had recorded no inputs fingerprint.
    for key in ("dagster_first", "dagster_day") if dagster_day else ():
        if key in state:
            continue
        if out_of_budget():
            return None
        log(f"  {scale.name}: the day through the Dagster daily job, one process ({key})")
        run_task("pipeline:dbt_parse", work=str(last), window=DAY_BEFORE)  # its target folder
        state[key] = timed(
            "pipeline:dagster_day", work=str(last), landing=str(landing), day=END.isoformat()
        ) | {"load_average": load_average()}
        _save(last, state)
    out = summarise_scale(scale, runs, state["increments"], last) | {"invocations": invocations}
    if "origin_day" in state:  # n=1
        out["origin_day"] = summarise_increment([state["origin_day"]])
    for key in ("window_load", "dagster_first", "dagster_day"):  # single runs (n=1)
        if key in state:
            run = state[key]
            out[key] = {k: run[k] for k in ("seconds", "process_s", "result")}
            out[key] |= {"peak_rss_mb": peak_rss_mb(run), "n": 1}
    return out
