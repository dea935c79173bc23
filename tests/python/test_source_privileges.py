"""`check` (and the run's check step) verifies that the source role can SELECT every table and column
the extract reads, on a real PostgreSQL with real roles; a configuration error keeps no run folder
and does not suggest `--resume`."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from perm_rehearsal.emulator import running_emulator
from loader.extract import extract
from loader.run_folder import RunFolder
from resilience_support import clean_env

PERM_MIGRATE = str(Path(sys.executable).with_name("perm-migrate"))
AS_OF = "2026-01-15T00:00:00Z"
_roles = itertools.count(1)


@pytest.fixture
def source(source_database):
    return source_database(seed=8, n_users=3, n_cases=6)[0]


def _as_superuser(dsn: str, *statements: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _role_dsn(pg_server, source_dsn: str, *grants: str) -> tuple[str, str]:
    """A new login role holding only `grants` ({role} is replaced by its name); returns (role, DSN)."""
    role = f"reader_{next(_roles)}"
    _as_superuser(source_dsn, f"CREATE ROLE {role} LOGIN PASSWORD 'reader-pw'",
                  *(grant.format(role=role) for grant in grants))
    dbname = psycopg.conninfo.conninfo_to_dict(source_dsn)["dbname"]
    return role, f"postgresql://{role}:reader-pw@{pg_server.host}:{pg_server.port}/{dbname}"


def _cli(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([PERM_MIGRATE, *args], env=clean_env(PERM_RUNS_DIR=str(tmp_path / "runs"), **env),
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


ALL_GRANTS = ("GRANT USAGE ON SCHEMA auth TO {role}", "GRANT SELECT ON ALL TABLES IN SCHEMA auth TO {role}",
              "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")


def test_a_role_without_grants_fails_check_naming_the_grants(pg_server, source, tmp_path):
    role, dsn = _role_dsn(pg_server, source)
    result = _cli(["check", "--source-url", dsn], tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"GRANT USAGE ON SCHEMA auth TO {role}" in result.stderr
    assert f"GRANT SELECT ON public.cases TO {role}" in result.stderr
    assert "Traceback" not in result.stderr and "reader-pw" not in result.stderr


def test_a_missing_column_grant_is_named_and_the_full_grant_passes(pg_server, source, tmp_path):
    with psycopg.connect(source) as conn:
        columns = [name for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = 'cases' AND column_name <> 'notes' ORDER BY ordinal_position")]
    role, dsn = _role_dsn(pg_server, source, *ALL_GRANTS, "REVOKE SELECT ON public.cases FROM {role}",
                          f"GRANT SELECT ({', '.join(columns)}) ON public.cases TO {{role}}")
    result = _cli(["check", "--source-url", dsn], tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: the source role {role} cannot SELECT public.cases column(s) notes: "
                           f"GRANT SELECT ON public.cases TO {role}"), last
    _as_superuser(source, f"GRANT SELECT ON public.cases TO {role}")
    passed = _cli(["check", "--source-url", dsn], tmp_path)
    assert passed.returncode == 0, passed.stderr
    folder = RunFolder.create(tmp_path / "runs")
    result = extract(folder, dsn, echo=lambda _line: None)  # what check vouched for, the extract can read
    assert result["tables"]["cases"]["rows"] == 6


def test_a_run_with_a_role_lacking_grants_keeps_no_folder_and_does_not_suggest_resume(pg_server, source, tmp_path):
    role, dsn = _role_dsn(pg_server, source, *ALL_GRANTS, "REVOKE SELECT ON public.case_rfi FROM {role}")
    with running_emulator(tmp_path / "emulator") as emulator:
        result = _cli(["run", "--no-progress", "--migration-as-of", AS_OF], tmp_path, SUPABASE_DB_URL=dsn,
                      CONVEX_SELF_HOSTED_URL=emulator.url, CONVEX_SELF_HOSTED_ADMIN_KEY=emulator.admin_key)
    assert result.returncode == 2, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert f"GRANT SELECT ON public.case_rfi TO {role}" in last
    assert "start the same command again" in last and "--resume" not in result.stderr
    assert not list((tmp_path / "runs").glob("*/state.json")), "a configuration error left a run folder"


def test_a_wrong_password_says_what_to_fix_and_keeps_no_folder(pg_server, source, tmp_path):
    dbname = psycopg.conninfo.conninfo_to_dict(source)["dbname"]
    with running_emulator(tmp_path / "emulator") as emulator:
        result = _cli(["run", "--no-progress", "--migration-as-of", AS_OF], tmp_path,
                      SUPABASE_DB_URL=pg_server.dsn(dbname, password="wrong-secret"),
                      CONVEX_SELF_HOSTED_URL=emulator.url, CONVEX_SELF_HOSTED_ADMIN_KEY=emulator.admin_key)
    assert result.returncode == 2, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "password authentication failed" in last and "check the user and password" in last, last
    assert "--resume" not in result.stderr and "wrong-secret" not in result.stderr
    assert not list((tmp_path / "runs").glob("*/state.json"))


def test_a_run_on_a_drifted_source_says_what_to_fix_and_keeps_no_folder(source, tmp_path):
    _as_superuser(source, "ALTER TABLE public.cases DROP COLUMN employer_name")
    with running_emulator(tmp_path / "emulator") as emulator:
        result = _cli(["run", "--no-progress", "--migration-as-of", AS_OF], tmp_path, SUPABASE_DB_URL=source,
                      CONVEX_SELF_HOSTED_URL=emulator.url, CONVEX_SELF_HOSTED_ADMIN_KEY=emulator.admin_key)
    assert result.returncode == 2, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: table public.cases: core column employer_name is missing"), last
    assert "fix the source, or the source contract" in last and "start the same command again" in last
    assert "--resume" not in result.stderr
    assert not list((tmp_path / "runs").glob("*/state.json"))
