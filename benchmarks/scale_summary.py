"""Medians over a scale's runs and increments (what `scales.run_scale` returns)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness import median, peak_rss_mb
from pipeline import LOG_SOURCES

if TYPE_CHECKING:
    from scales import Scale

NATIVE = "duckdb native "  # stage-name prefix of the reference loads (not pipeline stages)


def summarise_scale(scale: Scale, runs: list[dict], increments: list[dict], last: Path) -> dict:
    names = [s for s in runs[0]["stages"] if not s.startswith(NATIVE)]
    stages = {}
    for name in names:
        reports = [r["stages"][name] for r in runs]
        stages[name] = {
            "n": len(reports),
            "seconds": round(median([r["seconds"] for r in reports]), 3),
            "process_s": round(median([r["process_s"] for r in reports]), 3),
            "seconds_runs": [r["seconds"] for r in reports],
            "peak_rss_mb": max(peak_rss_mb(r) for r in reports),
            "result": reports[-1]["result"],
            "load_average": [r["load_average"] for r in reports],
        }
    totals = [sum(r["stages"][s]["process_s"] for s in names) for r in runs]
    after_gen = [sum(r["stages"][s]["process_s"] for s in names if s != "generate") for r in runs]
    gen = stages["generate"]["result"]
    out = {
        "scale": scale.name,
        "days": scale.days,
        "requests_per_day": scale.requests_per_day,
        "history_requests": sum(stages[f"load {s}"]["result"]["rows"] for s in LOG_SOURCES),
        "generated_requests": gen["requests"],
        "landing_bytes": gen["bytes"],
        "n": len(runs),
        "stages": stages,
        "total_s": round(median(totals), 2),
        "total_without_generate_s": round(median(after_gen), 2),
        "peak_rss_mb": max(s["peak_rss_mb"] for s in stages.values()),
        "warehouse_bytes": stages["publish"]["result"]["warehouse_bytes"],
        "dbt_layers": _median_layers([r["stages"]["dbt build"]["result"] for r in runs]),
        "analytics_steps": _median_steps([r["stages"]["analytics"]["result"] for r in runs]),
        "analytics_rows": stages["analytics"]["result"]["rows"],
        "read_copy": str(last / "warehouse.read.duckdb"),
        "landing": str(last.parent / "landing"),
    }
    out["native"] = _native(runs, stages)
    if increments:
        out["increment"] = summarise_increment(increments)
    return out


def _native(runs: list[dict], stages: dict) -> dict:
    """Per log source: Bimo's load of the history vs DuckDB's native load of the same files,
    both medians over the runs; rates use the rows Bimo loaded."""
    out = {}
    for source in LOG_SOURCES:
        reports = [r["stages"].get(f"{NATIVE}{source}") for r in runs]
        if not all(reports):
            continue
        bimo = stages[f"load {source}"]
        rows, native_s = bimo["result"]["rows"], median([r["seconds"] for r in reports])
        out[source] = {
            "rows": rows,
            "bytes": bimo["result"]["bytes"],
            "n": len(reports),
            "bimo_s": bimo["seconds"],
            "duckdb_s": round(native_s, 3),
            "bimo_rows_per_s": round(rows / bimo["seconds"]),
            "duckdb_rows_per_s": round(rows / native_s),
            "duckdb_peak_rss_mb": max(peak_rss_mb(r) for r in reports),
            "bimo_vs_duckdb": round(native_s / bimo["seconds"], 4),
        }
    return out


def summarise_increment(increments: list[dict]) -> dict:
    names = list(increments[0])
    stages = {
        name: {
            "seconds": round(median([inc[name]["seconds"] for inc in increments]), 3),
            "process_s": round(median([inc[name]["process_s"] for inc in increments]), 3),
            "peak_rss_mb": max(peak_rss_mb(inc[name]) for inc in increments),
        }
        for name in names
    }
    totals = [sum(inc[s]["process_s"] for s in names) for inc in increments]
    rows = increments[0]["load logs"]["result"]["rows"]
    analytics = [inc["analytics"]["result"]["rows"] for inc in increments]
    reused = [counts.get("backtest_origins_reused") for counts in analytics]
    origins = {counts.get("backtest_origins") for counts in analytics}
    return {
        "n": len(increments),
        "new_rows_first_run": rows,
        "stages": stages,
        "total_s": round(median(totals), 2),
        "total_runs": [round(t, 2) for t in totals],
        "peak_rss_mb": max(s["peak_rss_mb"] for s in stages.values()),
        "dbt_layers": _median_layers([inc["dbt build"]["result"] for inc in increments]),
        # the fewest stored origins any run's backtest reused, of how many (None: not recorded)
        "backtest_origins_reused": None if None in reused else min(reused),
        "backtest_origins": origins.pop() if len(origins) == 1 else None,
    }


def _median_layers(results: list[dict]) -> dict:
    layers = results[0]["layers"]
    return {
        layer: {
            "nodes": layers[layer]["nodes"],
            "seconds": round(median([r["layers"][layer]["seconds"] for r in results]), 3),
            "slowest": layers[layer]["slowest"],
        }
        for layer in layers
    } | {"dbt_elapsed": round(median([r["elapsed_dbt"] for r in results]), 3)}


def _median_steps(results: list[dict]) -> dict:
    steps = results[0]["steps"]
    return {s: round(median([r["steps"][s] for r in results]), 3) for s in steps}
