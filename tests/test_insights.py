"""Insights: each kind fires on a constructed warehouse and stays quiet just under its threshold;
ids are deterministic; the Dagster asset stores them; and the demo-built marts give sane ones."""

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
import yaml

from bimo.analytics import insights as ins
from bimo.analytics.insights import compute_insights, store_insights
from bimo.warehouse import write_connection
from tests.conftest import built_copy

THROUGH = date(2026, 6, 30)  # current period 06-01 .. 06-30, previous 05-02 .. 05-31
CURRENT = [THROUGH - timedelta(days=i) for i in range(30)]
PREVIOUS = [THROUGH - timedelta(days=30 + i) for i in range(30)]
MARTS = Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "marts"
PRICES_DDL = """
create schema if not exists intermediate;
create table intermediate.int_llm_prices (
    provider varchar, model_ref varchar, valid_from date, valid_to date, tier_start_tokens bigint,
    input_per_mtok decimal(18, 9), cache_read_per_mtok decimal(18, 9),
    cache_write_per_mtok decimal(18, 9), output_per_mtok decimal(18, 9),
    reasoning_per_mtok decimal(18, 9), price_source varchar, catalogue_model_id varchar,
    priority integer
);
"""
MINI = ("openai", "gpt-4o-mini", 0.15, 0.6)  # provider, model, input and output $ per MTok


def contract_ddl(*models: str) -> str:
    """`create table marts.<model>` from the enforced contracts in the marts' YAML files."""
    columns = {}
    for path in MARTS.glob("_*.yml"):
        for m in yaml.safe_load(path.read_text())["models"]:
            columns[m["name"]] = [(c["name"], c["data_type"]) for c in m["columns"]]
    return "create schema if not exists marts;\n" + "\n".join(
        f"create table marts.{m} ({', '.join(f'{c} {t}' for c, t in columns[m])});" for m in models
    )


class Warehouse:
    """An empty warehouse with the marts insights read; rows are added by name."""

    def __init__(self, path: Path):
        self.path = path
        con = duckdb.connect(str(path))
        con.execute(contract_ddl("fct_daily_cost", "fct_llm_requests", "fct_saas_idle_seats"))
        con.execute(PRICES_DDL)
        con.close()

    def add(self, table: str, rows: list[dict]) -> None:
        frame = pl.DataFrame(rows)  # noqa: F841 - scanned by name below
        con = duckdb.connect(str(self.path))
        con.execute(f"insert into {table} by name select * from frame")
        con.close()

    def cost(self, days, usd, *, tag="prod", provider="openai", feature=None):
        self.add("marts.fct_daily_cost", [
            {"charge_date": d, "source_tag": tag, "service_category": "ai", "provider": provider,
             "feature": feature, "charge_category": "Usage", "currency": "USD", "cost_usd": usd}
            for d in days
        ])  # fmt: skip

    def requests(self, model, n, *, cost, tokens=(1000, 200), feature="chat", tag="prod",
                 status="priced", days=CURRENT):  # fmt: skip
        provider, name = model.split("/")
        self.add("marts.fct_llm_requests", [
            {"request_key": f"{model}:{feature}:{tag}:{status}:{days[0]}:{i}",
             "request_id": str(i), "source_tag": tag, "request_date": days[i % len(days)],
             "requested_at": datetime.combine(days[i % len(days)], time(23, 30), UTC),
             "provider": provider, "model": name, "is_error": False,
             "input_uncached_tokens": tokens[0], "cache_read_tokens": 0, "cache_write_tokens": 0,
             "output_tokens": tokens[1], "reasoning_tokens": 0, "input_total_tokens": tokens[0],
             "total_tokens": sum(tokens), "feature": feature, "project": "helpdesk",
             "pricing_status": status, "catalogue_model_id": name,
             "estimated_cost_usd": cost if status == "priced" else None}
            for i in range(n)
        ])  # fmt: skip

    def price(self, provider, model, input_per_mtok, output_per_mtok):
        self.add("intermediate.int_llm_prices", [
            {"provider": provider, "model_ref": model, "valid_from": date(2026, 1, 1),
             "valid_to": None, "tier_start_tokens": 0, "input_per_mtok": input_per_mtok,
             "cache_read_per_mtok": input_per_mtok, "cache_write_per_mtok": input_per_mtok,
             "output_per_mtok": output_per_mtok, "reasoning_per_mtok": output_per_mtok,
             "price_source": "genai-prices test", "catalogue_model_id": model, "priority": 1}
        ])  # fmt: skip

    def insights(self, **kw) -> pl.DataFrame:
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            return compute_insights(con, through=kw.pop("through", THROUGH), **kw)
        finally:
            con.close()


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    return Warehouse(tmp_path / "warehouse.duckdb")


