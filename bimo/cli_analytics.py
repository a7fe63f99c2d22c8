"""`bimo` subcommands over analytics: detect-anomalies and forecast on any CSV, and the
anomalies list / ack commands over the warehouse."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from bimo.settings import get_settings

console = Console(width=None if sys.stdout.isatty() else 120)


def cmd_detect_anomalies(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from bimo.analytics.generic import InputError, detect_csv

    cols = {"time_col": args.time_col, "value_col": args.value_col, "id_col": args.id_col}
    try:
        console.print(escape(detect_csv(args.input, args.output, freq=args.freq, **cols)))
    except InputError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        return 2
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from bimo.analytics.generic import InputError, forecast_csv

    cols = {"time_col": args.time_col, "value_col": args.value_col, "id_col": args.id_col}
    opts = {"horizon": args.horizon, "levels": args.level, "freq": args.freq}
    try:
        console.print(escape(forecast_csv(args.input, args.output, **opts, **cols)))
    except InputError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        return 2
    return 0


def cmd_anomalies_ack(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from bimo.analytics.acks import UnknownAnomalyError, acknowledge

    try:
        ack = acknowledge(get_settings(args.warehouse), args.anomaly_id, args.reason)
    except (UnknownAnomalyError, ValueError) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        return 2
    console.print(
        escape(
            f"acknowledged {ack['anomaly_id']}: {ack['source_tag']} {ack['metric']} "
            f"{ack['series_level']} {ack['series_key']} on {ack['anomaly_date']} ({ack['reason']})"
        )
    )
    return 0


def cmd_anomalies_list(args: argparse.Namespace) -> int:
    import polars as pl

    from bimo.analytics.acks import list_anomalies

    frame = list_anomalies(get_settings(args.warehouse), status=args.status)
    if frame.is_empty():
        console.print("no anomalies" + (f" with status {args.status}" if args.status else ""))
        return 0
    if args.format == "table":
        frame = frame.select(
            "anomaly_id", "anomaly_date", "first_seen", "source_tag", "metric", "series_level",
            "series_key", "actual", "expected", "impact_usd", "severity", "driver_dimension",
            "driver_value", "driver_delta_usd", "status",
        )  # fmt: skip
        with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250, fmt_str_lengths=40):
            print(frame)
    elif args.format == "csv":
        sys.stdout.write(frame.write_csv())
    else:
        sys.stdout.write(frame.write_json() + "\n")
    return 0


def add_analytics_commands(sub, wh: argparse.ArgumentParser) -> None:
    """Declare detect-anomalies, forecast and anomalies (list, ack) on the `bimo` subparsers."""
    ts = argparse.ArgumentParser(add_help=False)
    ts.add_argument("input", help="CSV file, one row per timestamp (and per id)")
    ts.add_argument("--time-col", required=True, help="timestamp column (ISO 8601)")
    ts.add_argument("--value-col", required=True, help="numeric column; empty cells are missing")
    ts.add_argument("--id-col", help="column naming the series, when the file holds several")
    ts.add_argument(
        "--freq", help="step, e.g. 5min, 1h, 1d (default: inferred from the timestamps)"
    )
    ts.add_argument("--output", required=True, help="CSV file to write")
    an = sub.add_parser(
        "detect-anomalies",
        parents=[ts],
        help="score any CSV time series with Bimo's anomaly detector",
        description="Write the input rows with expected, lower, upper, score, is_anomaly.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  bimo detect-anomalies api.csv --time-col ts --value-col requests --output scored.csv\n"
        "  bimo detect-anomalies spend.csv --time-col date --value-col usd --id-col service \\\n"
        "      --freq 1d --output scored.csv",
    )
    an.set_defaults(fn=cmd_detect_anomalies)
    fc = sub.add_parser(
        "forecast",
        parents=[ts],
        help="forecast any CSV time series with Bimo's forecaster",
        description="Write ds, forecast and lo_<level>/hi_<level> for the next H steps.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  bimo forecast spend.csv --time-col date --value-col usd --horizon 30 --output fc.csv\n"
        "  bimo forecast api.csv --time-col ts --value-col requests --id-col region \\\n"
        "      --horizon 48 --freq 1h --level 50 80 95 --output fc.csv",
    )
    fc.add_argument("--horizon", type=int, required=True, help="steps to forecast")
    fc.add_argument(
        "--level", type=int, nargs="+", default=[80, 95], help="interval levels (default 80 95)"
    )
    fc.set_defaults(fn=cmd_forecast)

    am = sub.add_parser(
        "anomalies",
        help="list and acknowledge cost anomalies",
        description="List analytics.cost_anomalies; acknowledge one so alerts skip it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  bimo anomalies list --status open\n"
        '  bimo anomalies ack 3f2a1b0c9d8e4f7a --reason "planned load test"',
    )
    am_sub = am.add_subparsers(dest="anomalies_command", required=True)
    am_list = am_sub.add_parser("list", parents=[wh], help="anomalies, latest first")
    am_list.add_argument("--status", choices=("open", "acknowledged"))
    am_list.add_argument("--format", choices=("table", "csv", "json"), default="table")
    am_list.set_defaults(fn=cmd_anomalies_list)
    am_ack = am_sub.add_parser("ack", parents=[wh], help="acknowledge an anomaly; alerts skip it")
    am_ack.add_argument("anomaly_id", help="anomaly_id from `bimo anomalies list`")
    am_ack.add_argument("--reason", required=True, help="why it is expected or handled")
    am_ack.set_defaults(fn=cmd_anomalies_ack)
