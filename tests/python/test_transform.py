"""transform: run settings fixed once per run; in-process dbt with every var; failing nodes named."""

from __future__ import annotations

import json
import re
import shutil

import duckdb
import pytest
import yaml

from loader.errors import ConfigError, MigrationError
from loader.run_folder import RunFolder
from loader.transform import (DBT_VAR_DEFAULTS, TransformFailed, dbt_args, dbt_var_defaults, normalise_as_of,
                              project_dir, run_dbt, run_settings, transform)

TINY_PROFILE = """
tiny:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: "{{ env_var('PERM_DUCKDB_PATH') }}"
      threads: 1
"""


@pytest.fixture
def folder(tmp_path):
    return RunFolder.create(tmp_path / "runs", "t1")


def test_as_of_is_fixed_once_and_recorded(folder):
    first = run_settings(folder)
    assert first["migration_as_of"].endswith("Z") and first["warehouse"] == "duckdb"
    assert run_settings(folder)["migration_as_of"] == first["migration_as_of"]
    assert folder.read_manifest()["migration_as_of"] == first["migration_as_of"]
    with pytest.raises(ConfigError, match="already uses migration_as_of"):
        run_settings(folder, as_of="1999-01-01T00:00:00Z")


def test_explicit_as_of_and_overrides(folder):
    settings = run_settings(folder, as_of="2026-03-01 12:30:00+02:00", overrides={"merge_duplicate_emails": False},
                            warehouse="postgres")
    assert settings["migration_as_of"] == "2026-03-01T10:30:00Z"
    assert settings["vars"] == {**DBT_VAR_DEFAULTS, "merge_duplicate_emails": False}
    assert folder.read_manifest()["config"]["dbt_vars"]["merge_duplicate_emails"] is False
    with pytest.raises(ConfigError, match="already fixed its dbt variables"):
        run_settings(folder, overrides={"merge_duplicate_emails": True})
    with pytest.raises(ConfigError, match="uses the postgres warehouse"):
        run_settings(folder, warehouse="duckdb")
    with pytest.raises(ConfigError, match="unknown dbt variable"):
        run_settings(folder, overrides={"nope": 1})


def test_bad_as_of_is_a_clear_error():
    with pytest.raises(ConfigError, match="not an ISO-8601"):
        normalise_as_of("yesterday")


def test_every_spec_var_is_passed_and_project_is_the_repo(folder):
    settings = run_settings(folder, as_of="2026-01-02T03:04:05Z")
    args = dbt_args("build", folder, settings, project_dir())
    assert (project_dir() / "dbt_project.yml").is_file()
    passed = json.loads(args[args.index("--vars") + 1])
    assert set(passed) == {"migration_as_of", *DBT_VAR_DEFAULTS}
    assert args[args.index("--target-path") + 1] == str(folder.path("target").resolve())


