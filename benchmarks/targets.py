"""The performance targets, checked against the results: met or missed, by how much, and the
measured breakdown that explains a miss. Reported only; nothing here fails a run."""

from __future__ import annotations


def _row(target: str, measured: str, ok: bool | None, why: str) -> dict:
    met = "n/a" if ok is None else ("yes" if ok else "**no**")
    return {"target": target, "measured": measured, "met": met, "why": why}


def _span(values: dict, worst: str, best: str, fmt: str) -> str:
    low = f"{fmt.format(values[worst])} ({worst})"
    return low if worst == best else f"{low} … {fmt.format(values[best])} ({best})"


def _shares(stages: dict, total: float) -> str:
    ranked = sorted(stages.items(), key=lambda kv: -kv[1]["process_s"])[:3]
    return ", ".join(
        f"{k} {v['process_s']:.0f} s ({v['process_s'] / total:.0%})" for k, v in ranked
    )


def shortfall(goal: float, measured: float) -> str:
    """How far `measured` falls short of `goal` (both larger-is-better): a ratio when it is
    1.5× or more, otherwise the percentage (49.1× against 50× is "2% short", not "1.0× short")."""
    ratio = goal / measured
    return f"{ratio:.1f}× short" if ratio >= 1.5 else f"{ratio - 1:.0%} short"


DECODERS = ("orjson", "msgspec")
"""The JSON decoders the parsers call: C code, counted with the parse in the profile."""


def targets(res: dict) -> list[dict]:
    return [*_ingestion(res), *_end_to_end(res), *_increment(res), *_dashboard(res)]


def _ingestion(res: dict) -> list[dict]:
    fmts = (res.get("ingestion") or {}).get("formats")
    if not fmts:
        return [
            _row("ingestion ≥ 50 % of DuckDB native", "not measured", None, ""),
            _row("ingestion ≥ 50× dlt dict path", "not measured", None, ""),
        ]
    duck = {f: r["bimo_vs_duckdb"] for f, r in fmts.items()}
    scaled = [(k, v["native"]) for k, v in (res.get("scales") or {}).items() if v.get("native")]
    sample = f"~{round(next(iter(fmts.values()))['bimo']['rows'], -3):,} rows per format"
    where = sample
    if scaled:  # the largest scale's history loads: fixed costs amortised
        where, native = scaled[-1][0], scaled[-1][1]
        duck = {f: x["bimo_vs_duckdb"] for f, x in native.items()}
    dicts = {f: r["bimo_vs_dicts"] for f, r in fmts.items()}
    worst_d, best_d = min(duck, key=duck.get), max(duck, key=duck.get)
    prof = (res.get("profile") or {}).get("profile") or {}
    packages = prof.get("own_by_package", {})
    parse = packages.get("ingestion", {}).get("share", 0) + sum(
        r["own_s"] for r in prof.get("top_own", []) if any(d in r["function"] for d in DECODERS)
    ) / max(prof.get("profiled_s", 0), 1e-9)
    why_d = (
        f"{worst_d} reaches {duck[worst_d]:.1%} ({shortfall(0.5, duck[worst_d])}). Bimo "
        "parses, validates and quarantines each record in Python (in one worker process per "
        "core) and merges on the key; DuckDB parses vectorised in C++ and checks nothing"
    )
    if parse:
        why_d += (
            f"; in the profile of the slowest load, Bimo's parsers and their JSON decoders "
            f"({', '.join(DECODERS)}) take {parse:.0%} of the time, dlt's own code "
            f"{packages.get('dlt', {}).get('share', 0):.1%}"
        )
    at_scale = res.get("ingestion_at_scale")
    if at_scale:  # fixed costs amortised: the ratio a real load sees
        sample = f"{at_scale['source']} history at {at_scale['scale']}: "
        sample += f"{at_scale['bimo']['rows']:,} rows"
        dicts = {at_scale["source"]: at_scale["bimo_vs_dicts"]}
    worst_x, best_x = min(dicts, key=dicts.get), max(dicts, key=dicts.get)
    why_x = (
        f"{worst_x} at {dicts[worst_x]:.1f}× ({shortfall(50, dicts[worst_x])}). Both paths "
        "run the same Python parser, which is most of Bimo's time (section 6); only the "
        "hand-off to dlt differs, so 50× would need the parse itself to get faster"
    )
    return [
        _row(
            f"ingestion ≥ 50 % of DuckDB native (rows/s, every format; {where})",
            _span(duck, worst_d, best_d, "{:.1%}"),
            min(duck.values()) >= 0.5,
            why_d if min(duck.values()) < 0.5 else "",
        ),
        _row(
            f"ingestion ≥ 50× dlt's dict path (rows/s; {sample})",
            _span(dicts, worst_x, best_x, "{:.1f}×"),
            min(dicts.values()) >= 50,
            why_x if min(dicts.values()) < 50 else "",
        ),
    ]


