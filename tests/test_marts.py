"""The marts built from the demo: money, unpriced requests, no content, idempotent reloads."""

import contextlib
import gzip
import json

import duckdb
import pytest

from bimo.analytics.series import last_complete_day
from ingestion.load import load_files
from tests.conftest import build, query, source_files

pytestmark = pytest.mark.slow
MARTS = ("fct_llm_requests", "fct_llm_usage_daily", "fct_daily_cost")
UNKNOWN_MODELS = ("claude-orion-preview", "acme-llama-70b-ft")


def read_json_records(path):
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    text = raw.decode()
    if text.lstrip().startswith("["):
        return json.loads(text)
    out = []
    for line in text.splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            out.append(json.loads(line))
    return out


def test_litellm_reported_cost_equals_input_spend(built, demo_dir):
    settings, _ = built
    spend = sum(
        r["spend"]
        for f in sorted((demo_dir / "litellm").iterdir())
        for r in read_json_records(f)
        if r.get("startTime")
    )
    [(loaded,)] = query(
        settings,
        "select sum(reported_cost_usd) from marts.fct_llm_requests where source_format = 'litellm'",
    )
    assert spend > 0
    assert abs(loaded - spend) <= 1e-9


def test_unpriced_requests_have_null_cost_and_are_counted(built):
    settings, _ = built
    [(unpriced, null_cost, unknown, usage_unpriced, daily_unpriced)] = query(
        settings,
        f"""
        select
            count(*) filter (where pricing_status = 'unpriced'),
            count(*) filter (where pricing_status = 'unpriced' and estimated_cost_usd is null),
            count(*) filter (where model in {UNKNOWN_MODELS} and not gateway_cache_hit),
            (select sum(unpriced_requests) from marts.fct_llm_usage_daily),
            (select sum(unpriced_requests) from marts.fct_daily_cost)
        from marts.fct_llm_requests
        """,
    )
    assert unpriced > 0
    assert unpriced == null_cost == unknown == usage_unpriced == daily_unpriced
    [(zero_priced,)] = query(
        settings,
        "select count(*) from marts.fct_llm_requests where pricing_status = 'priced' "
        "and estimated_cost_usd is null",
    )
    assert zero_priced == 0


def test_daily_cost_mart_adds_up_to_requests_per_tag(built):
    settings, _ = built
    rows = query(
        settings,
        """
        select r.source_tag, r.total, d.total
        from (select source_tag, sum(estimated_cost_usd) as total
              from marts.fct_llm_requests group by 1) r
        join (select source_tag, sum(cost_usd) as total
              from marts.fct_daily_cost group by 1) d using (source_tag)
        """,
    )
    assert {r[0] for r in rows} == {"dev", "prod"}
    for _, from_requests, from_daily in rows:
        assert abs(from_requests - from_daily) < 1e-6


