"""Shared billing-file machinery: readers, value parsers, tags, deliveries, path expansion.

Also holds the invariant helpers every `test_files_<format>.py` uses.
"""

import csv
import gzip
import io
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from ingestion.billing.files import FILE_SOURCES, expand_billing_paths
from ingestion.billing.files.assemble import delivery_for
from ingestion.billing.files.common import read_rows
from ingestion.billing.files.tags import normalise_tags
from ingestion.billing.files.values import money, timestamp
from ingestion.billing.schema import LINE_ITEM_SCHEMA, BillingParse

DATA = Path(__file__).parent / "data"


# ---------------------------------------------------------------------------------------------
# helpers for the per-format tests


def csv_records(path: Path) -> list[dict[str, str]]:
    """The input rows as the csv module sees them (independent of the parser under test)."""
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def billed_sums(parse: BillingParse) -> dict[tuple[str, str], Decimal]:
    out: dict[tuple[str, str], Decimal] = {}
    for row in parse.line_items.select(
        ["billing_currency", "charge_category", "billed_cost"]
    ).to_pylist():
        key = (row["billing_currency"], row["charge_category"])
        out[key] = out.get(key, Decimal(0)) + row["billed_cost"]
    return out


def input_sums(
    records: list[dict],
    *,
    skip: set[int],
    key: Callable[[dict], tuple[str, str]],
    cost: Callable[[dict], Decimal],
) -> dict[tuple[str, str], Decimal]:
    """Σ cost per (currency, charge category) over the input rows not quarantined (1-based)."""
    out: dict[tuple[str, str], Decimal] = {}
    for line, record in enumerate(records, start=1):
        if line not in skip:
            out[key(record)] = out.get(key(record), Decimal(0)) + cost(record)
    return out


def assert_invariants(parse: BillingParse, expected: dict[tuple[str, str], Decimal]) -> None:
    assert parse.line_items.schema == LINE_ITEM_SCHEMA
    assert parse.line_items.num_rows + len(parse.quarantine) == parse.rows_in
    got = billed_sums(parse)
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert got[k] == v, (k, got[k], v)  # exact Decimal equality, to the last digit
    for q in parse.quarantine:
        assert set(q) == {"source", "file", "line", "reason"} and q["line"] >= 1 and q["reason"]


def rows_by_line(parse: BillingParse) -> dict[int, dict]:
    return {r["_source_line"]: r for r in parse.line_items.to_pylist()}


def quarantined(parse: BillingParse) -> dict[int, str]:
    return {q["line"]: q["reason"] for q in parse.quarantine}


# ---------------------------------------------------------------------------------------------
# value parsers


def test_timestamps_from_every_vendor_spelling_are_utc():
    values = [
        "2024-09-01T00:00:00Z",  # FOCUS spec
        "2024-09-01 00:00:00",  # real FOCUS export
        "2023-11-01T00:00:00.000Z",  # CUR
        "2023-11-13T10:00Z",  # OCI without seconds
        "2024-05-12 22:00:00 UTC",  # GCP JSON
        "2020-11-09 23:00:00+00:00",  # GCP CSV
        "2021-08-03T18:00:00-06:00",  # offset
        "9/2/2023",  # Azure EA, unpadded M/D/Y
        "09/21/2023",
        "2023-09-21T00:00:00.0000000Z",  # Azure MCA, 7 fractional digits
        "2024-13-45 00:00:00",
        "yesterday",
        None,
    ]
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    assert frame.select(timestamp(pl.col("v"))).to_series().to_list() == [
        datetime(2024, 9, 1, tzinfo=UTC),
        datetime(2024, 9, 1, tzinfo=UTC),
        datetime(2023, 11, 1, tzinfo=UTC),
        datetime(2023, 11, 13, 10, tzinfo=UTC),
        datetime(2024, 5, 12, 22, tzinfo=UTC),
        datetime(2020, 11, 9, 23, tzinfo=UTC),
        datetime(2021, 8, 4, 0, tzinfo=UTC),
        datetime(2023, 9, 2, tzinfo=UTC),
        datetime(2023, 9, 21, tzinfo=UTC),
        datetime(2023, 9, 21, tzinfo=UTC),
        None,
        None,
        None,
    ]


