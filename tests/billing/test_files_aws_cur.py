"""AWS CUR: legacy assemblies with manifests, CUR 2.0 CSV with JSON maps, Parquet with maps."""

import gzip
import json
import shutil
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.billing.files import aws_cur
from tests.billing.test_files_common import (
    DATA,
    assert_invariants,
    csv_records,
    input_sums,
    quarantined,
    rows_by_line,
)

ASSEMBLY = "4b7f0e1c-5a2d-4c61-9d7e-2f1a6b3c8d90"
PERIOD_DIR = DATA / "aws_cur" / "legacy" / "20231101-20231201"
LEGACY = PERIOD_DIR / ASSEMBLY / "cur-00001.csv"
CUR2 = DATA / "aws_cur" / "cur2" / "BILLING_PERIOD=2024-05" / "cur2-00001.csv"


def expected(path, *, skip, type_col, cost_col, currency_col):
    return input_sums(
        csv_records(path),
        skip=skip,
        key=lambda r: (r[currency_col], aws_cur.CATEGORY.get(r[type_col], "Adjustment")),
        cost=lambda r: Decimal(r[cost_col]),
    )


def legacy_expected(path=LEGACY):
    return expected(
        path,
        skip={14, 16},
        type_col="lineItem/LineItemType",
        cost_col="lineItem/UnblendedCost",
        currency_col="lineItem/CurrencyCode",
    )


def test_legacy_cur_invariants_quarantine_and_manifest_delivery():
    parse = aws_cur.parse(LEGACY)
    assert parse.rows_in == 16
    assert_invariants(parse, legacy_expected())
    assert quarantined(parse) == {
        14: 'unparseable lineItem/UnblendedCost: "abc"',
        16: 'unparseable lineItem/UsageStartDate: "2023-11-31T00:00:00Z"',
    }
    first = parse.line_items.to_pylist()[0]
    manifest = PERIOD_DIR / "cur-Manifest.json"
    assert first["delivery_id"] == ASSEMBLY
    assert first["delivery_rank"] == manifest.stat().st_mtime_ns // 1000
    assert first["delivery_key"] == "aws-cur|0099999999999|2023-11"


def test_legacy_cur_effective_cost_follows_the_line_item_type():
    rows = rows_by_line(aws_cur.parse(LEGACY))
    effective = {line: row["effective_cost"] for line, row in rows.items()}
    assert effective[1] == Decimal("1.68")  # Usage: unblended
    assert effective[2] == Decimal("0.065")  # DiscountedUsage: reservation effective cost
    assert effective[3] == Decimal("2.0")  # RIFee: unused upfront + unused recurring
    assert effective[4] == 0  # Fee with a reservation ARN: RI upfront, amortised elsewhere
    assert effective[5] == Decimal("0.0605")  # SavingsPlanCoveredUsage: SP effective cost
    assert effective[6] == 0  # SavingsPlanNegation
    assert effective[7] == Decimal("1.5")  # SavingsPlanRecurringFee: commitment − used
    assert effective[8] == 0  # SavingsPlanUpfrontFee
    categories = {line: (r["charge_category"], r["charge_class"]) for line, r in rows.items()}
    assert categories[6] == ("Usage", None)
    assert categories[7] == categories[8] == ("Purchase", None)
    assert categories[9] == ("Tax", None)
    assert categories[10] == ("Credit", None)
    assert categories[11] == ("Credit", "Correction")  # Refund
    assert categories[12] == ("Credit", None)  # EdpDiscount
    assert rows[2]["commitment_discount_status"] == "Used"
    assert rows[2]["commitment_discount_id"].endswith("reserved-instances/ri-1")


def test_legacy_cur_maps_accounts_times_tags_and_services():
    rows = rows_by_line(aws_cur.parse(LEGACY))
    ec2 = rows[1]
    assert ec2["billing_account_id"] == "0099999999999" and ec2["sub_account_id"] == "0012345678901"
    assert ec2["charge_period_start"] == datetime(2023, 11, 1, tzinfo=UTC)
    assert ec2["billing_period_end"] == datetime(2023, 12, 1, tzinfo=UTC)
    assert ec2["list_cost"] == Decimal("3.36") and ec2["billed_cost"] == Decimal("1.68")
    assert json.loads(ec2["tags"]) == {"user:Team": "ml"}
    assert json.loads(rows[2]["tags"]) == {"user:Team": "ml", "aws:createdBy": "alice"}
    assert json.loads(ec2["extra"])["costCategory/Env"] == "prod"
    assert "resourceTags/user:Team" not in json.loads(ec2["extra"])
    assert (ec2["provider_name"], ec2["service_category"]) == ("AWS", "Compute")
    assert ec2["invoice_issuer_name"] == "Amazon Web Services EMEA SARL"
    tax = rows[9]  # tax lands on day 1 and spans the month
    assert (tax["charge_period_start"], tax["charge_period_end"]) == (
        datetime(2023, 11, 1, tzinfo=UTC),
        datetime(2023, 12, 1, tzinfo=UTC),
    )
    bedrock = rows[13]
    assert bedrock["service_category"] == "AI and Machine Learning"
    assert bedrock["token_type"] == "input_uncached"
    assert rows[15]["charge_period_start"] == datetime(2023, 11, 3, 1, tzinfo=UTC)  # TimeInterval


