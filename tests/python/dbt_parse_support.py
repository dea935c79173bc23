"""`dbt parse` of the repo's dbt project in-process, for tests that read its nodes (no warehouse is touched)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loader.transform import project_dir


def parse_project(work: Path) -> Any:
    """The dbtRunner result of `dbt parse` (manifest also written to `work/target/manifest.json`)."""
    from dbt.cli.main import dbtRunner

    project = str(project_dir())
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PERM_DUCKDB_PATH", str(work / "unused.duckdb"))
        result = dbtRunner().invoke(["parse", "--project-dir", project, "--profiles-dir", project,
                                     "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
                                     "--no-partial-parse", "--quiet"])
    assert result.success, result.exception
    return result
