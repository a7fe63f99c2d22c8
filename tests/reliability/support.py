"""Shared helpers of the reliability suite: one small demo company, warehouses built from it once
per test session (shared by the xdist workers through a file lock), the product's own load, build,
analytics and backfill paths (the checksums that compare warehouses are in `checksums.py`).

Every scenario ends comparing those checksums against a clean load of the same final data into
a fresh warehouse.
"""

from __future__ import annotations

import csv
import fcntl
import gzip
import io
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from bimo.settings import PROJECT_ROOT, Settings, get_settings

BIMO = str(Path(sys.executable).parent / "bimo")
START, END = date(2026, 10, 11), date(2026, 10, 31)  # 21 demo days
DEMO = {"days": 21, "requests_per_day": 20, "seed": 11, "end": END}
MONTH = "2026-10"
# Environment that would make a run pull live APIs or use a persistent Dagster instance.
NOT_INHERITED = (
    *("OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY", "GITHUB_TOKEN", "SLACK_TOKEN", "ZOOM_TOKEN"),
    *("BIMO_LANDING_URL", "DAGSTER_HOME", "BIMO_BUDGETS", "BIMO_ALERT_CHANNELS"),
)


# Every source kind, as the `bimo load` invocations (source, paths under the landing folder)
# that load it. The demo's `billing/focus-azure/` is a FOCUS export too.
SOURCE_KINDS: dict[str, list[tuple[str, list[str]]]] = {
    "bimo-gateway": [("bimo-gateway", ["bimo-gateway"])],
    "litellm": [("litellm", ["litellm"])],
    "otel-genai": [("otel-genai", ["otel-genai"])],
    "cli-log": [("cli-log", ["cli-log"])],
    "billing-files": [
        ("focus", ["billing/focus-aws", "billing/focus-gcp", "billing/focus-azure"]),
        ("aws-cur", ["billing/aws-cur"]),
    ],
    "billing-api-pages": [
        ("openai-costs", ["billing-api/openai/costs.json"]),
        ("openai-usage", ["billing-api/openai/usage-completions.json"]),
        ("anthropic-costs", ["billing-api/anthropic/cost_report.json"]),
        ("anthropic-usage", ["billing-api/anthropic/usage-messages.json"]),
    ],
    "saas-snapshots": [
        (source, [f"saas/{source}"])
        for source in (
            *("github-copilot-seats", "github-copilot-billing", "github-billing-usage"),
            *("slack-billable", "zoom-users", "zoom-daily-report", "saas-invoices"),
        )
    ],
}

# The scenarios of each file (the tests parametrise over these; the README cites SCENARIOS).
IDEMPOTENCY_PATHS = ("reload_and_rebuild", "backfill_twice")
RESTATEMENTS = ("billing_redelivery", "api_day_repulled", "late_gateway_logs")
# `dlt_copy_unrecorded`: killed after dlt committed a copy into the staging table and before it
# recorded that: the resumed load copies that file again.
CRASH_STAGES = ("dlt_load", "dlt_copy_unrecorded", "dbt_build", "analytics")
# `bimo run` killed mid-step; a run launched as the daemon and the UI launch one (the job's own
# executor, `launch_daily`) killed mid-step
DAGSTER_CRASHES = ("bimo_run_holding_the_writer_slot", "launched_run_holding_the_writer_slot")
CONCURRENCY = ("readers_during_write", "writers_started_together")
SCENARIOS = {
    "idempotency": len(SOURCE_KINDS) + len(IDEMPOTENCY_PATHS),
    "restatements": len(RESTATEMENTS),
    "crashes": len(CRASH_STAGES) + len(DAGSTER_CRASHES),
    "concurrency": len(CONCURRENCY),
}

# The restated FOCUS delivery: the AWS month delivered again on 15 November with changed costs
# and lines removed (see `write_redelivery`).
REDELIVERY_KEY = "focus|001234567890|2026-10"
REDELIVERED_AT = datetime(2026, 11, 15, 5, tzinfo=UTC)


def month_totals(con: duckdb.DuckDBPyConnection) -> tuple:
    """What a reader sees of October's billing, from two marts in one snapshot: the restated AWS
    delivery in the line items, and all billed spend in the daily cost mart."""
    return con.execute(
        "select (select sum(cost_usd) from marts.fct_cost_line_items where delivery_key = ?), "
        "(select sum(cost_usd) from marts.fct_daily_cost where source_tag = 'billing' "
        "and strftime(charge_date, '%Y-%m') = ?)",
        [REDELIVERY_KEY, MONTH],
    ).fetchall()[0]


