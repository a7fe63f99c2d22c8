"""Anomalies people can trust: partial days, tax lines and restatements never flag; each anomaly
names its top driver and the first day of its run; acks survive recomputation.

A small warehouse is written directly in the marts' shape (no dbt): `prod` and `dev` AI traffic
from request logs, and `billing` cloud spend from one FOCUS feed with a day-1 tax line, a daily
commitment fee and a month-to-date delivery of October written at 14:00 on the 12th.
"""

import json
from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest

from bimo.analytics.acks import UnknownAnomalyError, acknowledge
from bimo.analytics.anomalies import detect
from bimo.analytics.anomaly_rows import anomaly_id
from bimo.analytics.coverage import Coverage, tag_coverage
from bimo.analytics.run import compute_anomalies, store
from bimo.analytics.signals import SIGNALS, signal_series
from bimo.analytics.spend import spend_rows, spend_series
from bimo.cli import main as bimo
from bimo.settings import get_settings
from bimo.warehouse import read_connection, write_connection

START, LAST = date(2026, 8, 1), date(2026, 10, 15)  # LAST is a Thursday
DAYS = [START + timedelta(days=i) for i in range((LAST - START).days + 1)]
PROD_PARTIAL, MTD_AT = LAST, datetime(2026, 10, 12, 14, tzinfo=UTC)  # prod logs end 09:00 on LAST
SPIKE_PROJECT, SPIKE_MODEL = date(2026, 9, 16), date(2026, 10, 7)  # Wednesdays
DEV_RUN = [date(2026, 9, 8), date(2026, 9, 9), date(2026, 9, 10)]
ERROR_BURST = date(2026, 9, 23)
# provider, model, project, team, feature, USD per weekday
PROD = [
    ("openai", "gpt-4o", "search", "growth", "chat", 20.0),
    ("openai", "gpt-4o-mini", "search", "growth", "classify", 5.0),
    ("openai", "gpt-4o", "billing-bot", "growth", "extract", 10.0),
    ("openai", "gpt-4o-mini", "billing-bot", "growth", "summarize", 3.0),
    ("anthropic", "claude-sonnet", "helpdesk", "support", "agent", 15.0),
    ("anthropic", "claude-haiku", "helpdesk", "support", "chat", 4.0),
]
DEV = [
    ("anthropic", "claude-sonnet", "notebooks", "data", "agent", 3.0),
    ("anthropic", "claude-sonnet", "infra", "platform", "agent", 2.0),
]
CLOUD = [("Amazon EC2", 200.0, 0.5), ("Amazon S3", 50.0, 1.0)]  # service, USD, weekend factor


def _noise(rng, n=None):
    return 1 + rng.normal(0, 0.03, n)


def _ai_rows(rng) -> list[dict]:
    rows = []
    for tag, combos in (("prod", PROD), ("dev", DEV)):
        for d in DAYS:
            week = 1.0 if d.weekday() < 5 else 0.5
            for provider, model, project, team, feature, usd in combos:
                y = usd * week * _noise(rng)
                if tag == "prod" and d == SPIKE_PROJECT and project == "billing-bot":
                    y *= 4
                if tag == "prod" and d == SPIKE_MODEL and model == "gpt-4o-mini":
                    y *= 5
                if tag == "dev" and d in DEV_RUN and project == "notebooks":
                    y *= 6
                if tag == "prod" and d == PROD_PARTIAL:
                    y *= 0.35  # the logs stop at 09:00
                service = {"openai": "OpenAI API", "anthropic": "Claude API"}[provider]
                rows.append({"charge_date": d, "source_tag": tag, "service_category": "ai",
                             "provider": provider, "service": service, "model": model,
                             "project": project, "team": team, "feature": feature,
                             "charge_category": "Usage", "cost": y, "cost_usd": y,
                             "list_cost_usd": y})  # fmt: skip
    return rows


def _line(d, delivery, category, service, usd, *, end=None) -> dict:
    start = datetime.combine(d, datetime.min.time(), UTC)
    return {"delivery_key": f"focus|123|{delivery['period']}", "delivery_id": delivery["id"],
            "delivery_rank": int(delivery["at"].timestamp() * 1e6), "charge_date": d,
            "charge_period_start": start,
            "charge_period_end": end or start + timedelta(days=1),
            "billing_period_start": delivery["start"], "billing_period_end": delivery["end"],
            "charge_category": category, "x_service_category": "cloud", "x_provider": "aws",
            "service_name": service, "x_model_key": None, "x_project": "acme-prod",
            "x_team": None, "cost_usd": usd, "list_cost_usd": usd}  # fmt: skip