@pytest.fixture
def tiny_project(tmp_path):
    project = tmp_path / "tiny"
    (project / "models").mkdir(parents=True)
    (project / "tests").mkdir()
    (project / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0.0'\nconfig-version: 2\nprofile: tiny\nmodel-paths: [models]\ntest-paths: [tests]\n")
    (project / "profiles.yml").write_text(TINY_PROFILE)
    (project / "models" / "as_of.sql").write_text(
        "select '{{ var(\"migration_as_of\") }}' as as_of, {{ var('merge_duplicate_emails') }} as merge_flag")
    return project


def test_build_runs_in_process_from_another_cwd(folder, tiny_project, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    settings = run_settings(folder, as_of="2026-01-02T03:04:05Z")
    result = run_dbt(folder, settings, project=tiny_project)
    assert result["node_statuses"] == {"success": 1}
    with duckdb.connect(str(folder.warehouse_path), read_only=True) as con:
        assert con.execute("select as_of, merge_flag from as_of").fetchall() == [("2026-01-02T03:04:05Z", True)]
    assert capsys.readouterr().out == ""  # dbt's output goes to the run folder, not the terminal
    assert (folder.path("logs") / "dbt.log").is_file()


def test_failing_test_is_named(folder, tiny_project):
    (tiny_project / "tests" / "as_of_is_old.sql").write_text("select * from {{ ref('as_of') }} where as_of > '2000'")
    settings = run_settings(folder, as_of="2026-01-02T03:04:05Z")
    with pytest.raises(TransformFailed) as caught:
        run_dbt(folder, settings, project=tiny_project)
    assert "test.tiny.as_of_is_old (fail)" in str(caught.value)
    assert isinstance(caught.value, MigrationError) and caught.value.exit_code == 2


def test_warehouse_dsn_reaches_the_profile_and_env_is_restored(folder, monkeypatch):
    import os

    from loader.transform import warehouse_env

    monkeypatch.setenv("PGHOST", "elsewhere")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    with warehouse_env(folder, "postgresql://u:s3cret@127.0.0.1:5999/wh"):
        assert (os.environ["PGHOST"], os.environ["PGPORT"], os.environ["PGDATABASE"], os.environ["PGUSER"],
                os.environ["PGPASSWORD"]) == ("127.0.0.1", "5999", "wh", "u", "s3cret")
        assert os.environ["PERM_DUCKDB_PATH"] == str(folder.warehouse_path.resolve())
    assert os.environ["PGHOST"] == "elsewhere" and "PGPASSWORD" not in os.environ
    with pytest.raises(ConfigError, match="cannot be parsed"):
        with warehouse_env(folder, "host=a port"):
            pass


def test_var_defaults_are_the_vars_of_dbt_project_yml_and_the_spec():
    declared = yaml.safe_load((project_dir() / "dbt_project.yml").read_text())["vars"]
    assert DBT_VAR_DEFAULTS == {name: value for name, value in declared.items() if name != "migration_as_of"}
    spec = (project_dir() / "docs" / "spec" / "MAPPING_SPEC.md").read_text().split("### 0.3", 1)[1].split("### 0.4")[0]
    in_spec = {m[0]: m[1] for m in re.findall(r"^\| `(\w+)` \| (.+?) \|", spec, flags=re.MULTILINE)}
    in_spec.pop("migration_as_of")
    as_yaml = {name: None if text == "unset" else yaml.safe_load(text.strip("`")) for name, text in in_spec.items()}
    assert DBT_VAR_DEFAULTS == as_yaml


def test_a_var_changed_in_dbt_project_yml_is_what_the_loader_uses(folder, tmp_path):
    """A copy of the project's dbt_project.yml with merge_duplicate_emails false and another user table."""
    project = tmp_path / "copy"
    (project / "models").mkdir(parents=True)
    shutil.copy(project_dir() / "profiles.yml", project / "profiles.yml")
    text = (project_dir() / "dbt_project.yml").read_text()
    changed = text.replace("merge_duplicate_emails: true", "merge_duplicate_emails: false") \
                  .replace("v1_user_table: users", "v1_user_table: perm_users")
    assert changed.count("false") == text.count("false") + 1 and "perm_users" in changed
    (project / "dbt_project.yml").write_text(changed)
    (project / "models" / "vars_seen.sql").write_text(
        "select {{ var('merge_duplicate_emails') }} as merge_flag, '{{ var('v1_user_table') }}' as user_table")
    assert dbt_var_defaults(project) == {**DBT_VAR_DEFAULTS, "merge_duplicate_emails": False,
                                         "v1_user_table": "perm_users"}
    transform(folder, as_of="2026-01-02T03:04:05Z", project=project)
    recorded = folder.read_manifest()["config"]["dbt_vars"]
    assert (recorded["merge_duplicate_emails"], recorded["v1_user_table"]) == (False, "perm_users")
    with duckdb.connect(str(folder.warehouse_path), read_only=True) as con:
        assert con.execute("select merge_flag, user_table from vars_seen").fetchall() == [(False, "perm_users")]
