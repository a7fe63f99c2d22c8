"""Operator commands of the `bimo` CLI: sql (one-shot and interactive), status, quarantine, run,
backfill and ui. `add_ops_commands` declares them on the CLI's subparsers; the work is done in
`bimo.sql_shell`, `bimo.source_health`, `bimo.dagster_runs` and `bimo.ui`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bimo.settings import get_settings
from bimo.source_health import EXPECTED_LAG_DAYS, KIND_LABELS, LAG_ENV, SOURCE_NAMES

console = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
STATUS_STYLE = {"fresh": "green", "stale": "bold red", "not loaded": "dim"}


def _error(message: str, code: int = 2) -> int:
    err.print(f"[red]error:[/] {escape(message)}")
    return code


def cmd_sql(args: argparse.Namespace) -> int:
    from bimo.sql import QueryError, run_query
    from bimo.sql_shell import Shell, write_result

    settings = get_settings(args.warehouse)
    if args.query is None:
        if args.output or args.format != "table":
            return _error("--format and --output apply to a query given on the command line")
        return Shell(settings, limit=args.limit, timeout_s=args.timeout).run()
    if args.format == "parquet" and not args.output:
        return _error("--format parquet needs --output FILE")
    if args.format == "table" and args.output:
        return _error("--output needs --format csv, json or parquet")
    try:
        frame = run_query(settings, args.query, limit=args.limit, timeout_s=args.timeout)
    except QueryError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        return 1
    write_result(frame, args.format, Path(args.output) if args.output else None)
    if args.output:
        rows = "row" if frame.height == 1 else "rows"
        err.print(f"wrote {frame.height:,} {rows} to {escape(args.output)}")
    if frame.height == args.limit:
        err.print(f"[yellow]stopped at the row limit ({args.limit:,} rows; see --limit)[/]")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from bimo.source_health import NoWarehouseError, source_status

    try:
        rows = source_status(
            get_settings(args.warehouse), as_of=args.as_of, overrides=args.expected_lag
        )
    except ValueError as exc:
        return _error(str(exc))
    except NoWarehouseError as exc:
        return _error(f"{exc}; run `bimo demo`, `bimo run` or `bimo load` first")
    stale = [r["source"] for r in rows if r["status"] == "stale"]
    if args.format == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        _status_table(rows, args.as_of or datetime.now(UTC).date())
        if stale:
            console.print(f"[bold red]stale:[/] {', '.join(stale)}")
    return 1 if stale else 0


def _status_table(rows: list[dict], as_of: date) -> None:
    table = Table(
        title=f"Sources as of {as_of} (UTC)", caption=_LAST_LOAD_NOTE, caption_justify="left"
    )
    table.add_column("source", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    for col in ("rows", "quarantined"):
        table.add_column(col, justify="right")
    for col in ("newest data", "lag (max)", "last load *", "status"):
        table.add_column(col, no_wrap=True)
    for r in rows:
        loaded = r["last_load_at"]
        lag = "" if r["lag_days"] is None else f"{r['lag_days']}d"
        table.add_row(
            r["source"],
            KIND_LABELS[r["kind"]],
            f"{r['rows']:,}",
            f"{r['quarantined']:,}" if r["quarantined"] else "",
            r["newest_data_date"] or "",
            f"{lag} (≤{r['expected_lag_days']}d)".strip(),
            loaded[:16].replace("T", " ") if loaded else "",
            f"[{STATUS_STYLE[r['status']]}]{r['status']}[/]",
        )
    console.print(table)


_LAST_LOAD_NOTE = (
    "* gateway: when rows were loaded; others: newest delivery (file time or API pull)"
)


def cmd_quarantine(args: argparse.Namespace) -> int:
    from bimo.source_health import NoWarehouseError, quarantine_report

    try:
        counts, examples = quarantine_report(
            get_settings(args.warehouse), source=args.source, limit=args.limit
        )
    except NoWarehouseError as exc:
        return _error(str(exc))
    scope = f" for {args.source}" if args.source else ""
    if args.format == "json":
        out = {"reasons": counts.to_dicts(), "examples": examples.to_dicts()}
        sys.stdout.write(json.dumps(out, indent=2, default=str) + "\n")
        return 0
    if counts.is_empty():
        console.print(f"no quarantined records{scope}")
        return 0
    table = Table(title=f"Quarantined records{scope}: {int(counts['rows'].sum()):,}")
    table.add_column("source", no_wrap=True)
    table.add_column("reason")
    table.add_column("rows", justify="right")
    table.add_column("last seen (UTC)", no_wrap=True)
    for source, reason, rows, last_seen in counts.iter_rows():
        table.add_row(source, escape(reason or ""), f"{rows:,}", f"{last_seen:%Y-%m-%d %H:%M}")
    console.print(table)
    console.print(f"Latest {examples.height} (file:line, source, reason):")
    for source, file, line, reason, _ in examples.iter_rows():
        console.print(f"  {escape(file)}:{line}  {source}  {escape(reason or '')}", soft_wrap=True)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    return _run_jobs(args, loads=None, command="run")


def cmd_backfill(args: argparse.Namespace) -> int:
    from bimo.dagster_runs import loads_for

    return _run_jobs(args, loads=loads_for(args.source), command="backfill")


def _run_jobs(args: argparse.Namespace, *, loads: list[str] | None, command: str) -> int:
    from bimo.dagster_runs import check_range, run_jobs

    settings = get_settings(args.warehouse)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    start, end = args.start or args.end or yesterday, args.end or args.start or yesterday
    try:
        check_range(settings, start, end)
    except ValueError as exc:
        return _error(str(exc))
    what = "all loads" if loads is None else f"{', '.join(loads)} loads"
    console.print(f"{command}: {start} .. {end} ({what}) into {settings.warehouse}")
    return run_jobs(settings, start, end, loads=loads, console=console, command=command)


def cmd_ui(args: argparse.Namespace) -> int:
    from bimo.ui import environment, services, supervise

    settings = get_settings(args.warehouse)
    items = services(dagster_port=args.dagster_port, dashboard_port=args.dashboard_port)
    return supervise(items, env=environment(settings), echo=console.print)


def _example(text: str) -> dict:
    return {"epilog": text, "formatter_class": argparse.RawDescriptionHelpFormatter}


def add_ops_commands(sub, wh: argparse.ArgumentParser) -> None:
    """Declare sql, status, quarantine, run, backfill and ui on the `bimo` subparsers."""
    q = sub.add_parser(
        "sql",
        parents=[wh],
        help="run a read-only query, or an interactive prompt without one",
        description="One read-only query on the read copy (no files, settings or writes), or "
        "with no QUERY an interactive prompt (.tables, .schema TABLE, .quit; history kept).",
        **_example(
            "examples:\n"
            '  bimo sql "select * from marts.fct_daily_cost limit 5"\n'
            '  bimo sql "from marts.fct_llm_requests" --format parquet --output requests.parquet\n'
            '  bimo sql "from raw_gateway.quarantine" --format csv > quarantine.csv\n'
            "  bimo sql                      # interactive"
        ),
    )
    q.add_argument("query", nargs="?", help="one query; omit it for the interactive prompt")
    q.add_argument("--format", choices=("table", "csv", "json", "parquet"), default="table")
    q.add_argument("--output", help="file to write (required for parquet; csv/json: stdout)")
    q.add_argument("--limit", type=int, default=10_000, help="row limit (default 10000)")
    q.add_argument("--timeout", type=float, default=60, help="seconds (default 60)")
    q.set_defaults(fn=cmd_sql)

    defaults = ", ".join(f"{k}={v}" for k, v in EXPECTED_LAG_DAYS.items())
    st = sub.add_parser(
        "status",
        parents=[wh],
        help="per source: rows, quarantined, newest data, freshness; exit 1 when one is stale",
        description="Freshness of every gateway, billing and SaaS source, from the read copy. "
        f"A loaded source is stale when today - newest data date > expected lag ({defaults} "
        f"days; override with ${LAG_ENV} or --expected-lag). Exit code 1 when one is stale.",
        **_example(
            "examples:\n  bimo status\n  bimo status --format json\n"
            "  bimo status --expected-lag export=3 --expected-lag zoom-users=7"
        ),
    )
    st.add_argument("--format", choices=("table", "json"), default="table")
    st.add_argument(
        "--expected-lag",
        action="append",
        metavar="KEY=DAYS",
        help="KEY: gateway, export, api, saas, invoice or a source name (repeatable)",
    )
    st.add_argument("--as-of", type=date.fromisoformat, help="reference day (default: today, UTC)")
    st.set_defaults(fn=cmd_status)

    qu = sub.add_parser(
        "quarantine",
        parents=[wh],
        help="rejected records: counts by reason, then examples with file and line",
        **_example("examples:\n  bimo quarantine\n  bimo quarantine --source litellm --limit 50"),
    )
    qu.add_argument("--source", choices=SOURCE_NAMES)
    qu.add_argument("--limit", type=int, default=20, help="examples to show (default 20)")
    qu.add_argument("--format", choices=("table", "json"), default="table")
    qu.set_defaults(fn=cmd_quarantine)

    r = sub.add_parser(
        "run",
        parents=[wh],
        help="run the Dagster jobs (billing months, then daily) for a range; default yesterday",
        description="Run bimo_billing over the months of the range, then bimo_daily over the "
        "days, one Dagster run each, with a progress bar and a summary.",
        **_example("examples:\n  bimo run\n  bimo run --start 2026-10-01 --end 2026-10-07"),
    )
    r.add_argument("--start", type=date.fromisoformat, help="first day (default: yesterday)")
    r.add_argument("--end", type=date.fromisoformat, help="last day, inclusive (default: --start)")
    r.set_defaults(fn=cmd_run)

    b = sub.add_parser(
        "backfill",
        parents=[wh],
        help="reload one source (or all) for a date range and rebuild the marts",
        description="Reload a source's kind of data (gateway logs, billing months or SaaS) for "
        "the range in one Dagster run per job, then rebuild the marts and analytics. Running "
        "the same range twice changes nothing.",
        **_example(
            "examples:\n  bimo backfill --source litellm --start 2026-10-01 --end 2026-10-07\n"
            "  bimo backfill --source all --start 2026-09-01 --end 2026-09-30"
        ),
    )
    b.add_argument("--source", required=True, choices=(*SOURCE_NAMES, "all"))
    b.add_argument("--start", required=True, type=date.fromisoformat, help="first day")
    b.add_argument("--end", required=True, type=date.fromisoformat, help="last day, inclusive")
    b.set_defaults(fn=cmd_backfill)

    u = sub.add_parser(
        "ui",
        parents=[wh],
        help="Dagster UI (127.0.0.1:3000) and the dashboard (127.0.0.1:8501); Ctrl-C stops both",
        **_example("examples:\n  bimo ui\n  bimo ui --dagster-port 3001 --dashboard-port 8502"),
    )
    u.add_argument("--dagster-port", type=int, default=3000)
    u.add_argument("--dashboard-port", type=int, default=8501)
    u.set_defaults(fn=cmd_ui)
