"""Running the `bimo` CLI in tests: as a subprocess (`bimo`) or in-process (`run_main`)."""

import os
import subprocess
import sys
from pathlib import Path

from bimo.cli import main

BIMO = str(Path(sys.executable).parent / "bimo")
API_ENV = ("OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY", "GITHUB_TOKEN", "SLACK_TOKEN", "ZOOM_TOKEN")


def bimo(*args: str, stdin: str | None = None, env: dict | None = None, timeout: float = 120):
    full_env = {k: v for k, v in os.environ.items() if k not in (*API_ENV, "BIMO_EXPECTED_LAG")}
    return subprocess.run(
        [BIMO, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**full_env, **(env or {})},
        timeout=timeout,
    )


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
