"""The backtest's reuse of stored origins: what `analytics/forecast_accuracy` costs each day.

    .venv/bin/python benchmarks/backtest_reuse.py [--seed 7] [--days 90 365] [--repeat 3]

The backtest's 4 origins fall on Sundays (`bimo.analytics.backtest`), so they stay put for a
week, and an origin whose days are unchanged takes its stored points
(`analytics.forecast_backtest_points`) instead of being fitted again. For each history length:
generate the demo, load it and build the marts once (`demo_warehouse.build_demo`), then time
what the asset does (`compute_accuracy` and storing both tables) from three starting points:

- *nothing stored*: a first run, or any run before this reuse existed: 4 origins fitted;
- *origins moved*: the stored points lack the newest origin, as on the day the origins move
  (one day in seven): 1 fitted, 3 reused;
- *same week*: every origin stored, as on the other six days: 0 fitted.

The three run in ABC then CBA order, `--repeat` times; times are medians. Every variant's
`forecast_accuracy` is compared with the first *nothing stored* run's (all but
`generated_at`): the *same table* column says whether reuse changed a number.
Results: benchmarks/results/backtest_reuse.{json,md}.
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb
from demo_warehouse import build_demo
from machine import command_line, machine_info, write_results

from bimo.analytics.run import POINTS_TABLE, compute_accuracy, store

VARIANTS = ("nothing stored", "origins moved", "same week")


def prepare(con: duckdb.DuckDBPyConnection, variant: str, points) -> None:
    """Leave in the warehouse the stored points the variant starts from."""
    con.execute(f"drop table if exists analytics.{POINTS_TABLE}")
    if variant == "origins moved":
        store(con, POINTS_TABLE, points.filter(points["cutoff"] < points["cutoff"].max()))
    elif variant == "same week":
        store(con, POINTS_TABLE, points)


def run(seed: int, days: int, repeat: int, work: Path) -> list[dict]:
    warehouse, _ = build_demo(seed, days, work)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"drop table if exists analytics.{POINTS_TABLE}")
        first = compute_accuracy(con)  # the reference table, and the points every variant uses
        reference = first.accuracy.drop("generated_at")
        times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        seen: dict[str, dict] = {}
        for r in range(repeat * 2):
            for variant in VARIANTS if r % 2 == 0 else VARIANTS[::-1]:
                prepare(con, variant, first.points)
                t = time.perf_counter()
                backtest = compute_accuracy(con)
                store(con, POINTS_TABLE, backtest.points)
                store(con, "forecast_accuracy", backtest.accuracy)
                times[variant].append(time.perf_counter() - t)
                same = backtest.accuracy.drop("generated_at").equals(reference)
                seen[variant] = {
                    "origins": backtest.origins,
                    "reused": backtest.reused,
                    "same_table": seen.get(variant, {}).get("same_table", True) and same,
                }
        series = first.accuracy.select("source_tag", "series_level", "series_key").n_unique()
    finally:
        con.close()
    base = median(times["nothing stored"])
    rows = []
    for variant in VARIANTS:
        s = median(times[variant])
        rows.append(
            {
                "days": days,
                "seed": seed,
                "series": series,
                "variant": variant,
                "seconds": round(s, 3),
                "vs_nothing_stored": round(s / base, 3),
                "runs": len(times[variant]),
                **seen[variant],
            }
        )
        r = rows[-1]
        print(
            f"{days} days, {variant}: {r['seconds']:.2f} s ({r['vs_nothing_stored']:.2f}x), "
            f"{r['reused']} of {r['origins']} origins reused, same table: {r['same_table']}",
            flush=True,
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--days", type=int, nargs="+", default=[90, 365])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    info = machine_info()
    import statsforecast.models  # noqa: F401 - imported once here, not inside the first timing

    work = Path(tempfile.mkdtemp(prefix="bimo-backtest-reuse-"))
    rows = []
    try:
        for days in args.days:
            rows += run(args.seed, days, args.repeat, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    command = command_line("backtest_reuse.py", seed=args.seed, days=args.days, repeat=args.repeat)
    lines = [
        "# The backtest's reuse of stored origins",
        "",
        f"`{command}` — {info['date']}, {info['cpu']} ({info['cores']} cores), "
        f"1-minute load average {info['load_average_1m']} at the start.",
        "",
        "What the `analytics/forecast_accuracy` asset does (`compute_accuracy`, then storing the "
        "accuracy and the points), on the demo warehouse of one seed, from three starting points: "
        "*nothing stored* (all 4 origins fitted), *origins moved* (the newest origin missing from "
        "the stored points, as on the day in seven the origins move) and *same week* (every "
        f"origin stored, as on the other six days). Median of {args.repeat * 2} runs each, in "
        "ABC then CBA order; the ratio is to *nothing stored* on the same warehouse. *Same table*: "
        "the accuracy table equals the first run's, all but `generated_at`, on every run.",
        "",
        "| days | series | starting point | seconds | vs nothing stored | origins reused "
        "| same table |",
        "|---:|---:|---|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['days']} | {r['series']} | {r['variant']} | {r['seconds']:.2f} "
            f"| {r['vs_nothing_stored']:.2f}× | {r['reused']} of {r['origins']} "
            f"| {'yes' if r['same_table'] else '**no**'} |"
        )
    payload = {"command": command, "machine": info, "runs": rows}
    write_results("backtest_reuse", payload, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
