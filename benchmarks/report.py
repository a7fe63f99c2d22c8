"""Render the benchmark results (JSON) as `results.md`: targets first, then each section."""

from __future__ import annotations

from report_breakdowns import dashboard_section, layers_section, profile_section
from report_format import GB, MB, yardstick_note
from report_format import f as _f
from report_format import meta as _meta
from targets import targets


def render(res: dict) -> str:
    out = ["# Bimo benchmarks", ""]
    any_sec = next((res[k] for k in ("scales", "ingestion", "dashboard") if res.get(k)), {})
    if res.get("scales"):
        any_sec = next(iter(res["scales"].values()))
    m = any_sec.get("machine", {})
    v = m.get("versions", {})
    out += [
        f"Updated {res.get('updated', '?')} on {m.get('cpu', '?')} ({m.get('cores', '?')} cores, "
        f"{m.get('memory_gb', '?')} GB), {m.get('os', '?')}, Python {m.get('python', '?')}; "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + ".",
        "",
        "Every figure is the median of n runs (n is given); a ratio compares variants measured in "
        "the same invocation, interleaved. Peak RSS is the most a variant held at once: its "
        "largest single process (the worker, or a process it waited for such as dbt) or, when "
        "larger, the worker and its descendants together (a load with its parse workers), "
        "sampled every 0.25 s. Method: docs/benchmarks.md.",
        "",
    ]
    out += _targets(res) + _ingestion(res) + _scales(res) + _increment(res)
    out += layers_section(res) + dashboard_section(res) + profile_section(res)
    return "\n".join(out) + "\n"


def _targets(res: dict) -> list[str]:
    rows = targets(res)
    lines = [
        "## Targets (reported, never asserted)",
        "",
        "| target | measured | met | by how much / why |",
        "|---|---|---|---|",
    ]
    lines += [f"| {t['target']} | {t['measured']} | {t['met']} | {t['why']} |" for t in rows]
    return [*lines, ""]


def _ingestion(res: dict) -> list[str]:
    sec = res.get("ingestion")
    if not sec:
        return []
    lines = [
        "## 1. Ingestion throughput per source format",
        "",
        _meta(sec),
        "",
        f"Bimo and DuckDB n={sec['n']}; dlt's dict path n={sec['dict_n']} (the slowest by "
        "far: one run places it). Rows/s count the rows Bimo loads from the files "
        "for every variant (DuckDB's own count differs for OTLP, whose lines hold many "
        "spans it does not unnest). MB/s counts the bytes as stored (gzip files "
        "compressed; the replicated Parquet compresses very well, so its MB/s says little).",
        "",
        "| format | rows | Bimo rows/s | Bimo MB/s | Bimo RSS MB | DuckDB native rows/s | "
        "DuckDB MB/s | DuckDB RSS MB | dlt dicts rows/s | dicts RSS MB | Bimo / DuckDB | "
        "Bimo / dicts |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for fmt, r in sec["formats"].items():
        b, d, x = r["bimo"], r["duckdb"], r["dlt_dicts"]
        lines.append(
            f"| {fmt} ({r['description']}, {r['files']} files) | {b['rows']:,} | "
            f"{_f(b['rows_per_s'])} | {_f(b['mb_per_s'], 2)} | {_f(b['peak_rss_mb'])} | "
            f"{_f(d['rows_per_s'])} | {_f(d['mb_per_s'], 2)} | {_f(d['peak_rss_mb'])} | "
            f"{_f(x['rows_per_s'])} | {_f(x['peak_rss_mb'])} | "
            f"{r['bimo_vs_duckdb'] * 100:.1f} % | {r['bimo_vs_dicts']:.1f}× |"
        )
    took = [r["bimo"]["seconds"] for r in sec["formats"].values()]
    lines += [
        "",
        "DuckDB native = `create table … as select * from read_json/read_csv/"
        "read_parquet(files)`: no validation, quarantine, dedupe or lineage columns — the "
        "practical limit. Bimo = the loader `bimo load` runs (parse, validate, quarantine, "
        "dlt merge on the key). dlt dicts = the same parser, rows handed to dlt as dicts "
        "(default `insert_values` loader), same write disposition. At this size each "
        f"variant's fixed cost weighs heavily (Bimo's runs took {min(took):.1f}–"
        f"{max(took):.1f} s each: its imports and a dlt run's extract, normalize, load and "
        "merge, whatever the rows; DuckDB's schema sampling); the table below has the rates "
        "at scale.",
        "",
    ]
    return lines + _native(res) + _dicts_at_scale(res)


def _dicts_at_scale(res: dict) -> list[str]:
    sec = res.get("ingestion_at_scale")
    if not sec:
        return []
    b, x = sec["bimo"], sec["dlt_dicts"]
    return [
        f"### At scale: Bimo vs dlt's dict path, {sec['source']} history at {sec['scale']}",
        "",
        _meta(sec),
        "",
        "| variant | rows | n | seconds | rows/s | MB/s | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {v['rows']:,} | {v['n']} | {_f(v['seconds'], 1)} | "
            f"{_f(v['rows_per_s'])} | {_f(v['mb_per_s'], 2)} | {_f(v['peak_rss_mb'])} |"
            for name, v in (("Bimo", b), ("dlt dict path", x))
        ),
        "",
        f"Bimo / dict path: **{sec['bimo_vs_dicts']:.1f}×** (same files, same invocation).",
        "",
    ]


