"""FOCUS exports as they really come: alphabetical columns, BOM, NULL tokens, quoted numbers."""

import gzip
import json
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.billing.files import focus
from tests.billing.test_files_common import (
    DATA,
    assert_invariants,
    csv_records,
    input_sums,
    quarantined,
    rows_by_line,
)

ALPHA = DATA / "focus" / "focus_1_2_alphabetical.csv"
V13 = DATA / "focus" / "focus_1_3.csv"
BAD_LINES = {7, 8, 11}


def expected(path, skip=BAD_LINES):
    return input_sums(
        csv_records(path),
        skip=skip,
        key=lambda r: (r["BillingCurrency"].upper(), r["ChargeCategory"].capitalize()),
        cost=lambda r: Decimal(r["BilledCost"]),
    )


def test_alphabetical_export_loads_with_invariants_and_quarantine():
    parse = focus.parse(ALPHA)
    assert parse.rows_in == 11 and parse.line_items.num_rows == 8
    assert_invariants(parse, expected(ALPHA))
    assert quarantined(parse) == {
        7: 'unparseable BilledCost: "n/a"',
        8: 'unparseable ChargePeriodStart: "2024-13-45 00:00:00"',
        11: "missing BillingAccountId",
    }


def test_alphabetical_export_maps_values_exactly():
    rows = rows_by_line(focus.parse(ALPHA))
    ec2 = rows[1]
    assert ec2["billing_account_id"] == "0099999999999" and ec2["sub_account_id"] == "0012345678901"
    assert ec2["charge_period_start"] == datetime(2024, 9, 1, tzinfo=UTC)
    assert ec2["charge_period_end"] == datetime(2024, 9, 1, 1, tzinfo=UTC)
    assert ec2["billing_period_end"] == datetime(2024, 10, 1, tzinfo=UTC)
    assert json.loads(ec2["tags"]) == {"user:Team": "ml", "env": "prod", "costcenter": "1234"}
    assert (ec2["billed_cost"], ec2["effective_cost"], ec2["list_cost"]) == (
        Decimal("1.68"), Decimal("1"), Decimal("3.36"),
    )  # fmt: skip
    assert ec2["delivery_key"] == "focus|0099999999999|2024-09"
    assert (
        ec2["delivery_id"] == ALPHA.name
        and ec2["delivery_rank"] == ALPHA.stat().st_mtime_ns // 1000
    )
    assert json.loads(ec2["extra"]) == {
        "ContractedUnitPrice": "0.042",
        "Id": "1",
        "ListUnitPrice": "0.0000004",
        "x_ServiceCode": "AmazonEC2",
    }
    assert ec2["conformance_issues"] is None and ec2["charge_class"] is None
    oracle = rows[2]
    assert oracle["billed_cost"] == Decimal("2.32376000E-9")
    assert oracle["billing_currency"] == "USD" and oracle["usd_exchange_rate"] == 1.0
    assert oracle["charge_frequency"] == "Usage-Based" and oracle["tags"] is None
    assert json.loads(oracle["conformance_issues"]) == [
        "ChargeFrequency casing 'Usage-based'",
        "RegionId missing",
        "EffectiveCost 0 while BilledCost > 0",
    ]
    assert json.loads(rows[3]["conformance_issues"]) == ["negative Usage row without ChargeClass"]
    assert json.loads(rows[3]["tags"]) == {"env": "prod", "hidden-title": "true"}
    assert rows[6]["charge_category"] == "Purchase" and rows[6]["conformance_issues"] is None
    assert rows[9]["billing_currency"] == "EUR" and rows[9]["usd_exchange_rate"] is None
    assert rows[10]["billed_cost"] == Decimal("6.26609E-12")
    assert json.loads(rows[10]["conformance_issues"]) == ["ChargeCategory casing 'usage'"]


def test_focus_1_3_provider_columns_and_azure_exchange_rate():
    parse = focus.parse(V13)
    assert_invariants(parse, expected(V13, skip=set()))
    first, second = parse.line_items.to_pylist()
    assert first["provider_name"] == "Microsoft" and first["publisher_name"] == "Microsoft"
    assert second["publisher_name"] == "Contoso Marketplace Seller"
    # x_BillingExchangeRate is pricing (USD) → billing (EUR): USD per EUR is its inverse
    assert first["usd_exchange_rate"] == pytest.approx(1 / 0.93)
    assert first["service_subcategory"] == "Generative AI"
    extra = json.loads(first["extra"])
    assert extra["x_BillingExchangeRate"] == "0.93" and extra["PricingCurrency"] == "USD"