def _billing_lines(rng, *, september_restated: bool) -> list[dict]:
    """Final August; September month-to-date (through the 27th, the 28th partial) or restated;
    October month-to-date through the 11th, the 12th partial."""
    months = {
        "2026-08": (date(2026, 8, 1), date(2026, 9, 1), datetime(2026, 9, 2, 6, tzinfo=UTC), None),
        "2026-09": (date(2026, 9, 1), date(2026, 10, 1), datetime(2026, 10, 2, 6, tzinfo=UTC),
                    None) if september_restated else
                   (date(2026, 9, 1), date(2026, 10, 1), datetime(2026, 9, 28, 14, tzinfo=UTC),
                    date(2026, 9, 28)),
        "2026-10": (date(2026, 10, 1), date(2026, 11, 1), MTD_AT, date(2026, 10, 12)),
    }  # fmt: skip
    lines = []
    for period, (first, end, at, partial) in months.items():
        start_ts, end_ts = (datetime.combine(x, datetime.min.time(), UTC) for x in (first, end))
        delivery = {"period": period, "id": f"{period}@{at:%d%H}", "at": at, "start": start_ts,
                    "end": end_ts}  # fmt: skip
        last = partial or (end - timedelta(days=1))
        for i in range((last - first).days + 1):
            d = first + timedelta(days=i)
            share = 0.55 if d == partial else 1.0
            for service, usd, weekend in CLOUD:
                week = 1.0 if d.weekday() < 5 else weekend
                lines.append(_line(d, delivery, "Usage", service, usd * week * share * _noise(rng)))
            lines.append(_line(d, delivery, "Purchase", "Savings Plans", 100.0 * share))
        lines.append(_line(first, delivery, "Tax", "Amazon EC2", 1500.0, end=end_ts))
        if period == "2026-09" and september_restated:
            lines.append(_line(first, delivery, "Usage", "Amazon EC2", 300.0, end=end_ts))
            lines.append(_line(date(2026, 8, 1), delivery, "Credit", "Amazon S3", -84.37,
                               end=start_ts))  # fmt: skip
            lines.append(_line(first, delivery, "Adjustment", "Amazon S3", 12.5))
    return lines


def _usage_daily(rng) -> list[dict]:
    rows = []
    for tag, providers in (("prod", ("openai", "anthropic")), ("dev", ("anthropic",))):
        for d in DAYS:
            for provider in providers:
                requests = 600 if d.weekday() < 5 else 300
                rate = 0.3 if (tag, provider, d) == ("prod", "anthropic", ERROR_BURST) else 0.01
                tokens = requests * 2000 * _noise(rng)
                rows.append({"usage_date": d, "source_tag": tag, "provider": provider,
                             "requests": requests, "error_requests": round(requests * rate),
                             "unpriced_requests": 0, "estimated_cost_usd": tokens * 2e-6,
                             "total_tokens": tokens, "input_uncached_tokens": tokens * 0.5,
                             "cache_read_tokens": tokens * 0.3 * _noise(rng),
                             "cache_write_tokens": tokens * 0.05})  # fmt: skip
    return rows


