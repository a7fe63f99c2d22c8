"""Partition windows in dbt without a warehouse: the arguments and environment a windowed run
gives dbt, which models are windowed, what the inputs fingerprint follows, and what dbt parses
again when a window comes or goes (a new day's window: nothing)."""

import copy
import json
import os
import re
import subprocess
from datetime import date, timedelta

import pytest

from bimo.dbt_runner import DBT, window_env
from bimo.settings import DBT_PROJECT_DIR
from orchestration.defs import dbt as dbt_defs
from orchestration.defs.dbt_project import ensure_manifest

WINDOW = (date(2026, 10, 10), date(2026, 10, 13))  # three days, end exclusive

# --- the dbt arguments and the inputs fingerprint (no warehouse) ---


def test_build_args_and_environment_carry_the_window():
    assert dbt_defs.dbt_build_args(None) == ["build"]
    # logic tests stay in full builds
    assert dbt_defs.dbt_build_args(WINDOW) == ["build", "--exclude-resource-type", "unit_test"]
    assert window_env(WINDOW) == {
        "BIMO_WINDOWED": "1",
        "BIMO_WINDOW_START": "2026-10-10",
        "BIMO_WINDOW_END": "2026-10-13",
    }
    # no window: set, empty, so a window left in the calling process's environment never leaks
    assert window_env(None) == {"BIMO_WINDOWED": "", "BIMO_WINDOW_START": "", "BIMO_WINDOW_END": ""}


def test_windowed_models_are_the_per_request_models():
    manifest = json.loads(ensure_manifest().read_text())
    assert {k.to_user_string() for k in dbt_defs.windowed_keys(manifest)} == {
        "marts/fct_llm_requests",
        "marts/fct_llm_cost_daily",
        "marts/fct_llm_usage_daily",
        "marts/fct_llm_latency_daily",
        "marts/fct_llm_errors_daily",
    }


def test_fingerprint_follows_price_inputs_not_unrelated_models():
    manifest = json.loads(ensure_manifest().read_text())
    before = dbt_defs.inputs_fingerprint(manifest)
    assert dbt_defs.inputs_fingerprint(copy.deepcopy(manifest)) == before

    def changed(unique_id: str) -> str:
        edited = copy.deepcopy(manifest)
        edited["nodes"][unique_id]["checksum"]["checksum"] = "edited"
        return dbt_defs.inputs_fingerprint(edited)

    assert changed("seed.bimo.price_overrides") != before
    assert changed("seed.bimo.provider_aliases") != before
    assert changed("model.bimo.int_model_prices") != before
    # SaaS seat prices feed no windowed model: editing them needs no full rebuild
    assert changed("seed.bimo.saas_seat_prices") == before


@pytest.mark.slow
def test_a_new_window_reparses_nothing(tmp_path):
    """A daily run's window is new every day: dbt's partial parse must survive it. Parsing reads
    only whether there is a window (BIMO_WINDOWED), so the windowed models are parsed again when
    that changes, and a new day's window re-parses nothing (with `--vars` dbt parses the whole
    project; when parsing read the days, every new day re-parsed the windowed models)."""
    target = tmp_path / "target"
    warehouse = tmp_path / "warehouse.duckdb"
    updated_file = re.compile(r"Partial parsing: updated file: bimo://\S+/(\w+)\.sql")

    def parse(window) -> tuple[set[str], dict]:
        """The models dbt parsed again, and their `full_refresh` config after the parse."""
        env = {**os.environ, **window_env(window), "BIMO_WAREHOUSE": str(warehouse)}
        cached = (target / "partial_parse.msgpack").exists()
        proc = subprocess.run(
            [DBT, "parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
             str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path",
             str(tmp_path / "logs"), "--log-level", "debug", "--no-use-colors"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert cached == ("Unable to do partial parsing" not in proc.stdout), proc.stdout[-2000:]
        updated = set(updated_file.findall(proc.stdout))
        nodes = json.loads((target / "manifest.json").read_text())["nodes"].values()
        return updated, {
            n["name"]: n["config"].get("full_refresh") for n in nodes if n["name"] in updated
        }

    parse(None)  # the cache, as a full build leaves it
    windowed = {
        k.path[-1]
        for k in dbt_defs.windowed_keys(json.loads(target.joinpath("manifest.json").read_text()))
    }
    assert len(windowed) == 5
    assert parse(WINDOW) == (windowed, dict.fromkeys(windowed))  # full_refresh: the flag decides
    next_day = (WINDOW[0] + timedelta(days=1), WINDOW[1] + timedelta(days=1))
    assert parse(next_day) == (set(), {})  # a new day: nothing to re-parse
    assert parse(None) == (windowed, dict.fromkeys(windowed, True))  # no window: always full
    # days without BIMO_WINDOWED would be a full rebuild the caller did not ask for: an error
    env = {**os.environ, **window_env(WINDOW), "BIMO_WINDOWED": ""}
    env["BIMO_WAREHOUSE"] = str(warehouse)
    proc = subprocess.run(
        [DBT, "compile", "--select", "fct_llm_requests", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path",
         str(tmp_path / "logs"), "--no-use-colors"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "need BIMO_WINDOWED=1" in proc.stdout, proc.stdout[-2000:]
