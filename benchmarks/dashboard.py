"""Dashboard latency on a published warehouse: each page's queries, p50/p95.

The pages and their queries are discovered at run time, so a restructured `app/` is measured as
it is: the app runs under Streamlit's `AppTest` once per page (pages found by wrapping
`st.navigation`), with every `read_connection` the `app.data*` modules open wrapped to record the
SQL and parameters each page sends. Each page's recorded queries are then replayed `repeats`
times, cache cold, on one fresh sandboxed read connection per page run as the data layer opens
it: the page's data time is the connect plus the sum over its queries. The whole page render
under AppTest (widgets and charts included, cache cleared) is timed too. If the app cannot be
run, a fixed set of the queries the pages ran when this benchmark was written is replayed
instead (`FALLBACK`).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path

from harness import percentile

ROOT = Path(__file__).resolve().parent.parent
FALLBACK = {  # page: queries ($AS_OF = last charge date); used only when AppTest fails
    "overview": [
        "select min(charge_date), max(charge_date) from marts.fct_daily_cost",
        "select distinct source_tag from marts.fct_daily_cost order by 1",
        "select charge_date, source_tag, sum(cost_usd)::double, sum(requests) "
        "from marts.fct_daily_cost where charge_date between $AS_OF - 89 and $AS_OF "
        "group by all order by all",
        "select source_tag, provider, model, sum(cost_usd)::double as c from marts.fct_daily_cost "
        "where charge_date between $AS_OF - 29 and $AS_OF group by all "
        "qualify row_number() over (partition by source_tag order by c desc) <= 10",
        "select * from analytics.cost_anomalies where anomaly_date >= $AS_OF - 89",
        "select * from analytics.cost_forecast where series_level = 'total'",
    ],
    "reconciliation": [
        "select * from marts.fct_reconciliation where period_grain = 'month' and model is null",
        "select * from marts.fct_reconciliation where period_grain = 'day' and model is null",
    ],
    "saas": [
        "select date, tool, sum(seats_paid), sum(idle_seats) from marts.fct_saas_seats_daily "
        "group by all order by all",
        "select * from marts.fct_saas_idle_seats",
    ],
}


class _Recorder:
    """A read connection that records every query sent through it."""

    def __init__(self, con, log: list):
        self._con, self._log = con, log

    def sql(self, query, params=None, **kw):
        self._log.append((query, params))
        return self._con.sql(query, params=params, **kw)

    def execute(self, query, parameters=None, **kw):
        self._log.append((query, parameters))
        return self._con.execute(query, parameters, **kw)

    def __getattr__(self, name):
        return getattr(self._con, name)


def _data_modules(root: Path) -> list:
    """`app.data` and any `app.data*` module or package (submodules included)."""
    sys.path.insert(0, str(root))
    names = [p.stem for p in (root / "app").glob("data*") if p.suffix in (".py", "")]
    mods = []
    for name in sorted(set(names)):
        mod = importlib.import_module(f"app.{name}")
        mods.append(mod)
        if hasattr(mod, "__path__"):
            mods += [
                importlib.import_module(m.name)
                for m in pkgutil.walk_packages(mod.__path__, f"{mod.__name__}.")
            ]
    return mods


def record_pages(root: Path, log: list) -> tuple[dict[str, list], dict[str, str], list[str]]:
    """Run every page once under AppTest, cache cleared: the (sql, params) each page sent, each
    page's path relative to the main script, and any page errors."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import bimo.warehouse as warehouse

    real = warehouse.read_connection

    def recording(*a, **k):
        con = real(*a, **k)
        return None if con is None else _Recorder(con, log)

    for mod in _data_modules(root):
        if hasattr(mod, "read_connection"):
            mod.read_connection = recording
    found: list = []
    original = st.navigation

    def capture(items, *a, **k):
        if not found:
            found.extend(
                items if isinstance(items, list) else [p for group in items.values() for p in group]
            )
        return original(items, *a, **k)

    st.navigation = capture
    queries: dict[str, list] = {}
    paths: dict[str, str] = {}
    errors: list[str] = []
    app = root / "app" / "streamlit_app.py"
    at = AppTest.from_file(str(app), default_timeout=120)
    st.cache_data.clear()
    log.clear()
    at.run()
    for i, page in enumerate(found):
        path = os.path.relpath(str(getattr(page, "_page", "")), app.parent)
        name = page.url_path or Path(path).stem
        if i > 0:
            st.cache_data.clear()
            log.clear()
            at.switch_page(path).run()
        if at.exception:
            errors.append(f"{name}: {at.exception[0].message}"[:300])
        queries[name], paths[name] = list(log), path
    return queries, paths, errors