def kinds(frame: pl.DataFrame, kind: str) -> list[dict]:
    return frame.filter(pl.col("kind") == kind).to_dicts()


@pytest.mark.parametrize(("openai", "fires"), [(81.0, True), (79.0, False)])
def test_cost_concentration(wh, openai, fires):
    wh.cost(CURRENT, openai, provider="openai")
    wh.cost(CURRENT, 100.0 - openai, provider="anthropic")
    wh.cost(CURRENT, 50.0, provider="anthropic", tag="dev")  # another tag: never mixed in
    wh.cost(CURRENT, 50.0, provider="openai", tag="dev")
    found = kinds(wh.insights(), "cost_concentration")
    assert bool(found) is fires
    if fires:
        (row,) = found
        assert (row["source_tag"], row["subject"]) == ("prod", "openai")
        assert row["metric_value"] == pytest.approx(0.81) and row["threshold"] == 0.8
        assert row["impact_usd_monthly"] == pytest.approx(81 * ins.DAYS_PER_MONTH, abs=0.01)
        assert "$2,430 of the $3,000 prod spend" in row["explanation"]
        assert "80% threshold" in row["explanation"]
        assert json.loads(row["evidence"])["tag_usd"] == 3000


@pytest.mark.parametrize(("current", "fires"), [(16.0, True), (14.5, False)])
def test_high_growth_per_tag_and_provider(wh, current, fires):
    wh.cost(PREVIOUS, 10.0, provider="openai")
    wh.cost(CURRENT, current, provider="openai")
    wh.cost(PREVIOUS + CURRENT, 10.0, provider="anthropic")  # flat
    found = {(r["subject_type"], r["subject"]): r for r in kinds(wh.insights(), "high_growth")}
    assert ("provider", "anthropic") not in found
    assert (("provider", "openai") in found) is fires
    if fires:
        row = found["provider", "openai"]
        assert row["metric_value"] == pytest.approx(0.6) and row["threshold"] == 0.5
        assert row["impact_usd_monthly"] == pytest.approx(6 * ins.DAYS_PER_MONTH, abs=0.01)
        assert (row["period_start"], row["period_end"]) == (CURRENT[-1], THROUGH)
        assert "$16.00 a day" in row["explanation"] and "$10.00 a day" in row["explanation"]
        assert "60% above" in row["explanation"] and "threshold: +50%" in row["explanation"]
        # tag total: 26/day vs 20/day = +30 %: under the threshold
        assert ("total", "total") not in found


def test_growth_skips_tiny_bases_and_short_history(wh):
    wh.cost(PREVIOUS, 0.3, provider="openai")  # $9 per 30 days: under MIN_BASE_USD
    wh.cost(CURRENT, 3.0, provider="openai")
    wh.cost(PREVIOUS[:10], 10.0, tag="dev")  # 10 days of data: not a comparable period
    wh.cost(CURRENT, 100.0, tag="dev")
    assert kinds(wh.insights(), "high_growth") == []


def test_total_growth_fires_on_the_tag(wh):
    wh.cost(PREVIOUS, 10.0, provider="openai")
    wh.cost(PREVIOUS, 10.0, provider="anthropic")
    wh.cost(CURRENT, 16.0, provider="openai")
    wh.cost(CURRENT, 16.0, provider="anthropic")
    subjects = {r["subject"] for r in kinds(wh.insights(), "high_growth")}
    assert subjects == {"total", "openai", "anthropic"}


