"""The `bimo` command line."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bimo.cli_analytics import add_analytics_commands
from bimo.cli_ops import add_ops_commands
from bimo.settings import Settings, get_settings

DEMO_API_ENV = (
    "BIMO_OPENAI_API_BASE",
    "BIMO_ANTHROPIC_API_BASE",
    "OPENAI_ADMIN_KEY",
    "ANTHROPIC_ADMIN_KEY",
    "BIMO_GITHUB_API_BASE",
    "BIMO_SLACK_API_BASE",
    "BIMO_ZOOM_API_BASE",
    "GITHUB_TOKEN",
    "SLACK_TOKEN",
    "ZOOM_TOKEN",
    "BIMO_GITHUB_ORG",
)
console = Console(width=None if sys.stdout.isatty() else 120)
SOURCES = (
    *("bimo-gateway", "litellm", "otel-genai", "cli-log"),
    *("focus", "aws-cur", "azure", "gcp", "oci"),
    *("openai-costs", "openai-usage", "anthropic-costs", "anthropic-usage"),
    *("github-copilot-seats", "github-copilot-billing", "github-billing-usage"),
    *("slack-billable", "zoom-users", "zoom-daily-report", "saas-invoices"),
)

EXAMPLES = """examples:
  bimo generate --out data/demo --days 90
  bimo load litellm exports/spend_logs.json
  bimo load focus exports/focus/ --no-build
  bimo load openai-costs saved/costs-page-*.json
  bimo load bimo-gateway 'logs/**/*.jsonl.gz' --warehouse /tmp/w.duckdb
  bimo sql "select source_tag, sum(cost_usd) from marts.fct_daily_cost group by 1"
  bimo sql                                  # interactive prompt
  bimo status                               # freshness per source; exit 1 when one is stale
  bimo quarantine --source litellm
  bimo run                                  # yesterday, through Dagster
  bimo backfill --source aws-cur --start 2026-10-01 --end 2026-10-31
  bimo ui                                   # Dagster UI :3000 and dashboard :8501
  bimo demo
  bimo detect-anomalies metrics.csv --time-col ts --value-col requests --output scored.csv
  bimo forecast costs.csv --time-col date --value-col usd --horizon 30 --output forecast.csv
"""


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def cmd_generate(args: argparse.Namespace) -> int:
    from bimo.demo import generate

    with _progress() as bar:
        task = bar.add_task("generating days", total=args.days)
        result = generate(
            Path(args.out),
            days=args.days,
            requests_per_day=args.requests_per_day,
            seed=args.seed,
            end=args.end,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    console.print(
        f"wrote {result.requests:,} requests ({result.start} .. {result.end}) in "
        f"{len(result.files)} files under {result.out_dir}; ground truth in {result.labels_path}"
    )
    return 0


def _build(settings: Settings) -> bool:
    from bimo.dbt_fingerprint import record_full_build
    from bimo.dbt_runner import dbt_build
    from bimo.warehouse import publish_snapshot, writer_lock
    from ingestion.tables import ensure_raw_tables

    with console.status("rebuilding marts (dbt build)…"), writer_lock(settings):
        ensure_raw_tables(settings)
        result = dbt_build(settings)
        if result.ok:
            # a full build: the next scheduled (windowed) run may rebuild its days only
            record_full_build(settings, result.target / "manifest.json")
            publish_snapshot(settings, locked=True)
    if not result.ok:
        console.print("[red]dbt build failed:[/]")
        for f in result.failures[:20]:
            console.print(f"  {f}")
        console.print(result.output_tail)
        return False
    console.print(f"marts rebuilt: {result.models} models, {result.tests} tests passed")
    return True


def cmd_load(args: argparse.Namespace) -> int:
    from bimo.cli_load import load_command

    settings = get_settings(args.warehouse)
    code = load_command(args.source, args.paths, settings, console, _progress)
    if code is not None:
        return code
    if args.no_build:
        from bimo.warehouse import publish_snapshot

        publish_snapshot(settings)
        console.print("marts not rebuilt (--no-build)")
        return 0
    return 0 if _build(settings) else 1


def cmd_build(args: argparse.Namespace) -> int:
    return 0 if _build(get_settings(args.warehouse)) else 1


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the demo company, land its files, run the whole graph through Dagster."""
    import os

    from bimo.report import warehouse_summary

    settings = get_settings(args.warehouse)
    end = args.end or date.today() - timedelta(days=1)
    os.environ["BIMO_WAREHOUSE"] = str(settings.warehouse)
    args.out, args.end = str(settings.landing_dir), end
    if settings.landing_dir.exists():
        shutil.rmtree(settings.landing_dir)
    cmd_generate(args)
    from orchestration.run import run_range

    start = end - timedelta(days=args.days - 1)
    with (
        demo_apis(settings.landing_dir, end),
        console.status(
            f"running the Dagster jobs bimo_billing and bimo_daily for {start} .. {end}…"
        ),
    ):
        results = run_range(start, end)
    for result in results:
        if not result.success:
            for event in result.all_events:
                if event.is_failure:
                    console.print(f"[red]{event.message}[/]")
            return 1
        console.print(f"[green]Dagster run {result.run_id} ({result.job_def.name}) succeeded[/]")
    warehouse_summary(settings, console)
    console.print(
        "\nNext:\n  make ui      # Dagster UI http://127.0.0.1:3000 and dashboard http://127.0.0.1:8501\n"
        f'  .venv/bin/bimo sql "select * from marts.fct_daily_cost limit 10"\n'
        f"  labels (injected anomalies): {settings.landing_dir / 'labels.json'}"
    )
    return 0


