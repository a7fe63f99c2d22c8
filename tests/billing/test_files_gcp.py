"""GCP billing export: BigQuery JSON rows and a flattened CSV dump with Python-repr arrays."""

import ast
import gzip
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ingestion.billing.files import gcp
from tests.billing.test_files_common import (
    DATA,
    assert_invariants,
    csv_records,
    quarantined,
    rows_by_line,
)

JSONL = DATA / "gcp" / "gcp_billing_export_resource_v1_003576_4CB9A5_BC33DB.jsonl"
CSV = DATA / "gcp" / "gcp_billing_export_flattened.csv"


def category(cost_type: str | None, sku: str | None) -> str:
    if (sku or "").startswith("Commitment") and cost_type in (None, "regular"):
        return "Purchase"
    return gcp.COST_TYPES.get(cost_type, "Usage") if cost_type else "Usage"


def net_sums(records: list[dict], skip: set[int]) -> dict[tuple[str, str], Decimal]:
    """Σ (cost + Σ credits.amount) per (currency, category), computed independently."""
    out: dict[tuple[str, str], Decimal] = {}
    for line, r in enumerate(records, start=1):
        if line in skip:
            continue
        credits = r.get("credits") or []
        net = Decimal(str(r["cost"])) + sum(
            (Decimal(str(c["amount"])) for c in credits), Decimal(0)
        )
        key = (r["currency"], category(r.get("cost_type"), r.get("sku", {}).get("description")))
        out[key] = out.get(key, Decimal(0)) + net
    return out


def json_records() -> list[dict]:
    out = []
    for line in JSONL.read_text().splitlines():
        try:
            out.append(json.loads(line, parse_float=Decimal))
        except ValueError:
            out.append({})
    return out


def csv_as_records() -> list[dict]:
    out = []
    for r in csv_records(CSV):
        try:
            credits = ast.literal_eval(r["credits"])
        except (ValueError, SyntaxError):
            credits = []
        out.append({**r, "credits": credits, "sku": {"description": r["sku.description"]}})
    return out


def test_bigquery_json_rows_net_cost_invariants_and_quarantine():
    parse = gcp.parse(JSONL)
    assert parse.rows_in == 10
    assert_invariants(parse, net_sums(json_records(), skip={8, 9, 10}))
    reasons = quarantined(parse)
    assert reasons[8] == 'unparseable cost: "abc"'
    assert reasons[9].startswith("invalid JSON")
    assert reasons[10] == "missing usage_start_time"


def test_bigquery_json_rows_map_values():
    rows = rows_by_line(gcp.parse(JSONL))
    vm = rows[1]
    assert vm["billing_account_id"] == "003576-4CB9A5-BC33DB"
    assert vm["billed_cost"] == Decimal("0.126444") - Decimal("0.025289")  # net of credits
    assert vm["contracted_cost"] == Decimal("0.126444")
    extra = json.loads(vm["extra"])
    assert extra["cost"] == "0.126444" and Decimal(extra["credits_total"]) == Decimal("-0.025289")
    assert extra["credits"].startswith('[{"name": "Sustained Usage Discount", "amount": -0.025289')
    assert vm["charge_period_start"] == datetime(2024, 5, 12, 22, tzinfo=UTC)
    assert json.loads(vm["tags"]) == {
        "team": "ml",
        "project:env": "prod",
        "compute.googleapis.com/machine_spec": "n1-standard-4",
        "987654321/env": "prod",
    }
    assert vm["delivery_key"] == "gcp|003576-4CB9A5-BC33DB|2024-05"
    gemini = rows[2]  # free-trial credit offsets the whole sub-micro cost
    assert gemini["billed_cost"] == 0 and gemini["contracted_cost"] == Decimal("2.32376E-9")
    assert (gemini["service_category"], gemini["token_type"]) == (
        "AI and Machine Learning",
        "input_uncached",
    )
    boundary = rows[3]  # April usage invoiced in May
    assert boundary["charge_period_start"] == datetime(2024, 4, 30, 23, tzinfo=UTC)
    assert boundary["billing_period_start"] == datetime(2024, 5, 1, tzinfo=UTC)
    assert boundary["billing_period_end"] == datetime(2024, 6, 1, tzinfo=UTC)
    eur = rows[4]
    assert eur["usd_exchange_rate"] == pytest.approx(1 / 0.93365)
    assert json.loads(eur["tags"])["team"] == "analytics"  # resource label beats project label
    assert rows[5]["charge_category"] == "Purchase"  # commitment fee SKU
    assert rows[6]["charge_category"] == "Tax"
    assert (rows[7]["charge_category"], rows[7]["charge_class"]) == ("Adjustment", "Correction")


def test_flattened_csv_with_python_repr_arrays():
    parse = gcp.parse(CSV)
    assert_invariants(parse, net_sums(csv_as_records(), skip={3, 5}))
    assert quarantined(parse) == {
        3: "missing usage_start_time",
        5: 'unparseable credits: "[not a list"',
    }
    rows = rows_by_line(parse)
    storage = rows[1]
    assert storage["billed_cost"] == Decimal("6.26609E-12")
    assert storage["charge_period_start"] == datetime(2020, 11, 9, 23, tzinfo=UTC)
    assert json.loads(storage["tags"]) == {"env": "prod", "goog-resource-type": "storage_bucket"}
    assert storage["region_id"] is None  # `None` token
    assert json.loads(rows[2]["tags"]) == {"project:owner": "o'neil"}
    assert rows[2]["billed_cost"] == Decimal("0.101155")
    assert rows[4]["billing_period_start"] == datetime(2020, 12, 1, tzinfo=UTC)  # 202012


def test_gzip_json_and_json_array_variants(tmp_path):
    gz = tmp_path / "export.jsonl.gz"
    gz.write_bytes(gzip.compress(JSONL.read_bytes()))
    assert_invariants(gcp.parse(gz), net_sums(json_records(), skip={8, 9, 10}))
    records = [json.loads(x) for x in JSONL.read_text().splitlines()[:7]]
    array = tmp_path / "export.json"
    array.write_text(json.dumps(records))
    parse = gcp.parse(array)
    assert parse.rows_in == 7 and parse.quarantine == []
    assert sum(r["billed_cost"] for r in parse.line_items.to_pylist()) == sum(
        net_sums(json_records()[:7], skip=set()).values()
    )


def test_structurally_wrong_files_raise(tmp_path):
    no_cost = tmp_path / "no_cost.csv"
    no_cost.write_text(CSV.read_text().replace(",cost,", ",price,"))
    with pytest.raises(
        ValueError, match=r"no_cost\.csv: GCP billing export file is missing .*cost"
    ):
        gcp.parse(no_cost)
    other = tmp_path / "other.jsonl"
    other.write_text('{"a": 1}\n')
    with pytest.raises(
        ValueError, match=r"other\.jsonl: no recognisable GCP billing export header"
    ):
        gcp.parse(other)