def time_renders(root: Path, paths: dict[str, str], repeats: int) -> dict[str, list[float]]:
    """Seconds of each page's full render under AppTest, cache cleared before each."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(root / "app" / "streamlit_app.py"), default_timeout=120)
    at.run()
    out: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, path in paths.items():
            st.cache_data.clear()
            at.switch_page(path)
            t = time.perf_counter()
            at.run()
            out[name].append(time.perf_counter() - t)
    return out


def replay(queries: dict[str, list], repeats: int) -> dict[str, dict]:
    """Each page's queries, `repeats` times, on one fresh read connection per page run."""
    import duckdb

    from bimo.settings import get_settings
    from bimo.warehouse import read_connection

    settings = get_settings()
    out = {}
    for page, items in queries.items():
        failed = []
        for sql, params in items:  # a query the page itself fails on is reported, not timed
            con = read_connection(settings)
            try:
                con.sql(sql, params=params).pl()
            except duckdb.Error as exc:
                failed.append(f"{type(exc).__name__}: {' '.join(sql.split())[:80]}")
            finally:
                con.close()
        items = [
            q for q in items if not any(f.endswith(" ".join(q[0].split())[:80]) for f in failed)
        ]
        per_load, connects, per_query = [], [], [[] for _ in items]
        for _ in range(repeats):  # one connection per page run, as `app.data` opens it
            t = time.perf_counter()
            con = read_connection(settings)
            opened = time.perf_counter()
            try:
                for k, (sql, params) in enumerate(items):
                    q = time.perf_counter()
                    con.sql(sql, params=params).pl()
                    per_query[k].append(time.perf_counter() - q)
            finally:
                con.close()
            per_load.append(time.perf_counter() - t)
            connects.append(opened - t)
        slowest = max(range(len(items)), key=lambda k: percentile(per_query[k], 50), default=None)
        out[page] = {
            "queries": len(items),
            "p50_ms": round(percentile(per_load, 50) * 1000, 1),
            "p95_ms": round(percentile(per_load, 95) * 1000, 1),
            "connect_p50_ms": round(percentile(connects, 50) * 1000, 1),
            "failed_queries": failed,
            "n": repeats,
            "slowest_query_p50_ms": round(percentile(per_query[slowest], 50) * 1000, 1)
            if slowest is not None
            else None,
            "slowest_query": " ".join(items[slowest][0].split())[:160]
            if slowest is not None
            else None,
        }
    return out


def measure(
    warehouse: str,
    repeats: int = 20,
    render_repeats: int = 5,
    app_root: str | None = None,
    fallback: bool = True,
) -> dict:
    """The dashboard benchmark on the read copy of `warehouse` (see the module docstring), for
    the app under `app_root` (default: this working tree). A page that raises makes the run
    fall back to the fixed query set when `fallback`, else it is reported as is."""
    os.environ["BIMO_WAREHOUSE"] = warehouse
    root = Path(app_root) if app_root else ROOT
    log: list = []
    source, errors, paths = "AppTest recording", [], {}
    try:
        queries, paths, errors = record_pages(root, log)
    except Exception as exc:
        queries, errors = {}, [f"AppTest failed: {exc!r}"[:300]]
    if fallback and (errors or not any(queries.values())):
        source, queries = "fixed fallback set", _fallback()
    pages = replay(queries, repeats)
    renders: dict[str, list[float]] = {}
    if source == "AppTest recording" and render_repeats:
        renders = time_renders(root, paths, render_repeats)
    for page, times in renders.items():
        pages[page]["render_p50_ms"] = round(percentile(times, 50) * 1000, 1)
        pages[page]["render_p95_ms"] = round(percentile(times, 95) * 1000, 1)
        pages[page]["render_n"] = len(times)
    return {"source": source, "app": str(root), "pages": pages, "errors": errors}


def export_committed_app(dest: str) -> str:
    """The committed `app/` (git HEAD) under `dest`, for when the working tree's is mid-edit."""
    import subprocess
    import tarfile
    from io import BytesIO

    blob = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "HEAD", "app"], capture_output=True, check=True
    ).stdout
    Path(dest).mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def _fallback() -> dict[str, list]:
    from bimo.warehouse import read_connection

    con = read_connection()
    as_of = con.sql("select max(charge_date) from marts.fct_daily_cost").fetchall()[0][0]
    con.close()
    sub = f"date '{as_of}'"
    return {p: [(q.replace("$AS_OF", sub), None) for q in qs] for p, qs in FALLBACK.items()}
