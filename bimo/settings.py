"""One place where configuration comes from: the environment.

`BIMO_WAREHOUSE` names the DuckDB file for dlt, dbt, Dagster and Streamlit alike.
`BIMO_LANDING_URL`, when set, is a folder or object-store URL that the Dagster ingestion assets
mirror into the landing folder before they read it. `BIMO_FILE_ROOTS` (folders separated by
`os.pathsep`) are where `bimo load` may read files: by default the current directory; the landing
folder is always one. `BIMO_DUCKDB_MEMORY_LIMIT` (default 3GB) caps DuckDB's memory in every
Bimo connection, dlt's loads and dbt: beyond it DuckDB spills to disk instead of growing with the
input.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
DEFAULT_MEMORY_LIMIT = "3GB"  # also the default in dbt_project/profiles.yml
_MEMORY = re.compile(r"\d+(\.\d+)?\s*([KMGT]i?B|B)", re.IGNORECASE)


def duckdb_memory_limit() -> str:
    """DuckDB's `memory_limit` for Bimo's connections (`BIMO_DUCKDB_MEMORY_LIMIT`, e.g. 2GB)."""
    value = os.environ.get("BIMO_DUCKDB_MEMORY_LIMIT", "").strip() or DEFAULT_MEMORY_LIMIT
    if not _MEMORY.fullmatch(value):
        raise ValueError(
            f"BIMO_DUCKDB_MEMORY_LIMIT={value!r} is not a size such as 3GB, 512MB or 2GiB"
        )
    return value


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Paths are absolute."""

    warehouse: Path
    landing_dir: Path
    start_date: date
    landing_url: str | None = None  # mirrored into landing_dir by the ingestion assets
    file_roots: tuple[Path, ...] = ()  # file sources read only below these (symlinks resolved)

    @property
    def snapshot(self) -> Path:
        """The read copy that readers (dashboard, `bimo sql`) open; see `bimo.warehouse`."""
        return self.warehouse.with_name(self.warehouse.stem + ".read" + self.warehouse.suffix)

    @property
    def dlt_dir(self) -> Path:
        """Where dlt keeps pipeline state and load packages (beside the warehouse)."""
        return self.warehouse.parent / ".dlt_pipelines"


def get_settings(warehouse: str | os.PathLike[str] | None = None) -> Settings:
    """Read settings from the environment; an explicit `warehouse` wins over `BIMO_WAREHOUSE`."""
    wh = Path(warehouse or os.environ.get("BIMO_WAREHOUSE") or DEFAULT_WAREHOUSE)
    landing = Path(os.environ.get("BIMO_LANDING_DIR") or wh.parent / "landing")
    start = date.fromisoformat(os.environ.get("BIMO_START_DATE", "2025-01-01"))
    roots = [r for r in os.environ.get("BIMO_FILE_ROOTS", "").split(os.pathsep) if r.strip()]
    return Settings(
        warehouse=wh.resolve(),
        landing_dir=landing.resolve(),
        start_date=start,
        landing_url=os.environ.get("BIMO_LANDING_URL") or None,
        file_roots=tuple(dict.fromkeys(p.resolve() for p in [landing, *map(Path, roots or ["."])])),
    )