def snapshot_totals(settings: Settings) -> tuple:
    """`month_totals` through the readers' path (the published read copy)."""
    from bimo.warehouse import read_connection

    con = read_connection(settings)
    try:
        return month_totals(con)
    finally:
        con.close()


# --- sharing builds between tests and xdist workers -------------------------------------------


def shared_root(tmp_path_factory) -> Path:
    """A folder every worker of this pytest session sees (xdist: the workers' common parent)."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "reliability"
    root.mkdir(parents=True, exist_ok=True)
    return root


def shared(root: Path, name: str, make: Callable[[Path], None]) -> Path:
    """`root/name`, made once by `make(folder)` by whichever worker asks first (the others wait
    on a file lock, then reuse it)."""
    target = root / name
    with open(root / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".done").exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            make(target)
            (target / ".done").touch()
    return target


def clone(built: Path, dest: Path) -> Settings:
    """A private copy of a built warehouse (and its published read copy) under `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    assert not (built / "warehouse.duckdb.wal").exists(), "shared warehouses are checkpointed"
    for name in ("warehouse.duckdb", "warehouse.read.duckdb"):
        shutil.copy2(built / name, dest / name)
    return get_settings(dest / "warehouse.duckdb")


# --- the product's paths ----------------------------------------------------------------------


@contextmanager
def bimo_env(settings: Settings, landing: Path | None = None) -> Iterator[None]:
    """Point the in-process product (Dagster assets read the environment) at `settings`' warehouse
    and `landing`; no live APIs, an ephemeral Dagster instance. Restores the environment."""
    saved = dict(os.environ)
    for key in NOT_INHERITED:
        os.environ.pop(key, None)
    os.environ.update(
        BIMO_WAREHOUSE=str(settings.warehouse),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        RUNTIME__DLTHUB_TELEMETRY="false",
    )
    if landing is not None:
        os.environ["BIMO_LANDING_DIR"] = str(landing)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `bimo` subprocess: like `bimo_env`."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(
        BIMO_WAREHOUSE=str(settings.warehouse),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        RUNTIME__DLTHUB_TELEMETRY="false",
        PYTHONPATH=str(PROJECT_ROOT),
    )
    return {**env, **extra}


def cli(settings: Settings, *args: str) -> None:
    """`bimo <args> --warehouse <settings' warehouse>` in this process; must exit 0."""
    from bimo.cli import main

    with bimo_env(settings):
        code = main([*args, "--warehouse", str(settings.warehouse)])
    assert code == 0, f"bimo {' '.join(args)} exited {code}"


def load_kind(settings: Settings, landing: Path, kind: str, *, build: bool = False) -> None:
    """`bimo load` every source of one kind from the landing folder."""
    invocations = SOURCE_KINDS[kind]
    for i, (source, paths) in enumerate(invocations):
        last = build and i == len(invocations) - 1
        cli(
            settings,
            "load",
            source,
            *(str(landing / p) for p in paths),
            *([] if last else ["--no-build"]),
        )


def load_all(settings: Settings, landing: Path) -> None:
    """`bimo load --no-build` of every source kind (gateway, billing files, API pages, SaaS)."""
    for kind in SOURCE_KINDS:
        load_kind(settings, landing, kind)


def run_job(
    settings: Settings,
    job: str,
    *,
    landing: Path | None = None,
    only: str | None = None,
    partition_key: str | None = None,
):
    """Run a Dagster job in process on an ephemeral instance (`only`: the assets under one key
    prefix); must succeed."""
    import dagster as dg

    from orchestration.definitions import defs

    definition = defs.resolve_job_def(job)
    keys = definition.asset_layer.executable_asset_keys
    selection = None if only is None else sorted(k for k in keys if k.path[0] == only)
    with bimo_env(settings, landing):
        result = definition.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(),
            asset_selection=selection,
            partition_key=partition_key,
            raise_on_error=False,
        )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def build_marts_and_analytics(settings: Settings) -> None:
    """The `bimo_marts` job: every dbt model in full, then every analytics asset."""
    run_job(settings, "bimo_marts")


def run_analytics(settings: Settings) -> None:
    """The analytics step alone (the analytics assets of `bimo_marts`)."""
    run_job(settings, "bimo_marts", only="analytics")