def _end_to_end(res: dict) -> list[dict]:
    m = (res.get("scales") or {}).get("M")
    if not m:
        return [
            _row("M end to end ≤ 2 min", "M not run", None, ""),
            _row("M peak RSS ≤ 4 GB", "M not run", None, ""),
        ]
    pipeline = {k: v for k, v in m["stages"].items() if k != "generate"}
    total = m["total_without_generate_s"]
    loads = sum(v["process_s"] for k, v in pipeline.items() if k.startswith("load "))
    rate = m["history_requests"] / loads if loads else 0
    why = (
        f"{total / 120:.1f}× over. Largest stages: {_shares(pipeline, total)}. The log loads "
        f"run at {rate:,.0f} rows/s (Python parsing, section 6)"
    )
    peak_stage = max(m["stages"], key=lambda k: m["stages"][k]["peak_rss_mb"])
    return [
        _row(
            f"M end to end ≤ 2 min (load → published, n={m['n']})",
            f"{total:,.0f} s ({m['total_s']:,.0f} s with generation)",
            total <= 120,
            why if total > 120 else "",
        ),
        _row(
            "M peak RSS ≤ 4 GB",
            f"{m['peak_rss_mb']:,.0f} MB ({peak_stage})",
            m["peak_rss_mb"] <= 4096,
            "" if m["peak_rss_mb"] <= 4096 else _rss_why(res, m, peak_stage),
        ),
    ]


def _rss_why(res: dict, m: dict, peak_stage: str) -> str:
    why = f"{m['peak_rss_mb'] / 4096:.1f}× over in {peak_stage}"
    s = (res.get("scales") or {}).get("S")
    if s:
        grows = [
            f"{k} {s['stages'][k]['peak_rss_mb'] / 1024:.1f} → {v['peak_rss_mb'] / 1024:.1f} GB"
            for k, v in m["stages"].items()
            if k in s["stages"]
            and k != "generate"
            and v["peak_rss_mb"] > 2 * s["stages"][k]["peak_rss_mb"]
        ]
        if grows:
            why += "; RSS grows with the input from S to M: " + ", ".join(grows)
    return why


def _increment(res: dict) -> list[dict]:
    rows = []
    for name, r in (res.get("scales") or {}).items():
        inc = r.get("increment")
        if not inc:
            continue
        st = inc["stages"]
        dbt = st["dbt build"]["process_s"]
        layers = inc["dbt_layers"]
        dbt_sql, tests = layers["dbt_elapsed"], layers.get("data tests", {}).get("seconds", 0)
        why = (
            f"{inc['total_s'] / 15:.1f}× over: {_shares(st, inc['total_s'])}. Fixed costs: dbt "
            f"starts and loads its parse cache (a new day's window re-parses nothing), "
            f"~{max(dbt - dbt_sql, 0):.0f} s of its {dbt:.0f} s outside the SQL; each stage is "
            "a new process that imports its stack again"
        )
        imports = (res.get("import_costs") or {}).get("seconds") or {}
        if imports:
            why += " (imports: " + ", ".join(f"{k} {v:.1f} s" for k, v in imports.items()) + ")"
        why += (
            f". Growing with the day: its {inc['new_rows_first_run']:,} new rows to parse and "
            f"load ({st['load logs']['process_s']:.0f} s). Growing with the history: dbt's data "
            f"tests ({tests:.0f} s of its {dbt_sql:.0f} s of SQL; a `unique` test reads every "
            "key), analytics "
            f"recompute every series ({st['analytics']['process_s']:.0f} s), publish copies the "
            f"whole warehouse ({r['warehouse_bytes'] / 2**30:.1f} GB: "
            f"{st['publish']['process_s']:.0f} s)"
        )
        moved = r.get("origin_day")
        if moved:
            why += (
                f". On the day in seven the backtest fits its new origin: {moved['total_s']:.1f} "
                f"s (n=1; analytics {moved['stages']['analytics']['process_s']:.1f} s)"
            )
        day = r.get("dagster_day")
        if day:
            why += (
                f". Through the Dagster daily job in one process (imports once, Dagster's "
                f"bookkeeping on top), as `bimo run`, the schedules and the UI run it: "
                f"{day['process_s']:.1f} s"
            )
        rows.append(
            _row(
                f"one-day increment ≤ 15 s ({name}, n={inc['n']})",
                f"{inc['total_s']:.1f} s",
                inc["total_s"] <= 15,
                why if inc["total_s"] > 15 else "",
            )
        )
    return rows or [_row("one-day increment ≤ 15 s", "not measured", None, "")]


def _dashboard(res: dict) -> list[dict]:
    sec = res.get("dashboard")
    if not sec:
        return [_row("dashboard page p95 ≤ 300 ms at M", "not measured", None, "")]
    pages = sec[sec["used"]]["pages"]
    worst = max(pages, key=lambda p: pages[p]["p95_ms"])
    p = pages[worst]
    ok = p["p95_ms"] <= 300
    why = (
        f"{p['p95_ms'] / 300:.1f}× over: {p['queries']} queries, each on a new connection "
        f"({p.get('connect_p50_ms', 0):.0f} ms of connects per load); slowest query "
        f"{p['slowest_query_p50_ms']} ms"
    )
    scale = sec["scale"]
    label = f"dashboard page p95 ≤ 300 ms at M (measured at {scale})"
    return [_row(label, f"{p['p95_ms']:.0f} ms ({worst}; n={p['n']})", ok, "" if ok else why)]
