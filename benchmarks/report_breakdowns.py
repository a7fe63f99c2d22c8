"""Sections 4–6 of `results.md`: where the time goes (dbt layers, analytics steps, forecast
cost, dashboard queries, the profile of the slowest stage)."""

from __future__ import annotations

from report_format import APP_LABEL
from report_format import f as _f
from report_format import meta as _meta


def layers_section(res: dict) -> list[str]:
    scales = res.get("scales") or {}
    lines = ["## 4. dbt per layer, analytics, forecast", ""]
    if scales:
        layers = list(next(iter(scales.values()))["dbt_layers"])
        layers = [x for x in layers if x != "dbt_elapsed"]
        lines += [
            "`dbt build` execute time per layer, summed over its nodes (run_results.json; "
            "threads: 1), full history build, median:",
            "",
            "| layer | nodes | " + " | ".join(f"{s} s" for s in scales) + " | slowest node "
            "(largest scale) |",
            "|---|---:|" + "---:|" * len(scales) + "---|",
        ]
        last = list(scales.values())[-1]["dbt_layers"]
        for layer in layers:
            lines.append(
                f"| {layer} | {last[layer]['nodes']} | "
                + " | ".join(
                    _f(s["dbt_layers"].get(layer, {}).get("seconds"), 2) for s in scales.values()
                )
                + f" | {last[layer]['slowest'][0]} ({last[layer]['slowest'][1]:.2f} s) |"
            )
        lines.append(
            "| dbt's own elapsed (build) | | "
            + " | ".join(_f(s["dbt_layers"]["dbt_elapsed"], 2) for s in scales.values())
            + " | |"
        )
        lines.append(
            "| whole `dbt build` process | | "
            + " | ".join(_f(s["stages"]["dbt build"]["process_s"], 2) for s in scales.values())
            + " | |"
        )
        lines += _increment_layers(scales, layers)
        lines += [
            "",
            "Analytics steps (seconds, median; anomaly detection is `anomalies`):",
            "",
            "| step | " + " | ".join(scales) + " |",
            "|---|" + "---:|" * len(scales),
        ]
        for step in next(iter(scales.values()))["analytics_steps"]:
            lines.append(
                f"| {step} | "
                + " | ".join(_f(s["analytics_steps"].get(step), 2) for s in scales.values())
                + " |"
            )
        rows = last_rows = list(scales.values())[-1]["analytics_rows"]
        lines += [
            "",
            f"Rows written at the largest scale: {rows['anomalies']} anomalies, "
            f"{last_rows['forecast_series']} forecast series ({rows['forecast_rows']} rows).",
            "",
        ]
    for name, fc in (res.get("forecast") or {}).get("cited", {}).items():
        ens = next((r for r in fc.get("runs", []) if r["method"] == "bimo_ensemble"), None)
        if not ens:
            continue
        per_k = 1000 / fc["args"]["series"]
        lines += [
            f"Forecast time per 1,000 series (`{name}`, cited from [{fc['path']}]"
            f"({fc['path'].removeprefix('benchmarks/')}), n=1, {fc['machine']['date']}, "
            f"load average {fc['machine'].get('load_average_1m')}): "
            f"**{ens['seconds'] * per_k:,.0f} s wall** ({ens['cpu_seconds'] * per_k:,.0f} "
            f"CPU-s; {fc['args']['series']:,} series of {fc['args']['days']} days, "
            f"h={fc['args']['horizon']}, {fc['args']['n_jobs']} workers), peak RSS "
            f"{ens['peak_rss_main_mb']} MB main / {ens['peak_rss_with_workers_mb']} MB "
            "with workers.",
            "",
        ]
    return lines


