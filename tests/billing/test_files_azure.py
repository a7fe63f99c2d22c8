"""Azure cost details: EA/MCA dialects, actual vs amortized, US dates, brace-less tags."""

import gzip
import json
import shutil
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ingestion.billing.files import azure
from tests.billing.test_files_common import (
    DATA,
    assert_invariants,
    csv_records,
    input_sums,
    quarantined,
    rows_by_line,
)

FOLDER = DATA / "azure"
EA_ACTUAL = FOLDER / "ea_actualcost_2023-09.csv"
EA_AMORTIZED = FOLDER / "ea_amortizedcost_2023-09.csv"
LEGACY_2019 = FOLDER / "usage_details_2019.csv"
MCA = FOLDER / "mca_v2_actual.csv"


def expected(path, *, skip=frozenset(), cost="Cost", currency="BillingCurrency", kind="ChargeType"):
    return input_sums(
        csv_records(path),
        skip=set(skip),
        key=lambda r: (r[currency].upper(), azure.CATEGORY.get(r.get(kind, "Usage"), "Adjustment")),
        cost=lambda r: Decimal(r[cost]),
    )


def test_ea_actual_export_invariants_and_quarantine():
    parse = azure.parse(EA_ACTUAL)
    assert parse.rows_in == 9
    assert_invariants(parse, expected(EA_ACTUAL, skip={7, 8}))
    assert quarantined(parse) == {
        7: 'unparseable Cost: "1.2.3"',
        8: 'unparseable Date: "13/45/2023"',
    }


def test_ea_actual_export_maps_dates_tags_and_categories():
    rows = rows_by_line(azure.parse(EA_ACTUAL))
    vm = rows[1]
    assert vm["billing_account_id"] == "0012345678"
    assert vm["charge_period_start"] == datetime(2023, 9, 2, tzinfo=UTC)  # 9/2/2023, unpadded
    assert vm["charge_period_end"] == datetime(2023, 9, 3, tzinfo=UTC)
    assert vm["billing_period_start"] == datetime(2023, 9, 1, tzinfo=UTC)
    assert vm["billing_period_end"] == datetime(2023, 10, 1, tzinfo=UTC)  # 9/30 inclusive
    assert json.loads(vm["tags"]) == {"CostCenter": "1234", "env": "prod"}
    assert vm["delivery_key"] == "azure|0012345678|2023-09|actual"
    assert vm["list_cost"] == Decimal("2.88") and vm["contracted_cost"] == Decimal("2.304")
    assert vm["usd_exchange_rate"] is None and vm["billing_currency"] == "EUR"
    extra = json.loads(vm["extra"])
    assert extra["dataset"] == "actual" and extra["ResourceGroup"] == "rg-web"
    assert rows[2]["charge_period_start"] == datetime(2023, 9, 21, tzinfo=UTC)  # 09/21/2023
    assert (rows[2]["service_category"], rows[2]["token_type"]) == (
        "AI and Machine Learning",
        "input_uncached",
    )
    assert rows[3]["billed_cost"] == Decimal("0.0000005") and rows[3]["token_type"] == "cache_read"
    assert (rows[4]["charge_category"], rows[4]["pricing_unit"]) == ("Purchase", "1")  # "1 "
    assert (rows[5]["charge_category"], rows[5]["charge_class"]) == ("Purchase", "Correction")
    assert rows[6]["charge_category"] == "Adjustment"  # RoundingAdjustment
    assert rows[9]["publisher_name"] == "Contoso Ltd"


def test_amortized_dataset_is_its_own_delivery():
    parse = azure.parse(EA_AMORTIZED)
    assert_invariants(parse, expected(EA_AMORTIZED))
    used, unused = parse.line_items.to_pylist()
    assert used["delivery_key"] == "azure|0012345678|2023-09|amortized"
    assert json.loads(used["extra"]) == {"dataset": "amortized"}
    assert (used["commitment_discount_status"], unused["commitment_discount_status"]) == (
        "Used",
        "Unused",
    )
    assert unused["charge_category"] == "Usage" and used["commitment_discount_id"] == "res-1"


def test_dataset_detected_from_content_when_the_path_does_not_say(tmp_path):
    part = tmp_path / "part_0_0001.csv"
    shutil.copy(EA_AMORTIZED, part)
    assert {r["delivery_key"] for r in azure.parse(part).line_items.to_pylist()} == {
        "azure|0012345678|2023-09|amortized"
    }


def test_2019_camel_case_dialect():
    parse = azure.parse(LEGACY_2019)
    assert_invariants(parse, expected(LEGACY_2019, cost="preTaxCost", currency="currency"))
    fn, bandwidth = parse.line_items.to_pylist()
    assert fn["billing_account_id"] == "4f3a2b1c-0000-4000-8000-000000000002"  # no account column
    assert fn["billing_period_start"] == datetime(2019, 3, 1, tzinfo=UTC)
    assert fn["billing_period_end"] == datetime(2019, 4, 1, tzinfo=UTC)
    assert fn["usd_exchange_rate"] == 1.0 and fn["service_category"] == "Compute"
    assert fn["resource_id"].endswith("/sites/fn1") and json.loads(fn["tags"]) == {"env": "dev"}
    assert bandwidth["service_category"] == "Networking" and bandwidth["tags"] is None


def test_mca_v2_dialect_and_exchange_rate():
    parse = azure.parse(MCA)
    assert_invariants(
        parse,
        expected(MCA, cost="costInBillingCurrency", currency="billingCurrency", kind="chargeType"),
    )
    usage, tax = parse.line_items.to_pylist()
    # exchangeRatePricingToBilling: EUR per USD (pricing USD) → USD per EUR is the inverse
    assert usage["usd_exchange_rate"] == pytest.approx(1 / 0.925)
    assert usage["charge_period_start"] == datetime(2024, 1, 5, tzinfo=UTC)
    assert usage["billing_period_end"] == datetime(2024, 2, 1, tzinfo=UTC)
    assert usage["invoice_id"] == "G012345678" and usage["token_type"] == "output"
    assert usage["service_category"] == "AI and Machine Learning"
    assert json.loads(usage["tags"]) == {"team": "search", "env": "prod"}
    assert tax["charge_category"] == "Tax"


def test_gzip_export(tmp_path):
    gz = tmp_path / "ea_actualcost.csv.gz"
    gz.write_bytes(gzip.compress(EA_ACTUAL.read_bytes()))
    parse = azure.parse(gz)
    assert_invariants(parse, expected(EA_ACTUAL, skip={7, 8}))


def test_header_only_file_has_no_rows_and_no_error(tmp_path):
    path = tmp_path / "part_0_0001.csv"
    path.write_bytes(EA_ACTUAL.read_bytes().splitlines(keepends=True)[0])
    parse = azure.parse(path)
    assert (parse.rows_in, parse.line_items.num_rows, parse.quarantine) == (0, 0, [])


def test_structurally_wrong_files_raise(tmp_path):
    no_cost = tmp_path / "no_cost.csv"
    no_cost.write_text(EA_AMORTIZED.read_text(encoding="utf-8-sig").replace(",Cost,", ",Price,"))
    with pytest.raises(
        ValueError, match=r"no_cost\.csv: Azure cost details file is missing .*Cost"
    ):
        azure.parse(no_cost)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"other\.csv: no recognisable Azure cost details header"):
        azure.parse(other)