def backfill(settings: Settings, landing: Path, start: date = START, end: date = END) -> None:
    """What `bimo backfill --source all` runs: the billing months, then the daily job over the
    range, one Dagster run each (ephemeral instance)."""
    from orchestration.run import run_range

    with bimo_env(settings, landing):
        results = run_range(start, end)
    failures = [e.message for r in results for e in r.all_events if e.is_failure]
    assert len(results) == 2 and all(r.success for r in results), failures


def reference_build(settings: Settings) -> None:
    """A clean build for comparison (dbt models only; the tests of the product path run dbt's
    tests, a reference need not)."""
    from bimo.dbt_runner import dbt_build
    from bimo.warehouse import publish_snapshot, writer_lock
    from ingestion.tables import ensure_raw_tables

    with writer_lock(settings):
        ensure_raw_tables(settings)
        result = dbt_build(settings, "--exclude-resource-type", "test", "unit_test")
        assert result.ok, result.failures or result.output_tail
        publish_snapshot(settings, locked=True)


# --- the shared data and builds ----------------------------------------------------------------


def make_landing(folder: Path) -> None:
    from bimo.demo import generate

    generate(folder, **DEMO)


def write_redelivery(landing: Path, folder: Path) -> Path:
    """The AWS FOCUS month of the demo delivered again later: every 7th line removed and every
    3rd line's costs up 25 %; returns the folder holding the one new file."""
    source = landing / "billing/focus-aws/acme-focus/data/BILLING_PERIOD=2026-10"
    final = sorted(source.glob("acme-focus-20261101T*.csv.gz"))[-1]
    reader = csv.DictReader(io.StringIO(gzip.decompress(final.read_bytes()).decode()))
    rows = [r for i, r in enumerate(reader) if i % 7 != 3]
    for i, row in enumerate(rows):
        if i % 3 == 0:
            for col in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
                if row[col]:
                    row[col] = str(Decimal(row[col]) * Decimal("1.25"))
    out = folder / "BILLING_PERIOD=2026-10" / "acme-focus-20261115T050000Z-00001.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=reader.fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    stamp = REDELIVERED_AT.timestamp()
    os.utime(out, (stamp, stamp))  # a later delivery of the same month outranks the first
    return out.parent


def redelivery_total(folder: Path) -> Decimal:
    """The BilledCost of the re-delivered file (USD): what the month must add up to."""
    (path,) = folder.rglob("*.csv")
    with path.open() as fh:
        return sum((Decimal(r["BilledCost"]) for r in csv.DictReader(fh)), Decimal(0))


def make_raw(landing: Path) -> Callable[[Path], None]:
    """Every demo file loaded with `bimo load --no-build`, nothing built: what every clean
    load starts from (a clone of it is a fresh load of the same files)."""

    def make(folder: Path) -> None:
        load_all(get_settings(folder / "warehouse.duckdb"), landing)

    return make


def make_built(raw: Path, *extra: tuple[str, Path]) -> Callable[[Path], None]:
    """`raw` plus the `extra` (source, path) loads, then the `bimo_marts` job (every model in
    full, every analytics asset)."""

    def make(folder: Path) -> None:
        settings = clone(raw, folder)
        for source, path in extra:
            cli(settings, "load", source, str(path), "--no-build")
        build_marts_and_analytics(settings)

    return make


def write_json(path: Path, doc: object, *, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, default=str))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


# --- crashes: a subprocess that stops at a known point, to be killed there ----------------------

CRASH_DRIVER = "from tests.reliability.crash_driver import main; main()"


def wait_for(check: Callable[[], object], proc, *, what: str, timeout_s: float = 180) -> object:
    """Poll `check()` until it returns something truthy; fail if `proc` exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"exited {proc.returncode} before {what}:\n{out[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def daily_job():
    """The daily job, rebuilt from its module in whichever process runs it (`launch_daily`)."""
    from orchestration.definitions import defs

    return defs.resolve_job_def("bimo_daily")


def launch_daily(day: str) -> None:
    """Run the daily job for `day` as Dagster's run worker does for a run the daemon or the UI
    launched: the job rebuilt from its module, with the executor its definitions give it (not
    `execute_in_process`, which is always in one process)."""
    import dagster as dg

    from orchestration.run import PARTITION_RANGE_END, PARTITION_RANGE_START

    tags = {PARTITION_RANGE_START: day, PARTITION_RANGE_END: day}
    result = dg.execute_job(
        dg.reconstructable(daily_job), dg.DagsterInstance.get(), tags=tags, raise_on_error=False
    )
    sys.exit(0 if result.success else 1)
