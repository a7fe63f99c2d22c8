"""OCI cost reports: E-notation costs, minute-only timestamps, tag columns, corrections."""

import gzip
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ingestion.billing.files import oci
from tests.billing.test_files_common import (
    DATA,
    assert_invariants,
    csv_records,
    input_sums,
    quarantined,
    rows_by_line,
)

REPORT = DATA / "oci" / "reports" / "cost-csv" / "0001000000123456.csv"


def expected(path=REPORT):
    return input_sums(
        csv_records(path),
        skip={5, 6},
        key=lambda r: (r["cost/currencyCode"], "Usage"),
        cost=lambda r: Decimal(r["cost/myCost"]),
    )


def test_cost_report_invariants_and_quarantine():
    parse = oci.parse(REPORT)
    assert parse.rows_in == 7
    assert_invariants(parse, expected())
    assert quarantined(parse) == {
        5: 'unparseable cost/myCost: "n/a"',
        6: 'unparseable lineItem/intervalUsageStart: "2023-11-13T25:00Z"',
    }


def test_cost_report_maps_values():
    rows = rows_by_line(oci.parse(REPORT))
    compute = rows[1]
    assert compute["billing_account_id"] == "ocid1.tenancy.oc1..aaaaaaaa0001"
    assert compute["charge_period_start"] == datetime(2023, 11, 13, 10, tzinfo=UTC)  # no seconds
    assert compute["charge_period_end"] == datetime(2023, 11, 13, 11, tzinfo=UTC)
    assert compute["billing_period_start"] == datetime(2023, 11, 1, tzinfo=UTC)
    assert json.loads(compute["tags"]) == {
        "Oracle-Tags.CreatedBy": "alice@example.com",
        "Oracle-Tags.CreatedOn": "2023-11-01T08:00:00.000Z",
        "Finance\\CostCenter.code": "CC\\42",  # backslashes kept verbatim
    }
    assert compute["provider_name"] == "Oracle" and compute["service_category"] == "Compute"
    assert compute["delivery_key"] == "oci|ocid1.tenancy.oc1..aaaaaaaa0001|2023-11|" + REPORT.name
    assert rows[2]["billed_cost"] == Decimal("6.26609E-12")
    assert rows[3]["billed_cost"] == Decimal("2.32376000E-9")
    assert rows[3]["service_category"] == "AI and Machine Learning"
    correction = rows[4]
    assert correction["charge_class"] == "Correction" and correction["billed_cost"] == Decimal(
        "-0.025"
    )
    extra = json.loads(correction["extra"])
    assert extra["lineItem/backreferenceNo"] == "ocid1.ref.oc1..r1"
    assert extra["lineItem/referenceNo"] == "ocid1.ref.oc1..r4"
    assert rows[7]["charge_period_end"] == datetime(2023, 12, 1, tzinfo=UTC)


def test_gzip_report(tmp_path):
    gz = tmp_path / "0001000000123457.csv.gz"
    gz.write_bytes(gzip.compress(REPORT.read_bytes()))
    parse = oci.parse(gz)
    assert_invariants(parse, expected())
    assert parse.line_items.column("delivery_key")[0].as_py().endswith("|0001000000123457.csv.gz")


def test_structurally_wrong_reports_raise(tmp_path):
    no_cost = tmp_path / "no_cost.csv"
    no_cost.write_text(REPORT.read_text().replace("cost/myCost,", "cost/other,", 1))
    with pytest.raises(ValueError, match=r"no_cost\.csv: OCI cost report file is missing .*myCost"):
        oci.parse(no_cost)
    other = tmp_path / "other.csv"
    other.write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match=r"other\.csv: no recognisable OCI cost report header"):
        oci.parse(other)