@contextmanager
def demo_apis(landing: Path, day: date) -> Iterator[None]:
    """Serve the demo's OpenAI/Anthropic cost and usage APIs and its GitHub, Slack and Zoom APIs
    (seats as of `day`) on 127.0.0.1 and point the real clients at them (throwaway keys: the
    local servers only check that one is sent)."""
    import os

    from bimo.demo.api_server import serve_demo_apis
    from bimo.demo.saas import github
    from bimo.demo.saas_server import serve_saas_apis

    server, base_url = serve_demo_apis(landing)
    saved = {k: os.environ.get(k) for k in DEMO_API_ENV}
    os.environ.update(
        BIMO_OPENAI_API_BASE=base_url, BIMO_ANTHROPIC_API_BASE=base_url,
        OPENAI_ADMIN_KEY="demo-local-key", ANTHROPIC_ADMIN_KEY="demo-local-key",
    )  # fmt: skip
    console.print(f"demo billing APIs served at {base_url}")
    try:
        with serve_saas_apis(landing, day=day) as saas:
            os.environ.update(
                BIMO_GITHUB_API_BASE=saas.github, BIMO_SLACK_API_BASE=saas.slack,
                BIMO_ZOOM_API_BASE=saas.zoom, GITHUB_TOKEN="demo-local-token",
                SLACK_TOKEN="demo-local-token", ZOOM_TOKEN="demo-local-token",
                BIMO_GITHUB_ORG=github.ORG,
            )  # fmt: skip
            console.print(f"demo SaaS APIs served at {saas.url}")
            yield
    finally:
        server.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def cmd_summary(args: argparse.Namespace) -> int:
    from bimo.report import warehouse_summary

    warehouse_summary(get_settings(args.warehouse), console)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bimo",
        description="Bimo: a FinOps warehouse for AI, cloud and SaaS spend.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    wh = argparse.ArgumentParser(add_help=False)
    wh.add_argument(
        "--warehouse", help="DuckDB file (default: $BIMO_WAREHOUSE or data/warehouse.duckdb)"
    )
    gen = argparse.ArgumentParser(add_help=False)
    gen.add_argument("--days", type=int, default=90)
    gen.add_argument("--requests-per-day", type=int, default=1500)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--end", type=date.fromisoformat, help="last day (default: yesterday, UTC)")

    g = sub.add_parser(
        "generate",
        parents=[gen],
        help="write a demo company's logs",
        epilog="example: bimo generate --out data/demo --days 30 --seed 1",
    )
    g.add_argument("--out", required=True, help="output folder")
    g.set_defaults(fn=cmd_generate)

    ld = sub.add_parser(
        "load",
        parents=[wh],
        help="load log files, then rebuild the marts",
        epilog="example: bimo load litellm spend_logs.json 'more/*.json.gz'",
    )
    ld.add_argument("source", choices=SOURCES)
    ld.add_argument("paths", nargs="+", help="files, folders or globs")
    ld.add_argument("--no-build", action="store_true", help="load only; skip dbt build")
    ld.set_defaults(fn=cmd_load)

    b = sub.add_parser(
        "build", parents=[wh], help="rebuild the marts (dbt build)", epilog="example: bimo build"
    )
    b.set_defaults(fn=cmd_build)

    add_ops_commands(sub, wh)  # sql, status, quarantine, run, backfill, ui

    d = sub.add_parser(
        "demo",
        parents=[wh, gen],
        help="generate demo data and run the pipeline",
        epilog="example: bimo demo --days 60",
    )
    d.set_defaults(fn=cmd_demo)

    s = sub.add_parser(
        "summary",
        parents=[wh],
        help="tables, row counts, spend per source tag",
        epilog="example: bimo summary",
    )
    s.set_defaults(fn=cmd_summary)

    add_analytics_commands(sub, wh)  # detect-anomalies, forecast, anomalies list/ack
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