def test_money_is_exact_for_e_notation_and_sub_micro_values():
    values = ["2.32376000E-9", "6.26609E-12", "0.0000004", " -10.0000000001 ", "1,000", "n/a"]
    got = pl.DataFrame({"v": values}).select(money(pl.col("v"))).to_series().to_list()
    assert got[:4] == [
        Decimal("2.32376E-9"),
        Decimal("6.26609E-12"),
        Decimal("4E-7"),
        Decimal("-10.0000000001"),
    ]
    assert got[4:] == [None, None]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (
            '{"user:Team": "ml", "n": 3, "flag": true}',
            {"user:Team": "ml", "n": "3", "flag": "true"},
        ),
        ('"CostCenter": "1234","env": "prod"', {"CostCenter": "1234", "env": "prod"}),
        ('[{"key": "env", "value": "dev"}]', {"env": "dev"}),
        (
            "[{'key': 'goog-resource-type', 'value': 'bigquery_dataset'}]",
            {"goog-resource-type": "bigquery_dataset"},
        ),
        (
            '[{"key": "env", "value": "prod", "inherited": true, "namespace": "123"}]',
            {"123/env": "prod"},
        ),
        ("[]", None),
        ("{}", None),
        ("not tags", {"_raw": "not tags"}),
    ],
)
def test_every_tag_encoding_normalises_to_a_json_object(cell, expected):
    got = normalise_tags(cell)
    assert (json.loads(got) if got else None) == expected


# ---------------------------------------------------------------------------------------------
# readers


def test_ragged_csv_rows_are_reported_not_dropped(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("A,B\n1,2\n3,4,5\n6,7\n")
    rows = read_rows(path)
    assert rows.rows_in == 3
    assert rows.frame.get_column("A").to_list() == ["1", "6"]
    assert rows.unreadable == [(2, "malformed CSV row: expected 2 fields, got 3")]


def test_json_lines_keep_numbers_as_text_and_report_bad_lines(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"cost": 1.2E-9, "service": {"id": "A"}, "labels": []}\nnot json\n{"cost": 2}\n'
    )
    rows = read_rows(path)
    assert rows.rows_in == 3 and [n for n, _ in rows.unreadable] == [2]
    assert rows.frame.get_column("cost").to_list() == ["1.2E-9", "2"]
    assert rows.frame.get_column("service.id").to_list() == ["A", None]


def test_unsupported_and_empty_files_raise(tmp_path):
    (tmp_path / "x.xlsx").write_text("x")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="unsupported"):
        read_rows(tmp_path / "x.xlsx")
    with pytest.raises(ValueError, match=r"empty\.csv.*no header"):
        read_rows(tmp_path / "empty.csv")


# ---------------------------------------------------------------------------------------------
# deliveries and path expansion


def _touch(path: Path, text: str, mtime: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))
    return path


def test_cur_manifest_gives_assembly_id_and_one_rank_to_every_part(tmp_path):
    period = tmp_path / "cur" / "20231101-20231201"
    part1 = _touch(period / "asm-2" / "cur-00001.csv.gz", "x", 1_700_000_000)
    part2 = _touch(period / "asm-2" / "cur-00002.csv.gz", "x", 1_700_000_100)
    old = _touch(period / "asm-1" / "cur-00001.csv.gz", "x", 1_600_000_000)
    keys = [
        "cur/20231101-20231201/asm-2/cur-00001.csv.gz",
        "cur/20231101-20231201/asm-2/cur-00002.csv.gz",
    ]
    manifest = {"assemblyId": "asm-2", "reportKeys": keys}
    _touch(period / "cur-Manifest.json", json.dumps(manifest), 1_700_000_200)
    d1, d2, d_old = (delivery_for(p, "aws-cur") for p in (part1, part2, old))
    assert d1.delivery_id == d2.delivery_id == "asm-2"
    assert d1.rank == d2.rank == 1_700_000_200 * 1_000_000
    assert d_old.delivery_id == "cur-00001.csv.gz" and d_old.rank == 1_600_000_000 * 1_000_000


def test_expand_billing_paths_walks_folders_and_globs_and_skips_non_data(tmp_path):
    a = _touch(tmp_path / "exports" / "a.csv", "x", 1_700_000_200)
    b = _touch(tmp_path / "exports" / "deep" / "b.csv.gz", "x", 1_700_000_100)
    c = _touch(tmp_path / "exports" / "c.parquet", "x", 1_700_000_300)
    j = _touch(tmp_path / "gcp" / "rows.jsonl", "x", 1_700_000_000)
    for skipped in ("cur-Manifest.json", "d.csv.zip", "notes.txt", ".hidden.csv"):
        _touch(tmp_path / "exports" / skipped, "x", 1_700_000_000)
    got = expand_billing_paths([tmp_path / "exports", str(tmp_path / "gcp" / "*.jsonl"), a])
    assert got == [j, b, a, c]
    assert expand_billing_paths([str(tmp_path / "**" / "*.jsonl")]) == [j]
    with pytest.raises(FileNotFoundError):
        expand_billing_paths([tmp_path / "missing"])


def test_file_sources_cover_every_export_format():
    assert set(FILE_SOURCES) == {"focus", "aws-cur", "azure", "gcp", "oci"}