def _native(res: dict) -> list[str]:
    scales = {k: v for k, v in (res.get("scales") or {}).items() if v.get("native")}
    if not scales:
        return []
    lines = [
        "### At scale: Bimo's history load vs DuckDB native, same files",
        "",
        "From the end-to-end runs (section 2): each log source's history loaded by Bimo "
        "(`bimo load <source>`), and by DuckDB natively into a table, same invocation.",
        "",
        "| scale | format | rows | GB | n | Bimo s | Bimo rows/s | DuckDB s | DuckDB rows/s "
        "| DuckDB RSS MB | Bimo / DuckDB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in scales.items():
        for fmt, x in r["native"].items():
            lines.append(
                f"| {name} | {fmt} | {x['rows']:,} | {x['bytes'] / GB:.2f} | {x['n']} | "
                f"{_f(x['bimo_s'], 1)} | {_f(x['bimo_rows_per_s'])} | "
                f"{_f(x['duckdb_s'], 1)} | {_f(x['duckdb_rows_per_s'])} | "
                f"{_f(x['duckdb_peak_rss_mb'])} | {x['bimo_vs_duckdb'] * 100:.1f} % |"
            )
    return [*lines, ""]


def _scales(res: dict) -> list[str]:
    scales = res.get("scales") or {}
    if not scales:
        return []
    lines = ["## 2. End to end per scale", ""]
    for name, r in scales.items():
        lines += [
            f"### {name}: {r['days']} days × {r['requests_per_day']:,} prod requests/day "
            f"→ {r['history_requests']:,} requests loaded (n={r['n']})",
            "",
            _invocations(r),
            "",
            f"Landing files {r['landing_bytes'] / GB:.2f} GB ({r['days'] + 1} days: the "
            f"history and the increment day{_gzipped(r)}); warehouse "
            f"{r['warehouse_bytes'] / MB:,.0f} MB on disk (+ the same again for the published "
            "read copy).",
            "",
            *_no_native(r, scales),
            "| stage | work s | process s | peak RSS MB | rows | load avg |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for stage, s in r["stages"].items():
            rows = s["result"].get("rows", s["result"].get("requests"))
            rows = _f(rows) if isinstance(rows, int) else ""
            lines.append(
                f"| {stage} | {_f(s['seconds'], 2)} | {_f(s['process_s'], 2)} | "
                f"{_f(s['peak_rss_mb'])} | {rows} | "
                f"{', '.join(map(str, s['load_average']))} |"
            )
        lines += [
            f"| **total** (generate excluded: {_f(r['total_without_generate_s'], 1)} s) | "
            f"| **{_f(r['total_s'], 1)}** | **{_f(r['peak_rss_mb'])}** | | |",
            "",
        ]
        lines.append(
            "*work s*: the call itself; *process s*: the whole process (interpreter "
            "start and imports too), what a user waits for."
        )
        lines.append("")
    if len(scales) > 1:
        lines += [
            "Peak RSS per stage across scales (streaming: it should not grow with input):",
            "",
            "| stage | " + " | ".join(scales) + " |",
            "|---|" + "---:|" * len(scales),
        ]
        first = next(iter(scales.values()))
        for stage in first["stages"]:
            lines.append(
                f"| {stage} | "
                + " | ".join(
                    _f(s["stages"].get(stage, {}).get("peak_rss_mb")) for s in scales.values()
                )
                + " |"
            )
        lines.append("")
    for note in res.get("not_run", []):
        lines += [f"**Not run: {note['scale']}.** {note['why']}", ""]
    return lines


def _gzipped(r: dict) -> str:
    """How the landing files were stored when the log files were gzipped after generation."""
    raw = r["stages"].get("generate", {}).get("result", {}).get("raw_bytes")
    if not raw or raw == r["landing_bytes"]:
        return ""
    return (
        f"; every log file gzipped (`gzip -1`) after generation, {raw / GB:.2f} GB before: "
        "uncompressed, they and the warehouse with its read copy would not fit this disk "
        "together. Loads read them through gzip"
    )


def _no_native(r: dict, scales: dict) -> list[str]:
    """Why a scale has no DuckDB-native reads when others have them."""
    if r.get("native") or not any(v.get("native") for v in scales.values()):
        return []
    name, fmt, mb = max(
        (
            (k, f, x["duckdb_peak_rss_mb"])
            for k, v in scales.items()
            for f, x in v.get("native", {}).items()
        ),
        key=lambda t: t[2],
    )
    return [
        "DuckDB's native reads of the history (the ratios in section 1) were not run at this "
        f"scale: its read of {fmt} held {mb / 1024:.1f} GB at {name}, and it grows with the input.",
        "",
    ]


def _invocations(r: dict) -> str:
    calls = r.get("invocations") or []
    if len(calls) <= 1:
        return _meta(r)
    listed = "; ".join(
        f"`{c['command']}` at {c['date']} (load average {c['load_average_start']}"
        + yardstick_note(c)
        + (f"; {c['note']})" if c.get("note") else ")")
        for c in calls
    )
    return (
        f"Taken in {len(calls)} bounded invocations (each stage's load average is in the "
        f"table; 2 cores shared with other work): {listed}."
    )


def _increment(res: dict) -> list[str]:
    scales = {k: v for k, v in (res.get("scales") or {}).items() if v.get("increment")}
    if not scales:
        return []
    lines = [
        "## 3. One-day increment (history loaded)",
        "",
        "The increment day's log files of every source in one dlt run (as the daily job "
        "loads them), its SaaS snapshots, `dbt build`, analytics and publish. Runs after the "
        "first re-load the same day (merge: no new rows, the same work). Before each, dbt's "
        "parse cache is left as the day before's run leaves it (a parse of that day's window, "
        "not timed), as on a new day (the window's days are read when the models run, so a "
        "new day re-parses nothing: docs/benchmarks.md, item 15). The day is in the same week "
        "as the history's last day, so the backtest reuses every stored origin (*origins "
        "reused*: 4 by default, docs/forecasting.md); on one day in seven its newest origin is "
        "new and is "
        "fitted. *origin day* rows take that day: the same increment once more (n=1) after the "
        "newest origin's stored points are deleted (not timed).",
        "",
        "| scale | days of history | new rows | n | load logs s | load saas s | dbt build s | "
        "analytics s | publish s | total s (process) | peak RSS MB | origins reused |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in scales.items():
        daily = r["increment"]
        for label, inc, new in (
            (name, daily, f"{daily['new_rows_first_run']:,}"),
            (f"{name}, origin day", r.get("origin_day"), "same day"),
        ):
            if not inc:
                continue
            st, reused, of = inc["stages"], inc.get("backtest_origins_reused"), ""
            if inc.get("backtest_origins") is not None:
                of = f" of {inc['backtest_origins']}"
            lines.append(
                f"| {label} | {r['days']} | {new} | {inc['n']} | "
                + " | ".join(
                    _f(st[s]["process_s"], 2)
                    for s in ("load logs", "load saas", "dbt build", "analytics", "publish")
                )
                + f" | **{_f(inc['total_s'], 1)}** | {_f(inc['peak_rss_mb'])} | "
                + ("—" if reused is None else f"{reused}{of}")
                + " |"
            )
    lines.append("")
    imports = res.get("import_costs")
    if imports:
        lines += [
            "Every stage is its own process, as a user's commands are, and imports its stack "
            f"again. Import times in a fresh process (median of {imports['n']}, a bare "
            f"interpreter's {_f(imports['interpreter_s'], 2)} s subtracted): "
            + ", ".join(f"{k} {_f(v, 1)} s" for k, v in imports["seconds"].items())
            + " (`statsforecast` imports `statsmodels.api`).",
            "",
        ]
    lines += _dagster_day(scales)
    for name, r in scales.items():
        if "window_load" in r:
            w = r["window_load"]
            lines += [
                f"The Dagster daily asset selects its landing files by modification time (the "
                f"files written since the day began, less a day of clock skew: "
                f"{w['result']['files']:,} files) and keeps the day's rows. At {name} that load "
                f"took {_f(w['process_s'], 1)} s (n=1) for "
                f"{w['result']['parsed']:,} rows kept of {w['result']['records']:,} records "
                f"read, against {_f(r['increment']['stages']['load logs']['process_s'], 1)} "
                "s when exactly the day's files are read.",
                "",
            ]
    return lines


def _dagster_day(scales: dict) -> list[str]:
    """The same day through the Dagster daily job in one process, as `bimo run` runs it."""
    runs = [
        (name, label, r[key])
        for name, r in scales.items()
        for key, label in (("dagster_first", "first"), ("dagster_day", "next"))
        if r.get(key)
    ]
    if not runs:
        return []
    lines = [
        "The same day through the Dagster daily job in one process, as `bimo run` runs it, and "
        "a schedule or the UI since every job's steps run in the run's process (Dagster's "
        "default, a process per step, is timed against it in "
        "`benchmarks/results/dagster_executor.md`; docs/benchmarks.md, item 18) "
        "(`orchestration.run.run_range` with the gateway and SaaS loads; the billing month's "
        "job left out, as above): the stack is imported once, the gateway asset reads the "
        "landing files written since the day began (less a day of clock skew) and keeps the "
        "day's rows, and every step adds Dagster's own bookkeeping; the run publishes the "
        "read copy once, in its last step (`read_copy`). *first*: the first Dagster run after "
        "the stages above, on their warehouse (it would rebuild every day had their full build "
        "recorded no inputs fingerprint: docs/benchmarks.md, item 7); *next*: the run after "
        "it. n=1 each, after the increments (the same day: the same work, no new rows), each "
        "after a parse of the day before's window in the warehouse's target folder.",
        "",
        "| scale | run | process s | in the run s | peak RSS MB | slowest steps (s) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, label, d in runs:
        top = sorted(d["result"]["steps"].items(), key=lambda kv: -kv[1])[:4]
        slowest = ", ".join(f"{k} {_f(v, 1)}" for k, v in top)
        lines.append(
            f"| {name} | {label} | **{_f(d['process_s'], 1)}** | {_f(d['seconds'], 1)} | "
            f"{_f(d['peak_rss_mb'])} | {slowest} |"
        )
    return [*lines, ""]
