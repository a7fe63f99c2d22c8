"""truth.json against the files, CUR against FOCUS, labels, and determinism."""

from __future__ import annotations

import json
import os
from decimal import Decimal

from bimo.demo import generate
from bimo.demo.billing.cur import amortized
from tests.demo_billing.conftest import END
from tests.demo_billing.support import END_ARGS, grand_total, load_page, read_csv, totals


def test_truth_sums_equal_the_files(demo, truth):
    for name in ("focus-aws", "focus-azure", "focus-gcp"):
        file_set = truth["file_sets"][name]
        final_rows, billed = 0, {}
        for period in file_set["periods"].values():
            for entry in period["deliveries"]:
                _, rows = read_csv(demo.out_dir / entry["file"])
                for value in ("BilledCost", "EffectiveCost"):
                    got = totals(rows, "BillingCurrency", "ChargeCategory", value)
                    assert got == entry[{"BilledCost": "billed_cost"}.get(value, "effective_cost")]
                if entry["file"] == period["final"]:
                    final_rows += len(rows)
                    for cur, cats in entry["billed_cost"].items():
                        for cat, x in cats.items():
                            billed.setdefault(cur, {}).setdefault(cat, Decimal(0))
                            billed[cur][cat] += Decimal(x)
        assert file_set["rows"] == final_rows
        stated = file_set["billed_cost"]
        assert {c: {k: Decimal(v) for k, v in m.items()} for c, m in stated.items()} == billed


def test_api_cost_totals_equal_the_saved_pages(demo, truth):
    for name, rel in (
        ("openai-costs", "openai/costs.json"),
        ("anthropic-costs", "anthropic/cost_report.json"),
    ):
        page = load_page(demo.out_dir / "billing-api" / rel)
        results = [r for b in page["data"] for r in b["results"]]
        if name.startswith("openai"):
            total = sum(r["amount"]["value"] for r in results)
        else:
            total = sum(Decimal(r["amount"]) for r in results) / 100
        assert total == grand_total(truth["file_sets"][name]["billed_cost"])
        assert len(results) == truth["file_sets"][name]["rows"]
        assert len(page["data"]) == truth["file_sets"][name]["buckets"] == END_ARGS["days"]


def test_cur_matches_the_focus_export_of_the_same_month(demo, truth):
    cur = truth["file_sets"]["aws-cur"]
    ((period, entry),) = cur["periods"].items()
    header, rows = read_csv(demo.out_dir / entry["file"])
    assert header[0] == "identity_line_item_id" and all(h == h.lower() for h in header)
    kinds = {r["line_item_line_item_type"] for r in rows}
    assert {"Usage", "SavingsPlanCoveredUsage", "SavingsPlanNegation", "SavingsPlanRecurringFee",
            "Tax", "Credit"} <= kinds  # fmt: skip
    unblended = totals(
        rows, "line_item_currency_code", "line_item_line_item_type", "line_item_unblended_cost"
    )
    assert unblended == cur["line_item_unblended_cost"]
    focus = truth["file_sets"]["focus-aws"]["periods"][period]
    final = next(d for d in focus["deliveries"] if d["file"] == focus["final"])
    assert grand_total(unblended) == grand_total(final["billed_cost"])
    amortized_total = sum((amortized(r) for r in rows), Decimal(0))
    assert (
        amortized_total
        == Decimal(cur["amortized_cost"]["USD"])
        == grand_total(final["effective_cost"])
    )
    assert all(json.loads(r["product"])["servicecode"] for r in rows)
    assert {r["bill_payer_account_id"] for r in rows} == {"001234567890"}
    assert all(r["line_item_usage_start_date"].endswith(".000Z") for r in rows)


def test_labels_and_result_describe_the_billing(demo, truth):
    labels = json.loads(demo.labels_path.read_text())
    assert labels["billing"]["truth"] == "billing/truth.json"
    sets = truth["file_sets"]
    listed = {f for s in sets.values() for f in s["files"]}
    assert labels["billing"]["counts"] == demo.billing == {n: s["rows"] for n, s in sets.items()}
    assert labels["billing"]["files"] == len(listed)
    assert "x_BillingExchangeRate" in labels["billing"]["fx"]
    on_disk = {p.relative_to(demo.out_dir).as_posix() for d in ("billing", "billing-api")
               for p in (demo.out_dir / d).rglob("*") if p.is_file()}  # fmt: skip
    assert on_disk == listed | {"billing/truth.json"}


def snapshot(root) -> dict[str, tuple[bytes, int]]:
    """Bytes of every billing file, and the mtime of each export delivery (set from its date)."""
    out = {}
    for p in sorted(q for d in ("billing", "billing-api") for q in (root / d).rglob("*")):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            delivered = rel.startswith(("billing/focus-", "billing/aws-cur/"))
            out[rel] = (p.read_bytes(), os.stat(p).st_mtime_ns if delivered else 0)
    return out


def test_same_seed_gives_identical_bills_and_mtimes(tmp_path, demo):
    ours = snapshot(demo.out_dir)
    again = generate(tmp_path / "again", seed=7, end=END, **END_ARGS)
    assert snapshot(again.out_dir) == ours
    other = snapshot(generate(tmp_path / "other", seed=8, end=END, **END_ARGS).out_dir)
    assert other.keys() == ours.keys() and other != ours