def write_warehouse(path, *, september_restated: bool = True) -> None:
    """The marts (and raw billing delivery metadata) Bimo's anomaly detection reads."""
    rng = np.random.default_rng(5)
    ai = pl.DataFrame(_ai_rows(rng))  # noqa: F841 - scanned by name below
    lines = pl.DataFrame(_billing_lines(rng, september_restated=september_restated))  # noqa: F841
    usage = pl.DataFrame(_usage_daily(rng))  # noqa: F841
    newest = [(9, 0), (8, 30), (23, 30)]  # prod's two log formats, then dev's
    requests = pl.DataFrame(  # noqa: F841
        {
            "source_tag": ["prod", "prod", "dev"],
            "source_format": ["litellm", "otel-genai", "cli"],
            "requested_at": [datetime(2026, 10, 15, h, m, tzinfo=UTC) for h, m in newest],
        }
    )
    con = duckdb.connect(str(path))
    try:
        for schema in ("marts", "raw_billing"):
            con.execute(f"create or replace schema {schema}")
        con.execute("create table marts.fct_llm_requests as select * from requests")
        con.execute("create table marts.fct_llm_usage_daily as select * from usage")
        con.execute("create table marts.fct_cost_line_items as select * from lines")
        con.execute(
            "create table raw_billing.line_items as select 'focus' as source_system, "
            "'123' as billing_account_id, * from lines"
        )
        con.execute(
            """
            create table marts.fct_daily_cost as
            select * from ai
            union all by name
            select charge_date, 'billing' as source_tag, x_service_category as service_category,
                   x_provider as provider, service_name as service, x_model_key as model,
                   x_project as project, x_team as team, null as feature, charge_category,
                   sum(cost_usd) as cost, sum(cost_usd) as cost_usd, sum(cost_usd) as list_cost_usd
            from lines group by all
            """
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("trust") / "warehouse.duckdb"
    write_warehouse(path)
    return path


@pytest.fixture(scope="module")
def found(warehouse) -> pl.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return compute_anomalies(con)
    finally:
        con.close()


def _on(found: pl.DataFrame, tag: str, day: date) -> pl.DataFrame:
    return found.filter((pl.col("source_tag") == tag) & (pl.col("anomaly_date") == day))


def _one(found: pl.DataFrame, tag: str, day: date, **where: str) -> dict:
    return _on(found, tag, day).filter(**where).row(0, named=True)


def test_each_tag_has_its_own_last_complete_day(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        coverage = tag_coverage(con)
    finally:
        con.close()
    # prod logs end at 09:00 on the 15th, dev at 23:30; the bill was cut at 14:00 on the 12th.
    assert coverage.through == {
        "billing": date(2026, 10, 11),
        "dev": date(2026, 10, 15),
        "prod": date(2026, 10, 14),
    }
    assert coverage.holes["billing"] == frozenset()


def test_partial_last_days_and_day1_tax_lines_are_never_flagged(warehouse, found):
    assert found["anomaly_date"].filter(found["source_tag"] == "prod").max() < PROD_PARTIAL
    assert _on(found, "billing", date(2026, 10, 12)).is_empty()
    for day1 in (date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)):
        assert _on(found, "billing", day1).is_empty()
    assert found.filter(pl.col("source_tag") == "billing").is_empty()
    # The cuts have teeth: scored through the newest row, both partial days are flagged drops.
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        naive = Coverage(through={"prod": PROD_PARTIAL, "billing": date(2026, 10, 12)})
        uncut = detect(spend_series(spend_rows(con, naive), naive))
    finally:
        con.close()
    flagged = set(uncut.filter(series_level="total").select("source_tag", "anomaly_date").rows())
    assert {("prod", PROD_PARTIAL), ("billing", date(2026, 10, 12))} <= flagged


def test_an_unrestated_month_to_date_cut_is_a_hole_then_just_data(tmp_path):
    before = tmp_path / "before.duckdb"
    write_warehouse(before, september_restated=False)
    con = duckdb.connect(str(before), read_only=True)
    try:
        coverage = tag_coverage(con)
        found = compute_anomalies(con)
        no_holes = Coverage(through=coverage.through)
        gappy = detect(spend_series(spend_rows(con, no_holes), no_holes))
    finally:
        con.close()
    # September's only delivery ends at 14:00 on the 28th: the 28th-30th are unknown, not $0.
    gap = {date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30)}
    assert coverage.holes["billing"] == frozenset(gap)
    assert coverage.through["billing"] == date(2026, 10, 11)
    assert found.filter(pl.col("source_tag") == "billing").is_empty()
    assert gap & set(gappy.filter(pl.col("source_tag") == "billing")["anomaly_date"])
    # The restated delivery (full month, a refund, an adjustment and a month-long usage
    # correction dated to day 1) is just data: no hole and nothing flagged at the boundary.
    after = tmp_path / "after.duckdb"
    write_warehouse(after, september_restated=True)
    con = duckdb.connect(str(after), read_only=True)
    try:
        coverage = tag_coverage(con)
        found = compute_anomalies(con)
        rows = spend_rows(con, coverage)
    finally:
        con.close()
    assert coverage.holes["billing"] == frozenset()
    assert found.filter(pl.col("source_tag") == "billing").is_empty()
    sept = rows.filter((pl.col("source_tag") == "billing") & (pl.col("ds").dt.month() == 9))
    first = sept.filter(pl.col("ds") == date(2026, 9, 1))["y"].sum()
    assert first < 300  # the $300 correction is spread over September, $10 a day


