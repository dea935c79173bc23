"""Conservation when the loader rejects a profile: the settings and preferences rows that fed it are
rejected with it (MAPPING_SPEC §4.1, §4.2 Q), not left counted as loaded.

Real pipeline: PostgreSQL source, dbt build on DuckDB, export, the emulator, verify and report. One
profile is made too large for Convex (DQ-27 at export) through its `company` field, which only the
profile carries, so its user still loads.

The loader moves every non-merged row of a rejected document's `meta.convex.mapping` rows. Listing
the chosen user_settings / user_preferences rows in `convex_user_profiles.resolve_v1_rows` is a
dbt change (models/** belongs to the models owner): until it lands, the run uses a copy of the
dbt project with that change (`with_contributing_rows`); once it has landed, the copy is unchanged.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest

from loader.pipeline import Pipeline
from perm_rehearsal.demo_data import generate
from perm_rehearsal.emulator import running_emulator
from loader.errors import VerificationFailed
from loader.run_folder import RunFolder
from loader.run_state import RunState
from loader.transform import project_dir

AS_OF = "2026-01-15T00:00:00Z"
OVERSIZED = 950_000  # characters of `company`: the profile document exceeds 900 KiB (DQ-27)
PROFILE_MART = Path("models", "marts", "users", "convex_user_profiles.sql")
WINNER_ROW_ONLY = """|| ',"merged":false}]'
        as text) as resolve_v1_rows"""
WITH_CONTRIBUTORS = """|| ',"merged":false}'
            || coalesce(',{"v1_table":"user_settings","v1_uuid":' || {{ json_string('profiles.user_settings_id') }}
                || ',"merged":false}', '')
            || coalesce(',{"v1_table":"user_preferences","v1_uuid":' || {{ json_string('profiles.user_preferences_id') }}
                || ',"merged":false}', '')
            || ']'
        as text) as resolve_v1_rows"""


def with_contributing_rows(destination: Path) -> Path:
    """A copy of the dbt project whose profile mart lists the settings/preferences rows it consumed."""
    source = project_dir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy2(source / name, destination / name)
    for name in ("models", "macros", "seeds", "tests/dbt", "analyses"):
        if (source / name).is_dir():
            shutil.copytree(source / name, destination / name)
    mart = destination / PROFILE_MART
    sql = mart.read_text()
    if '"v1_table":"user_settings"' not in sql:
        assert WINNER_ROW_ONLY in sql, f"{PROFILE_MART} changed: update this test's copy"
        mart.write_text(sql.replace(WINNER_ROW_ONLY, WITH_CONTRIBUTORS))
    return destination


@pytest.fixture(scope="module")
def source(pg_server):
    """A clean v1 source; one loaded user's profile is made oversized. Returns (dsn, rows of that profile)."""
    dsn = pg_server.create_database("rejected_profile_source")
    generate(dsn, n_users=10, n_cases=20, seed=3, dirty=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        app_id, settings_id, preferences_id = conn.execute(
            "select u.id::text, s.id::text, p.id::text from public.users u "
            "join public.user_settings s on s.user_id = u.id join public.user_preferences p on p.user_id = u.id "
            "where u.user_type in ('individual', 'firm_admin', 'firm_member') "  # the table's (NOT VALID) check
            "order by u.id limit 1").fetchone()
        conn.execute("update public.users set company = repeat('x', %s) where id = %s", [OVERSIZED, app_id])
    return dsn, {"public.users": app_id, "public.user_settings": settings_id,
                 "public.user_preferences": preferences_id}


def test_settings_and_preferences_are_rejected_with_their_profile(source, tmp_path, monkeypatch):
    dsn, rows = source
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setattr("loader.transform.PROJECT_DIR", with_contributing_rows(project))
    monkeypatch.delenv("PERM_MAPPING_DB", raising=False)
    folder = RunFolder.create(tmp_path / "runs")
    with running_emulator(tmp_path / "emulator") as emulator:
        ctx = Pipeline(folder=folder, state=RunState.create(folder, {"url": emulator.url}), as_of=AS_OF,
                       source_url=dsn, url=emulator.url, admin_key=emulator.admin_key)
        with ctx.resources:
            try:
                ctx.run()
            except VerificationFailed:
                pytest.fail(json.dumps(json.loads(folder.path("verify.json").read_text())["checks"], indent=1))

    [reject] = [json.loads(line) for line in folder.path("export", "rejects.jsonl").read_text().splitlines()]
    assert (reject["table"], reject["legacy_id"], reject["dq_id"]) == ("userProfiles", rows["public.users"], "DQ-27")

    verify = json.loads(folder.path("verify.json").read_text())
    assert verify["passed"] is True
    conservation = {row["source_table"]: row for row in verify["conservation"]}
    for table in rows:  # the profile's three rows: loaded per dbt, rejected by the loader
        assert conservation[table]["rejected"] == 1, conservation[table]
        assert conservation[table]["balanced"] is True
    assert conservation["auth.users"]["rejected"] == 0  # the user document itself loaded

    report = folder.path("report", "report.md").read_text()
    section = report.split("### Source rows rejected with those documents (3)")[1].split("\n## ")[0]
    for table, v1_id in rows.items():
        assert f"| {table} | {v1_id} | userProfiles | {rows['public.users']} | DQ-27 | rejected with userProfiles " \
               f"{rows['public.users']}: " in section
