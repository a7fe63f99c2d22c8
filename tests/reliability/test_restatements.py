"""Restatements and late data: after the incremental path, the marts equal a clean load of the
final data into a fresh warehouse.

* a billing month re-delivered later with changed costs and removed lines (`bimo load focus`);
* an API day re-pulled with different values, and one that comes back empty (`bimo load
  openai-costs` of a newer saved page);
* late gateway logs for a closed day, loaded by the `bimo_gateway` job for that day's partition,
  which rebuilds the per-request models for that day only (the dbt window vars).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.defs import dbt as dbt_defs
from tests.conftest import query
from tests.reliability import checksums, support

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

CHANGED_DAY, EMPTY_DAY = date(2026, 10, 15), date(2026, 10, 16)
LATE_DAY, LATE_REQUESTS = date(2026, 10, 20), 5


def clean_load(folder: Path, raw: Path, extra: list[tuple[str, Path]]) -> Path:
    """A fresh load of every demo file (a clone of `raw`) and the `extra` (source, path) loads,
    built in full."""
    settings = support.clone(raw, folder)
    for source, path in extra:
        support.cli(settings, "load", source, str(path), "--no-build")
    support.reference_build(settings)
    return settings.warehouse


# --- the scenarios: each applies its change incrementally, then returns the clean warehouse ---


def billing_redelivery(settings, landing, tmp_path, request) -> Path:
    redelivery, redelivered = (request.getfixturevalue(n) for n in ("redelivery", "redelivered"))
    support.cli(settings, "load", "focus", str(redelivery))  # loads, then rebuilds the marts
    [(rows, total)] = query(
        settings,
        "select count(*), sum(billed_cost) from marts.fct_cost_line_items where delivery_key = ?",
        [support.REDELIVERY_KEY],
    )
    (data,) = redelivery.glob("*.csv")
    assert rows == len(data.read_text().splitlines()) - 1  # removed lines are gone
    assert total == support.redelivery_total(redelivery)  # changed costs are the new ones
    return redelivered / "warehouse.duckdb"


def api_day_repulled(settings, landing, tmp_path, request) -> Path:
    first = landing / "billing-api/openai/costs.json"
    page = json.loads(first.read_text())
    buckets = []
    for bucket in page["data"]:
        day = date.fromisoformat(_day(bucket["start_time"]))
        if day == CHANGED_DAY:  # costs doubled, the last result gone
            results = bucket["results"][:-1]
            for r in results:
                r["amount"]["value"] = round(r["amount"]["value"] * 2, 12)
            buckets.append({**bucket, "results": results})
        elif day == EMPTY_DAY:  # the API now reports nothing for the day
            buckets.append({**bucket, "results": []})
    assert len(buckets) == 2
    repull = support.write_json(
        tmp_path / "repull" / "costs-2026-10-15.json",
        {**page, "data": buckets},
        mtime=first.stat().st_mtime + 3600,  # pulled an hour after the first
    )
    support.cli(settings, "load", "openai-costs", str(repull))
    by_day = dict(
        query(
            settings,
            "select charge_date, sum(billed_cost) from marts.fct_cost_line_items "
            "where source_system = 'openai-costs' group by 1",
        )
    )
    changed = buckets[0]["results"]
    assert by_day[CHANGED_DAY] == sum(Decimal(repr(r["amount"]["value"])) for r in changed)
    assert EMPTY_DAY not in by_day and CHANGED_DAY + timedelta(days=2) in by_day
    return clean_load(
        tmp_path / "clean", request.getfixturevalue("raw"), [("openai-costs", repull)]
    )


def late_gateway_logs(settings, landing, tmp_path, request) -> Path:
    monkeypatch = request.getfixturevalue("monkeypatch")
    day_file = landing / "bimo-gateway" / f"requests-{LATE_DAY}.jsonl"
    records = [json.loads(line) for line in day_file.read_text().splitlines()[:LATE_REQUESTS]]
    for i, record in enumerate(records):
        record["request_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"late-{i}"))
    late = tmp_path / "late-landing" / "bimo-gateway" / f"requests-{LATE_DAY}-late.jsonl"
    late.parent.mkdir(parents=True)
    late.write_text("".join(json.dumps(r) + "\n" for r in records))
    windows = []

    def build_args(window):
        windows.append(window)
        return dbt_build_args(window)

    dbt_build_args = dbt_defs.dbt_build_args
    monkeypatch.setattr(dbt_defs, "dbt_build_args", build_args)
    before = query(settings, "select count(*) from marts.fct_llm_requests")[0][0]
    support.run_job(
        settings, "bimo_gateway", landing=late.parent.parent, partition_key=LATE_DAY.isoformat()
    )
    assert windows == [(LATE_DAY, LATE_DAY + timedelta(days=1))]  # that day only, not in full
    after = query(settings, "select count(*) from marts.fct_llm_requests")[0][0]
    assert after == before + LATE_REQUESTS
    return clean_load(tmp_path / "clean", request.getfixturevalue("raw"), [("bimo-gateway", late)])


SCENARIO = {
    "billing_redelivery": billing_redelivery,
    "api_day_repulled": api_day_repulled,
    "late_gateway_logs": late_gateway_logs,
}


def _day(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).date().isoformat()


@pytest.mark.parametrize("scenario", support.RESTATEMENTS)
def test_incremental_path_equals_a_clean_load_of_the_final_data(
    scenario, baseline, landing, tmp_path, request
):
    settings = support.clone(baseline, tmp_path / "incremental")
    before = checksums.mart_checksums(settings.warehouse, schemas=("marts",))
    clean = SCENARIO[scenario](settings, landing, tmp_path, request)
    after = checksums.mart_checksums(settings.warehouse, schemas=("marts",))
    assert after != before  # the change reached the marts
    assert after == checksums.mart_checksums(clean, schemas=("marts",))
    assert checksums.mart_checksums(settings.snapshot, schemas=("marts",)) == after  # published