def test_top_driver_names_the_value_that_moved(found):
    total = _one(found, "prod", SPIKE_PROJECT, series_level="total")
    # billing-bot ×4 on both its models: the project explains the whole spike, no model does.
    assert (total["driver_dimension"], total["driver_value"]) == ("project", "billing-bot")
    assert total["driver_delta_usd"] == pytest.approx(39.0, rel=0.1)
    openai = _one(found, "prod", SPIKE_MODEL, series_key="openai")
    # gpt-4o-mini ×5 in every project: the model, not the provider or either project.
    assert (openai["driver_dimension"], openai["driver_value"]) == ("model", "gpt-4o-mini")
    assert openai["driver_delta_usd"] == pytest.approx(32.0, rel=0.1)
    model = _one(found, "prod", SPIKE_MODEL, series_level="model")
    assert model["driver_dimension"] == "project" and model["driver_value"] == "search"
    assert found.filter(pl.col("metric") != "cost_usd")["driver_dimension"].is_null().all()


def test_first_seen_is_the_start_of_the_run(found):
    run = found.filter(source_tag="dev", series_level="total").sort("anomaly_date")
    assert run["anomaly_date"].to_list() == DEV_RUN
    assert set(run["first_seen"]) == {DEV_RUN[0]}
    single = _on(found, "prod", SPIKE_PROJECT)
    assert set(single["first_seen"]) == {SPIKE_PROJECT}


def test_rows_carry_ids_dimensions_and_ai_signals(warehouse, found):
    assert found["anomaly_id"].n_unique() == found.height
    row = _one(found, "prod", SPIKE_PROJECT, series_key="billing-bot")
    assert row["series_level"] == "project" and row["project"] == "billing-bot"
    assert row["provider"] is None and row["model"] is None
    assert row["anomaly_id"] == anomaly_id(
        "prod", "cost_usd", "project", "billing-bot", SPIKE_PROJECT
    )
    assert row["impact_usd"] == pytest.approx(row["actual"] - row["expected"])
    burst = _on(found, "prod", ERROR_BURST).filter(pl.col("metric") == "error_rate")
    assert set(burst["series_key"]) == {"total", "anthropic"}
    assert burst["impact_usd"].is_null().all()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        coverage = tag_coverage(con)
        signals = signal_series(con, coverage)
        again = compute_anomalies(con)
    finally:
        con.close()
    assert set(signals["metric"]) == set(SIGNALS)
    prod = signals.filter(pl.col("source_tag") == "prod")
    assert set(prod["series_key"]) == {"total", "openai", "anthropic"}
    assert prod["ds"].max() == coverage.through["prod"]
    assert again["anomaly_id"].to_list() == found["anomaly_id"].to_list()  # stable ids


def test_ack_survives_recompute_and_silences_alerts(warehouse, tmp_path):
    from bimo.alerts.config import RuleSettings
    from bimo.alerts.rules import anomaly_alerts

    settings = get_settings(tmp_path / "warehouse.duckdb")
    settings.warehouse.write_bytes(warehouse.read_bytes())
    with write_connection(settings) as con:
        store(con, "cost_anomalies", compute_anomalies(con))
    con = read_connection(settings)
    target, detected = con.sql(
        "select anomaly_id, detected_at from analytics.cost_anomalies "
        "where source_tag = 'prod' and series_level = 'total' order by anomaly_date limit 1"
    ).fetchall()[0]
    con.close()
    reason = "billing-bot backfill, planned"
    assert bimo(["anomalies", "ack", target, "--reason", reason,
                 "--warehouse", str(settings.warehouse)]) == 0  # fmt: skip
    with write_connection(settings) as con:  # the daily recompute
        store(con, "cost_anomalies", compute_anomalies(con))
    con = read_connection(settings)
    try:
        table = con.sql("select * from analytics.cost_anomalies").pl()
    finally:
        con.close()
    acked = table.filter(pl.col("anomaly_id") == target).row(0, named=True)
    assert (acked["status"], acked["ack_reason"]) == ("acknowledged", reason)
    assert acked["acknowledged_at"] is not None and acked["detected_at"] == detected
    assert table.filter(pl.col("anomaly_id") != target)["status"].unique().to_list() == ["open"]
    alerts = anomaly_alerts(table, RuleSettings(), date(2026, 1, 1), datetime.now())
    ids = {json.loads(a["details"])["anomaly_id"] for a in alerts}
    assert target not in ids and len(ids) == table.height - 1


