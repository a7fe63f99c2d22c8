"""The demo's billing, loaded through the real parsers and HTTP clients, equals its ground truth.

Exports are read from disk; the cost APIs are pulled over real HTTP from the demo server on
127.0.0.1. The month-to-date delivery of the open month is superseded by its restated delivery,
so the ledger must hold exactly the final deliveries' totals (truth.json).
"""

import json
from datetime import date, timedelta
from decimal import Decimal

import duckdb
import pytest

from bimo.settings import get_settings
from ingestion.billing.apis import fetch
from ingestion.billing.files import FILE_SOURCES, expand_billing_paths
from ingestion.billing.load import load_billing

pytestmark = pytest.mark.slow
EXPORTS = {"focus-aws": "focus", "focus-azure": "focus", "focus-gcp": "focus", "aws-cur": "aws-cur"}


def leaf_sum(value) -> Decimal:
    if isinstance(value, dict):
        return sum((leaf_sum(v) for v in value.values()), Decimal(0))
    return Decimal(str(value))


def test_demo_billing_equals_truth_with_restatements(tmp_path):
    from bimo.demo import generate
    from bimo.demo.api_server import serve_demo_apis

    out = tmp_path / "demo"
    result = generate(out, days=45, requests_per_day=200, seed=5, end=date(2026, 10, 31))
    truth = json.loads((out / "billing" / "truth.json").read_text())["file_sets"]
    parses = []
    for folder, source in EXPORTS.items():
        parses += [
            FILE_SOURCES[source](f) for f in expand_billing_paths([out / "billing" / folder])
        ]
    server, base_url = serve_demo_apis(out)
    try:
        for source in ("openai-costs", "anthropic-costs"):
            parses.append(
                fetch(
                    source,
                    start=result.start,
                    end=result.end + timedelta(days=1),
                    api_key="local-test-key",
                    base_url=base_url,
                )
            )
    finally:
        server.shutdown()
    settings = get_settings(tmp_path / "w.duckdb")
    summary = load_billing(parses, settings=settings)
    assert summary.quarantined == 0
    assert summary.superseded_in_load > 0  # the month-to-date deliveries were replaced

    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:

        def sums(where: str) -> dict:
            got: dict = {}
            for currency, category, total in con.sql(
                "select billing_currency, charge_category, sum(billed_cost) "
                f"from raw_billing.line_items where {where} group by 1, 2"
            ).fetchall():
                got.setdefault(currency, {})[category] = total
            return got

        for folder in EXPORTS:
            got = sums(f"_source_file like '%/billing/{folder}/%'")
            if folder == "aws-cur":  # truth is per line-item type: compare the unblended total
                total = leaf_sum(truth[folder]["line_item_unblended_cost"])
                assert sum(sum(v.values()) for v in got.values()) == total, folder
                continue
            expected = {
                cur: {cat: Decimal(v) for cat, v in cats.items()}
                for cur, cats in truth[folder]["billed_cost"].items()
            }
            assert got == expected, folder
        for source in ("openai-costs", "anthropic-costs"):
            expected = {
                cur: sum(Decimal(v) for v in cats.values())
                for cur, cats in truth[source]["billed_cost"].items()
            }
            got = {c: sum(v.values()) for c, v in sums(f"source_system = '{source}'").items()}
            assert got == expected, source
    finally:
        con.close()
