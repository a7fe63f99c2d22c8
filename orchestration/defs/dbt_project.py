"""The dbt project handle, kept in its own module for `dagster-dbt project prepare-and-package`."""

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from bimo.settings import DBT_PROJECT_DIR

DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

# Dagster reads its own manifest, in a folder no `bimo build` / `dbt build` writes to, so a
# build running elsewhere can never hand it a half-written file.
TARGET_PATH = Path("target") / "dagster"
dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=TARGET_PATH
)


def _stale(manifest: Path) -> bool:
    """No manifest yet (fresh clone, CI), or a model, seed, macro or the project file changed
    after it was written."""
    if not manifest.exists():
        return True
    written = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml"] + [
        f
        for folder in ("models", "seeds", "macros")
        for f in (DBT_PROJECT_DIR / folder).rglob("*")
        if f.is_file()
    ]
    return any(f.stat().st_mtime > written for f in sources)


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing or older than the project's files
    (one process at a time: the others wait, then find it fresh)."""
    manifest = dbt_project.manifest_path
    if not _stale(manifest):
        return manifest
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _stale(manifest):
            return manifest
        subprocess.run(
            [
                DBT_EXECUTABLE,
                "parse",
                "--quiet",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(DBT_PROJECT_DIR / TARGET_PATH),
            ],
            check=True,
            env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        )
    return manifest