def test_ack_of_an_unknown_id_exits_2(warehouse, tmp_path, capsys):
    settings = get_settings(tmp_path / "warehouse.duckdb")
    settings.warehouse.write_bytes(warehouse.read_bytes())
    with write_connection(settings) as con:
        store(con, "cost_anomalies", compute_anomalies(con))
    args = ["anomalies", "ack", "0000000000000000", "--reason", "x"]
    assert bimo([*args, "--warehouse", str(settings.warehouse)]) == 2
    assert "no anomaly with id '0000000000000000'" in capsys.readouterr().out
    with pytest.raises(ValueError, match="reason"):
        acknowledge(settings, "0000000000000000", "  ")
    with pytest.raises(UnknownAnomalyError):
        acknowledge(settings, "0000000000000000", "x")
    assert bimo(["anomalies", "list", "--status", "acknowledged", "--warehouse",
                 str(settings.warehouse)]) == 0  # fmt: skip
    assert "no anomalies with status acknowledged" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_bills_month_to_date_then_restated(tmp_path):
    """The demo's own exports through the real parsers and dbt: October month-to-date (cut at
    14:00 on the 28th, three clouds), then its restated delivery with a refund and a late
    adjustment. Billing anomalies only ever fall on the demo's incidents (its cloud has none)."""
    from bimo.demo import generate
    from ingestion.billing.apis import parse_saved
    from ingestion.billing.files import FILE_SOURCES, expand_billing_paths
    from ingestion.billing.load import load_billing
    from ingestion.load import load_files
    from tests.conftest import build, source_files

    out = tmp_path / "demo"
    generate(out, days=45, requests_per_day=150, seed=7, end=date(2026, 10, 31))
    labels = json.loads((out / "labels.json").read_text())["anomalies"]
    days = [
        (date.fromisoformat(a["start_date"]), date.fromisoformat(a["end_date"])) for a in labels
    ]
    incident_days = {a + timedelta(days=i) for a, b in days for i in range((b - a).days + 1)}
    kinds: dict[str, list] = {"final": [], "mtd": [], "restated": []}
    for name, files in json.loads((out / "billing/truth.json").read_text())["file_sets"].items():
        for period in files["periods"].values() if name.startswith("focus-") else ():
            for delivery in period["deliveries"]:
                kinds[delivery["kind"]].append(out / delivery["file"])
    settings = get_settings(tmp_path / "warehouse.duckdb")
    load_files(source_files(out), settings=settings)
    saved = {"openai-costs": "openai/costs.json", "anthropic-costs": "anthropic/cost_report.json"}
    apis = [parse_saved(source, out / "billing-api" / page) for source, page in saved.items()]

    def focus(paths):
        return [FILE_SOURCES["focus"](f) for f in expand_billing_paths(paths)]

    def billing_anomalies() -> tuple[Coverage, pl.DataFrame]:
        build(settings)
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        try:
            return tag_coverage(con), compute_anomalies(con).filter(source_tag="billing")
        finally:
            con.close()

    load_billing([*focus(kinds["final"] + kinds["mtd"]), *apis], settings=settings)
    coverage, billing = billing_anomalies()
    assert coverage.through["billing"] == date(2026, 10, 27)  # the 28th is partial
    assert not billing.is_empty() and billing["anomaly_date"].max() <= date(2026, 10, 27)
    assert set(billing["anomaly_date"]) <= incident_days

    load_billing(focus(kinds["restated"]), settings=settings)
    coverage, billing = billing_anomalies()
    assert coverage.through["billing"] == date(2026, 10, 31)
    assert coverage.holes["billing"] == frozenset()
    assert set(billing["anomaly_date"]) <= incident_days
    assert date(2026, 10, 1) not in set(billing["anomaly_date"])  # tax, credits, adjustment
