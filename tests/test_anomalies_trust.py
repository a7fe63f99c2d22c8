"""Anomalies people can trust: partial days, tax lines and restatements never flag; each anomaly
names its top driver and the first day of its run; acks survive recomputation.

The tests run on a small warehouse written directly in the marts' shape, without dbt
(tests/anomaly_trust_data.py).
"""

import json
from datetime import date, datetime, timedelta

import duckdb
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
from tests.anomaly_trust_data import (
    DEV_RUN,
    ERROR_BURST,
    PROD_PARTIAL,
    SPIKE_MODEL,
    SPIKE_PROJECT,
    write_warehouse,
)


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
