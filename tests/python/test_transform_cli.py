"""`perm-migrate transform --migration-as-of` (and its hidden former name `--as-of`)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from loader.cli import main as cli
from loader.run_folder import RunFolder
from loader.transform import run_settings

RECORDED = "2026-01-02T03:04:05Z"
OTHER = "2026-02-03T00:00:00Z"


@pytest.fixture()
def folder(tmp_path):
    folder = RunFolder.create(tmp_path)
    run_settings(folder, as_of=RECORDED)
    return folder


def test_help_names_migration_as_of_only():
    output = CliRunner().invoke(cli, ["transform", "--help"]).output
    assert "--migration-as-of" in output
    assert "--as-of" not in output.replace("--migration-as-of", "")


@pytest.mark.parametrize("flag", ["--migration-as-of", "--as-of"])
def test_both_names_reach_migration_as_of(folder, flag):
    """The value is handed to run_settings: a value differing from the run's is refused before dbt runs."""
    result = CliRunner().invoke(cli, ["transform", "--run-id", str(folder.root), flag, OTHER])
    assert result.exit_code == 2
    assert f"already uses migration_as_of {RECORDED}; got {OTHER}" in result.output


def test_disagreeing_names_are_refused(folder):
    result = CliRunner().invoke(cli, ["transform", "--run-id", str(folder.root),
                                      "--migration-as-of", RECORDED, "--as-of", OTHER])
    assert result.exit_code == 2
    assert "--migration-as-of" in result.output and "disagree" in result.output