@pytest.mark.parametrize(("current", "fires"), [(21.0, True), (19.5, False)])
def test_feature_spike(wh, current, fires):
    wh.cost(PREVIOUS, 10.0, feature="agent")
    wh.cost(CURRENT, current, feature="agent")
    wh.cost(PREVIOUS + CURRENT, 10.0, feature="chat")
    found = kinds(wh.insights(), "feature_spike")
    assert bool(found) is fires
    if fires:
        (row,) = found
        assert (row["subject_type"], row["subject"]) == ("feature", "agent")
        assert row["metric_value"] == pytest.approx(1.1) and row["threshold"] == 1.0
        assert "feature 'agent'" in row["title"]


def mini_cost(tokens=(1000, 200)) -> float:
    return (tokens[0] * MINI[2] + tokens[1] * MINI[3]) / 1e6


@pytest.mark.parametrize(("ratio", "fires"), [(3.2, True), (2.9, False)])
def test_expensive_model(wh, ratio, fires):
    wh.price(*MINI)
    wh.requests("openai/gpt-4o-mini", 60, cost=mini_cost())
    wh.requests("openai/gpt-4o", 60, cost=ratio * mini_cost(), tokens=(1100, 190))
    wh.requests("openai/gpt-4o", 60, cost=ratio * mini_cost(), feature="agent")  # no peer
    found = kinds(wh.insights(), "expensive_model")
    assert bool(found) is fires
    if fires:
        (row,) = found
        assert (row["subject"], row["scope"]) == ("openai/gpt-4o", "feature=chat")
        assert row["metric_value"] == pytest.approx(3.2) and row["threshold"] == 3.0
        now, at_mini = 60 * ratio * mini_cost(), 60 * mini_cost((1100, 190))
        saving = (now - at_mini) / 30 * ins.DAYS_PER_MONTH  # requests on 30 days
        assert row["impact_usd_monthly"] == pytest.approx(saving, abs=0.01)
        evidence = json.loads(row["evidence"])
        assert evidence["candidate"]["model"] == "gpt-4o-mini"
        assert evidence["cost_at_candidate_prices_usd"] == pytest.approx(at_mini, rel=1e-5)
        assert evidence["price_source"] == "genai-prices test"
        assert "3.20× the $0.00027 of openai/gpt-4o-mini" in row["explanation"]
        assert "1,100 vs 1,000 input and 190 vs 200 output" in row["explanation"]


def test_expensive_model_needs_a_similar_profile_and_enough_requests(wh):
    wh.price(*MINI)
    wh.requests("openai/gpt-4o-mini", 60, cost=mini_cost())
    # 10x dearer but with 1.6x the input tokens: not the same job
    wh.requests("openai/gpt-4o", 60, cost=10 * mini_cost(), tokens=(1600, 200))
    # 10x dearer, same profile, but only 49 requests
    wh.requests("anthropic/claude-sonnet-4-5", 49, cost=10 * mini_cost())
    assert kinds(wh.insights(), "expensive_model") == []
    wh.requests("anthropic/claude-sonnet-4-5", 1, cost=10 * mini_cost(), feature="chat",
                days=[THROUGH - timedelta(days=3)])  # fmt: skip
    assert [r["subject"] for r in kinds(wh.insights(), "expensive_model")] == [
        "anthropic/claude-sonnet-4-5"
    ]


def test_idle_seats(wh):
    def seat(key, days_idle, cost=19.0):
        return {"as_of_date": THROUGH, "tool": "github-copilot", "org": "acme", "seat_key": key,
                "plan": "business", "idle_since": THROUGH - timedelta(days=days_idle),
                "days_idle": days_idle, "monthly_cost_usd": cost}  # fmt: skip

    wh.add("marts.fct_saas_idle_seats", [seat("ann", 45), seat("bob", 30), seat("cy", 29)])
    wh.add("marts.fct_saas_idle_seats", [{**seat("dee", 29), "tool": "slack"}])  # just under
    (row,) = kinds(wh.insights(), "idle_seats")
    assert (row["subject"], row["metric_value"], row["threshold"]) == ("github-copilot", 2, 1)
    assert row["impact_usd_monthly"] == 38.0 and row["source_tag"] == "prod"
    assert (row["period_start"], row["period_end"]) == (THROUGH - timedelta(days=45), THROUGH)
    assert "2 paid github-copilot seats" in row["explanation"] and "$38.00 a month" in row["title"]