def _increment_layers(scales: dict, layers: list[str]) -> list[str]:
    """The same per layer for the one-day increment (a one-day window: the per-request models
    rebuild that day)."""
    inc = {k: v["increment"]["dbt_layers"] for k, v in scales.items() if v.get("increment")}
    if not inc:
        return []
    lines = [
        "",
        "The same for the one-day increment (the window's day only in the per-request models):",
        "",
        "| layer | " + " | ".join(f"{s} s" for s in inc) + " |",
        "|---|" + "---:|" * len(inc),
    ]
    for layer in [*layers, "dbt_elapsed"]:
        name = "dbt's own elapsed (build)" if layer == "dbt_elapsed" else layer
        cells = []
        for v in inc.values():
            x = v.get(layer)
            cells.append(_f(x if layer == "dbt_elapsed" else (x or {}).get("seconds"), 2))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def dashboard_section(res: dict) -> list[str]:
    sec = res.get("dashboard")
    if not sec:
        return []
    used = sec[sec["used"]]
    lines = [
        "## 5. Dashboard page latency",
        "",
        _meta(sec),
        "",
        f"On the {sec['scale']} warehouse's read copy; app measured: "
        f"{APP_LABEL[sec['used']]}"
        f" ({used['source']}).",
        "",
    ]
    if sec["used"] != "working_tree":
        lines += [
            "The working tree's app raised while it is being restructured: "
            + "; ".join(sec["working_tree"]["errors"][:3])
            + ".",
            "",
        ]
    lines += [
        "| page | queries | data p50 ms | data p95 ms | connect ms (p50) | n | "
        "render p50 ms | render p95 ms | slowest query (p50 ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for page, p in used["pages"].items():
        lines.append(
            f"| {page} | {p['queries']} | {p['p50_ms']} | **{p['p95_ms']}** | "
            f"{p.get('connect_p50_ms', '—')} | {p['n']} | {p.get('render_p50_ms', '—')} | "
            f"{p.get('render_p95_ms', '—')} | {p['slowest_query_p50_ms']}: "
            f"`{(p['slowest_query'] or '')[:90]}` |"
        )
    lines += [
        "",
        "*data*: the page's queries in sequence on one fresh read connection, as the data "
        "layer opens it for a page run, cache cold (connect included); *render*: the whole "
        "page under AppTest (cache cleared), Streamlit and charts included.",
        "",
    ]
    return lines


def profile_section(res: dict) -> list[str]:
    sec = res.get("profile")
    if not sec:
        return []
    lines = [
        "## 6. Profile of the slowest stage",
        "",
        _meta(sec),
        "",
        f"Slowest stage at {sec['scale']}: **{sec['slowest_stage']}** "
        f"({_f(sec['slowest_seconds'], 1)} s).",
    ]
    prof = sec.get("profile")
    if not prof:
        return [*lines, "No stage that runs in Python to profile.", ""]
    if sec["profiled_stage"] != sec["slowest_stage"]:
        lines.append(
            f"It runs outside Python (section 4 has its breakdown); the slowest stage "
            f"that runs in Python is **{sec['profiled_stage']}**."
        )
    rows = prof["result"].get("rows")
    lines += [
        f"Profiled with cProfile: {sec['profiled']}"
        + (f" ({rows:,} rows" if isinstance(rows, int) else " (")
        + f"{', ' if isinstance(rows, int) else ''}{prof['wall_s']} s under the profiler).",
    ]
    if prof.get("serial_parse"):
        lines.append(
            "The load parsed in its own process (BIMO_PARSE_WORKERS=1), where cProfile sees "
            "the parse; the stage as timed above parses large loads in worker processes, "
            "and the process profiled there would only wait for them."
        )
    lines += [
        "",
        "Own time by package:",
        "",
        "| package | s | share |",
        "|---|---:|---:|",
    ]
    for pkg, v in list(prof["own_by_package"].items())[:8]:
        lines.append(f"| {pkg} | {v['seconds']} | {v['share'] * 100:.0f} % |")
    lines += [
        "",
        "Top functions by own time:",
        "",
        "| function | calls | own s | cum s |",
        "|---|---:|---:|---:|",
    ]
    for r in prof["top_own"][:12]:
        lines.append(f"| `{r['function'][:110]}` | {r['calls']:,} | {r['own_s']} | {r['cum_s']} |")
    lines += [
        "",
        "Top functions by cumulative time (stdlib left out):",
        "",
        "| function | calls | cum s |",
        "|---|---:|---:|",
    ]
    for r in prof["top_cumulative"][:12]:
        lines.append(f"| `{r['function'][:110]}` | {r['calls']:,} | {r['cum_s']} |")
    phases = prof["result"].get("phases") or {}
    if sec.get("rss_by_phase"):
        lines += [
            "",
            f"Memory of the same run: peak RSS {_f(sec['peak_rss_mb'])} MB; sampled "
            "RSS per dlt step (the parse runs inside extract):",
            "",
            "| step | seconds | peak RSS MB |",
            "|---|---:|---:|",
        ]
        for step, mb in sec["rss_by_phase"].items():
            span = phases.get(step)
            secs = f"{span[1] - span[0]:.1f}" if span else ""
            lines.append(f"| {step} | {secs} | {_f(mb) if mb is not None else 'no sample'} |")
    lines += ["", "What to do about it: docs/benchmarks.md.", ""]
    return lines