def test_gzip_export_parses_like_the_plain_csv(tmp_path):
    gz = tmp_path / "focus.csv.gz"
    gz.write_bytes(gzip.compress(ALPHA.read_bytes()))
    plain, zipped = focus.parse(ALPHA), focus.parse(gz)
    assert_invariants(zipped, expected(ALPHA))
    keep = [
        "billing_account_id",
        "billed_cost",
        "tags",
        "charge_period_start",
        "conformance_issues",
    ]
    assert zipped.line_items.select(keep) == plain.line_items.select(keep)
    assert quarantined(zipped) == quarantined(plain)


def test_parquet_export_with_typed_columns(tmp_path):
    ts = pa.timestamp("us", tz="UTC")
    table = pa.table({
        "BillingAccountId": ["0099999999999", "0099999999999"],
        "BillingCurrency": ["USD", "USD"],
        "BilledCost": pa.array([Decimal("2.32376E-9"), Decimal("-1.5")], pa.decimal128(38, 18)),
        "EffectiveCost": pa.array([1e-9, -1.5], pa.float64()),
        "ChargeCategory": ["Usage", "Credit"],
        "BillingPeriodStart": pa.array([datetime(2024, 9, 1, tzinfo=UTC)] * 2, ts),
        "BillingPeriodEnd": pa.array([datetime(2024, 10, 1, tzinfo=UTC)] * 2, ts),
        "ChargePeriodStart": pa.array([datetime(2024, 9, 1, 5, tzinfo=UTC)] * 2, ts),
        "ChargePeriodEnd": pa.array([datetime(2024, 9, 1, 6, tzinfo=UTC)] * 2, ts),
        "ProviderName": ["AWS", "AWS"],
        "Tags": ['{"team": "ml"}', None],
        "x_Discounts": pa.array([None, {"edp": 0.1}], pa.struct([("edp", pa.float64())])),
    })  # fmt: skip
    path = tmp_path / "focus.parquet"
    pq.write_table(table, path)
    parse = focus.parse(path)
    assert_invariants(
        parse, {("USD", "Usage"): Decimal("2.32376E-9"), ("USD", "Credit"): Decimal("-1.5")}
    )
    usage, credit = parse.line_items.to_pylist()
    assert usage["charge_period_start"] == datetime(2024, 9, 1, 5, tzinfo=UTC)
    assert usage["effective_cost"] == Decimal("1E-9")
    assert json.loads(usage["tags"]) == {"team": "ml"}
    assert json.loads(credit["extra"]) == {"x_Discounts": '{"edp":0.1}'}


def test_header_only_file_is_empty_not_an_error(tmp_path):
    path = tmp_path / "focus.csv"
    path.write_text(ALPHA.read_text(encoding="utf-8-sig").splitlines()[0] + "\n")
    parse = focus.parse(path)
    assert parse.rows_in == 0 and parse.line_items.num_rows == 0 and parse.quarantine == []


def test_structurally_wrong_files_raise_naming_file_and_column(tmp_path):
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("\n".join(ALPHA.read_text(encoding="utf-8-sig").splitlines()[1:3]))
    with pytest.raises(ValueError, match=r"headerless\.csv: no recognisable FOCUS header"):
        focus.parse(headerless)
    no_cost = tmp_path / "no_cost.csv"
    lines = V13.read_text().splitlines()
    no_cost.write_text("\n".join(ln.replace(",BilledCost,", ",Cost,") for ln in lines))
    with pytest.raises(ValueError, match=r"no_cost\.csv: FOCUS file is missing .*BilledCost"):
        focus.parse(no_cost)


def test_unknown_values_and_bad_tags_are_flagged_not_rejected(tmp_path):
    header, first, _ = V13.read_text().splitlines()
    unknown = first.replace(",Usage,,", ",Discount,,")
    bad_tags = first.replace('"{""team"":""search""}"', "team=search")
    no_end = first.replace("2025-01-06T00:00:00Z", "")
    path = tmp_path / "odd.csv"
    path.write_text("\n".join([header, unknown, bad_tags, no_end]) + "\n")
    parse = focus.parse(path)
    assert quarantined(parse) == {3: "missing ChargePeriodEnd"}
    assert_invariants(
        parse, {("EUR", "Discount"): Decimal("9.3"), ("EUR", "Usage"): Decimal("9.3")}
    )
    first_row, second_row = parse.line_items.to_pylist()
    assert first_row["charge_category"] == "Discount"
    assert json.loads(first_row["conformance_issues"]) == ["unknown ChargeCategory 'Discount'"]
    assert json.loads(second_row["tags"]) == {"_raw": "team=search"}
    assert json.loads(second_row["conformance_issues"]) == ["Tags not a JSON object"]
