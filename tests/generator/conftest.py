"""Fixtures: one small generated company per test module."""

from __future__ import annotations

import json

import pytest

from bimo.demo import GenerateResult, generate
from tests.generator.support import (
    ARGS,
    UNKNOWN,
    genai_cost,
    load,
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    return generate(tmp_path_factory.mktemp("demo"), seed=7, **ARGS)


@pytest.fixture(scope="module")
def labels(demo: GenerateResult) -> dict:
    return json.loads(demo.labels_path.read_text())


@pytest.fixture(scope="module")
def bad_lines(labels: dict) -> set[tuple[str, int]]:
    return {(m["file"], m["line"]) for m in labels["malformed"]}


@pytest.fixture(scope="module")
def records(demo: GenerateResult, bad_lines: set[tuple[str, int]]) -> list[dict]:
    rows = load(demo, bad_lines)
    for r in rows:
        billed = not (r["error"] or r["free"] or (r["provider"], r["model"]) in UNKNOWN)
        tokens = (r["input"], r["cache_read"], r["cache_write"], r["output"])
        r["cost"] = genai_cost(r["provider"], r["model"], tokens) if billed else 0.0
    return rows