def test_unpriced_models(wh):
    wh.requests("anthropic/claude-orion-preview", 7, cost=None, status="unpriced")
    wh.requests("self_hosted/llama", 5, cost=None, status="unpriced", days=PREVIOUS)  # too old
    wh.requests("openai/gpt-4o-mini", 93, cost=0.001)
    (row,) = kinds(wh.insights(), "unpriced_model")
    assert (row["subject"], row["metric_value"], row["threshold"]) == (
        "anthropic/claude-orion-preview",
        7,
        0,
    )
    assert row["impact_usd_monthly"] is None
    assert "cost is NULL (unknown), not $0" in row["explanation"]
    assert "7.0% of the tag's requests" in row["explanation"]
    evidence = json.loads(row["evidence"])
    assert evidence["cost_usd"] is None and evidence["input_tokens"] == 7000


def test_ids_are_deterministic_and_the_asset_stores_json(wh, monkeypatch):
    from orchestration.defs.insights import insights

    wh.cost(CURRENT, 90.0, provider="openai")
    wh.cost(CURRENT, 10.0, provider="anthropic")
    wh.requests("anthropic/claude-orion-preview", 3, cost=None, status="unpriced")
    first, again = wh.insights(), wh.insights()
    assert first.equals(again) and first["insight_id"].n_unique() == first.height == 2
    assert list(first.columns) == list(ins.SCHEMA)
    monkeypatch.setenv("BIMO_WAREHOUSE", str(wh.path))
    result = dg.materialize([insights])  # `through`: the requests' last complete day
    assert result.success
    con = duckdb.connect(str(wh.path), read_only=True)
    stored = con.sql("select insight_id, evidence->>'$.provider_usd' as usd, typeof(evidence) "
                     "from analytics.insights order by all").fetchall()  # fmt: skip
    con.close()
    assert sorted(r[0] for r in stored) == sorted(first["insight_id"])
    assert {r[2] for r in stored} == {"JSON"} and "2700.0" in {r[1] for r in stored}


@pytest.mark.slow
def test_on_the_demo_built_marts(built, tmp_path):
    settings = built_copy(built, tmp_path)
    with write_connection(settings) as con:
        frame = compute_insights(con)
        assert store_insights(con, frame) == frame.height
    assert frame["insight_id"].is_unique().all()
    assert frame["severity"].is_in(["high", "medium", "low"]).all()
    assert (frame["period_end"] == date(2026, 10, 31)).all()
    # 35 days: no previous period to compare with, so no growth or spike
    assert {"expensive_model", "unpriced_model"} <= set(frame["kind"])
    assert not set(frame["kind"]) & {"high_growth", "feature_spike"}

    unpriced = {r["subject"]: r for r in kinds(frame, "unpriced_model")}
    assert set(unpriced) == {"anthropic/claude-orion-preview", "self_hosted/acme-llama-70b-ft"}
    for r in unpriced.values():
        assert r["impact_usd_monthly"] is None and r["metric_value"] > 0

    models = kinds(frame, "expensive_model")
    assert {"openai/gpt-4o", "anthropic/claude-sonnet-4-5"} & {r["subject"] for r in models}
    for r in models:
        e = json.loads(r["evidence"])
        assert r["metric_value"] > 3 and 0 < e["saving_usd"] < e["cost_usd"]
        assert e["candidate"]["cost_per_request"] * 3 < e["model"]["cost_per_request"]
        for side in ("mean_input", "mean_output"):
            lo, hi = sorted([e["candidate"][side], e["model"][side]])
            assert hi - lo <= 0.5 * lo
        assert r["impact_usd_monthly"] == pytest.approx(
            e["saving_usd"] / e["days_with_requests"] * ins.DAYS_PER_MONTH, abs=0.01
        )
    gpt4o = [r for r in models if r["subject"] == "openai/gpt-4o"]
    assert gpt4o and all("gpt-4o-mini" in r["title"] for r in gpt4o)

    for r in kinds(frame, "cost_concentration"):
        assert r["metric_value"] > 0.8 and r["impact_usd_monthly"] > 0
