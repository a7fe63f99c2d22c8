"""The dbt project handle, kept in its own module for `dagster-dbt project prepare-and-package`."""

import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from bimo.settings import DBT_PROJECT_DIR

DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def ensure_manifest() -> Path:
    """Parse the dbt project once if no manifest exists yet (fresh clone, CI)."""
    if not dbt_project.manifest_path.exists():
        subprocess.run(
            [
                DBT_EXECUTABLE,
                "parse",
                "--quiet",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
            ],
            check=True,
            env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        )
    return dbt_project.manifest_path
