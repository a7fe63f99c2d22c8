"""One small generated company with its bills, shared by the demo-billing tests."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bimo.demo import GenerateResult, generate
from tests.demo_billing.support import END_ARGS

# 45 days ending 2026-09-10: a partial July, a closed August and an open September.
END = date(2026, 9, 10)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    return generate(tmp_path_factory.mktemp("billing-demo"), seed=7, end=END, **END_ARGS)


@pytest.fixture(scope="session")
def truth(demo: GenerateResult) -> dict:
    return json.loads((demo.out_dir / "billing/truth.json").read_text())