def test_gzip_assembly_with_its_manifest(tmp_path):
    folder = tmp_path / "reports" / "cur" / "20231101-20231201"
    (folder / ASSEMBLY).mkdir(parents=True)
    gz = folder / ASSEMBLY / "cur-00001.csv.gz"
    gz.write_bytes(gzip.compress(LEGACY.read_bytes()))
    manifest = json.loads((PERIOD_DIR / "cur-Manifest.json").read_text())
    manifest["reportKeys"] = [f"reports/cur/20231101-20231201/{ASSEMBLY}/cur-00001.csv.gz"]
    (folder / "cur-Manifest.json").write_text(json.dumps(manifest))
    parse = aws_cur.parse(gz)
    assert_invariants(parse, legacy_expected())
    assert {r["delivery_id"] for r in parse.line_items.to_pylist()} == {ASSEMBLY}


def test_cur2_csv_with_json_maps():
    parse = aws_cur.parse(CUR2)
    assert_invariants(
        parse,
        expected(
            CUR2,
            skip={8},
            type_col="line_item_line_item_type",
            cost_col="line_item_unblended_cost",
            currency_col="line_item_currency_code",
        ),
    )
    assert quarantined(parse) == {8: "missing lineItem/CurrencyCode"}
    rows = rows_by_line(parse)
    bedrock = rows[1]
    assert bedrock["billed_cost"] == Decimal("2.32376000E-9")
    assert json.loads(bedrock["tags"]) == {"user_team": "ml", "aws_created_by": "IAMUser:alice"}
    assert bedrock["service_name"] == "Amazon Bedrock" and bedrock["model"] == "Claude 3.5 Sonnet"
    assert bedrock["token_type"] == "output"
    assert rows[2]["tags"] is None  # `{}`
    assert rows[2]["contracted_cost"] == Decimal("0.0864")  # net unblended
    marketplace = rows[4]
    assert marketplace["charge_category"] == "Purchase"
    assert marketplace["publisher_name"] == "Acme Analytics LLC"
    assert rows[6]["charge_category"] == "Credit"  # PrivateRateDiscount
    assert rows[7]["charge_category"] == "Adjustment"
    assert json.loads(rows[7]["conformance_issues"]) == ["unknown LineItemType 'BrandNewType'"]


def test_cur2_parquet_with_map_columns(tmp_path):
    ts = pa.timestamp("ms", tz="UTC")
    tags = pa.map_(pa.string(), pa.string())
    start = datetime(2024, 5, 1, tzinfo=UTC)
    table = pa.table({
        "bill_payer_account_id": ["0099999999999"] * 2,
        "bill_billing_period_start_date": pa.array([start] * 2, ts),
        "bill_billing_period_end_date": pa.array([datetime(2024, 6, 1, tzinfo=UTC)] * 2, ts),
        "line_item_line_item_type": ["Usage", "SavingsPlanCoveredUsage"],
        "line_item_usage_start_date": pa.array([datetime(2024, 5, 2, 3, tzinfo=UTC)] * 2, ts),
        "line_item_usage_end_date": pa.array([datetime(2024, 5, 2, 4, tzinfo=UTC)] * 2, ts),
        "line_item_unblended_cost": [1.2e-9, 0.096],
        "line_item_currency_code": ["USD", "USD"],
        "line_item_product_code": ["AmazonS3", "AmazonEC2"],
        "savings_plan_savings_plan_effective_cost": [None, 0.0605],
        "product": pa.array([[("product_name", "Amazon S3")], [("product_name", "EC2")]], tags),
        "resource_tags": pa.array([[("user_team", "ml")], []], tags),
    })  # fmt: skip
    path = tmp_path / "cur2-00001.snappy.parquet"
    pq.write_table(table, path)
    parse = aws_cur.parse(path)
    assert_invariants(parse, {("USD", "Usage"): Decimal("1.2E-9") + Decimal("0.096")})
    s3, ec2 = parse.line_items.to_pylist()
    assert json.loads(s3["tags"]) == {"user_team": "ml"} and ec2["tags"] is None
    assert s3["service_name"] == "Amazon S3" and s3["service_category"] == "Storage"
    assert s3["charge_period_start"] == datetime(2024, 5, 2, 3, tzinfo=UTC)
    assert ec2["effective_cost"] == Decimal("0.0605")


def test_structurally_wrong_cur_files_raise(tmp_path):
    lines = LEGACY.read_text().splitlines()
    no_cost = tmp_path / "no_cost.csv"
    no_cost.write_text("\n".join([lines[0].replace("lineItem/UnblendedCost", "x"), *lines[1:]]))
    with pytest.raises(ValueError, match=r"no_cost\.csv: AWS CUR file is missing .*UnblendedCost"):
        aws_cur.parse(no_cost)
    focus_file = tmp_path / "focus.csv"
    shutil.copy(DATA / "focus" / "focus_1_3.csv", focus_file)
    with pytest.raises(ValueError, match=r"focus\.csv: no recognisable AWS CUR header"):
        aws_cur.parse(focus_file)