def content_snippets(demo_dir, limit=40):
    """Prompt/response strings that the generator put into the logs."""
    found = []

    def walk(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif (
            isinstance(value, str)
            and key in {"content", "prompt", "response", "stringValue"}
            and len(value) > 40
            and " " in value
            and not value.startswith("{")
        ):
            found.append(value[:60])

    for source in ("bimo-gateway", "litellm", "otel-genai", "cli-log"):
        for f in sorted((demo_dir / source).iterdir())[:3]:
            for rec in read_json_records(f)[:300]:
                walk(rec)
    return sorted(set(found))[:limit]


def text_columns(con):
    return con.sql(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR' and table_schema not in ('information_schema', 'pg_catalog')"
    ).fetchall()


def test_no_content_text_reaches_the_warehouse(built, demo_dir):
    settings, _ = built
    snippets = content_snippets(demo_dir)
    assert len(snippets) >= 10
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        columns = text_columns(con)
        a_request_id = con.sql("select request_id from marts.fct_llm_requests limit 1").fetchall()
        needles = [a_request_id[0][0], *snippets]
        tables: dict[tuple[str, str], list[str]] = {}
        for schema, table, column in columns:
            tables.setdefault((schema, table), []).append(column)
        found = []  # (needle index, column): one scan per table counts every pair
        for (schema, table), names in tables.items():
            pairs = [(i, c) for c in names for i in range(len(needles))]
            counts_sql = ", ".join(f'count_if(contains("{c}", ${i + 1}))' for i, c in pairs)
            counts = con.execute(
                f'select {counts_sql} from "{schema}"."{table}"', needles
            ).fetchall()[0]
            stored = zip(pairs, counts, strict=True)
            found += [(i, f"{schema}.{table}.{c}") for (i, c), n in stored if n]
        hits = [(needles[i], where) for i, where in sorted(found, key=lambda f: f[0])]
    finally:
        con.close()
    # The scan finds what is stored (positive control) and no content.
    assert hits and hits[0][0] == a_request_id[0][0]
    assert [h for h in hits if h[0] != a_request_id[0][0]] == []
    for path in (settings.warehouse, settings.snapshot):
        data = path.read_bytes()
        assert not any(s.encode() in data for s in snippets)


def test_reloading_the_same_files_leaves_every_mart_unchanged(built, demo_dir):
    settings, _ = built

    def fingerprints():
        return {
            m: query(
                settings,
                "select count(*), md5(string_agg(cast(t as varchar), '|' "
                f"order by cast(t as varchar))) from marts.{m} t",
            )[0]
            for m in MARTS
        }

    before = fingerprints()
    again = load_files(source_files(demo_dir), settings=settings)
    build(settings)
    assert again.rows_loaded == 0
    assert fingerprints() == before


def test_last_complete_day_is_the_generated_end(built):
    settings, _ = built
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        from tests.conftest import END

        assert last_complete_day(con) == END
    finally:
        con.close()


def test_latency_histograms_hold_every_timed_request_and_give_percentiles_within_bounds(built):
    """The dashboard's percentiles come from `fct_llm_latency_daily`: every request with a
    duration is in one bucket, and a percentile read from the buckets (the app's own SQL) is
    within a bucket of the exact one per tag, provider and model."""
    from app.data_ai import _percentiles

    settings, _ = built
    counted, timed = query(
        settings,
        "select (select sum(requests) from marts.fct_llm_latency_daily), "
        "(select count(*) from marts.fct_llm_requests where duration_ms is not null)",
    )[0]
    assert counted == timed > 0
    keys = "source_tag, provider, model"
    rows = query(
        settings,
        f"""
        select h.latency_p50_ms, h.latency_p95_ms, e.p50, e.p95, e.n
        from ({_percentiles(keys, "true")}) as h
        join (
            select {keys}, count(*) as n,
                quantile_cont(duration_ms, 0.5) as p50, quantile_cont(duration_ms, 0.95) as p95
            from marts.fct_llm_requests where duration_ms is not null group by all
        ) as e using ({keys})
        where e.n >= 200
        """,
    )
    assert len(rows) >= 3
    for p50, p95, exact50, exact95, n in rows:
        assert abs(p50 / max(exact50, 1) - 1) < 0.05, (p50, exact50, n)
        assert abs(p95 / max(exact95, 1) - 1) < 0.05, (p95, exact95, n)


def test_error_breakdown_mart_counts_every_failed_request(built):
    settings, _ = built
    exact = query(
        settings,
        "select source_tag, provider, error_type, http_status, count(*) from "
        "marts.fct_llm_requests where is_error group by all order by all",
    )
    daily = query(
        settings,
        "select source_tag, provider, error_type, http_status, sum(requests)::bigint from "
        "marts.fct_llm_errors_daily group by all order by all",
    )
    assert daily == exact and sum(r[-1] for r in exact) > 0


def test_publish_stores_the_rows_per_source_and_day_of_the_copys_raw_tables(built):
    """The data-health page reads `health.source_rows_daily` from the read copy: it must equal a
    live count over the copy's own raw tables."""
    from bimo.source_health import ROWS_PER_DAY_TABLE, _tables, rows_per_day_sql

    settings, _ = built
    con = duckdb.connect(str(settings.snapshot), read_only=True)
    try:
        live = con.sql(f"{rows_per_day_sql(_tables(con))} order by all").fetchall()
        stored = con.sql(f"select * from {ROWS_PER_DAY_TABLE} order by all").fetchall()
        gateway = con.sql("select count(*) from raw_gateway.litellm_spend_logs").fetchall()[0][0]
    finally:
        con.close()
    assert stored == live
    assert sum(r[2] for r in stored if r[0] == "litellm") == gateway > 0
