"""Run `dbt build` in-process against the run's warehouse, with every MAPPING_SPEC §0.3 variable."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
from pathlib import Path
from typing import Any, Iterator

import yaml

from loader.errors import ConfigError, MigrationError
from loader.run_folder import RunFolder

PROJECT_DIR = Path(__file__).resolve().parent.parent
WAREHOUSES = ("duckdb", "postgres")

AS_OF_VAR = "migration_as_of"  # fixed once per run by the loader, never taken from the project
FAILED_STATUSES = {"error", "fail", "runtime error"}


class TransformFailed(MigrationError):
    """dbt build reported failing models, tests or contracts."""


def project_dir() -> Path:
    """The dbt project (repo root), found relative to this package, whatever the cwd."""
    if not (PROJECT_DIR / "dbt_project.yml").is_file():
        raise ConfigError(f"dbt project not found at {PROJECT_DIR} (no dbt_project.yml)")
    return PROJECT_DIR


def dbt_var_defaults(project: Path) -> dict[str, Any]:
    """The `vars:` of the project's dbt_project.yml (MAPPING_SPEC §0.3), without migration_as_of."""
    path = project / "dbt_project.yml"
    try:
        declared = (yaml.safe_load(path.read_text()) or {}).get("vars") or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"dbt project file {path} cannot be read: {exc}") from None
    return {name: value for name, value in declared.items() if name != AS_OF_VAR}


DBT_VAR_DEFAULTS: dict[str, Any] = dbt_var_defaults(PROJECT_DIR)  # this repo's project; the CLI's options


def normalise_as_of(value: str) -> str:
    """An ISO-8601 timestamp → `YYYY-MM-DDTHH:MM:SSZ` in UTC (naive input is read as UTC)."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"migration_as_of {value!r} is not an ISO-8601 timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    parsed = parsed.astimezone(dt.timezone.utc)
    fraction = f".{parsed.microsecond:06d}" if parsed.microsecond else ""
    return f"{parsed:%Y-%m-%dT%H:%M:%S}{fraction}Z"


def run_settings(folder: RunFolder, as_of: str | None = None, overrides: dict[str, Any] | None = None,
                 warehouse: str | None = None, project: Path | None = None) -> dict[str, Any]:
    """Fix `migration_as_of`, the dbt vars and the warehouse once per run, in the run manifest.

    The first call records them; later calls reuse them (a different explicit value is an error,
    so that every step of a run sees the same configuration). The var defaults are the `vars:` of
    the dbt project (default: this repo's).
    """
    defaults = DBT_VAR_DEFAULTS if project is None else dbt_var_defaults(project)
    manifest = folder.read_manifest()
    config = manifest.setdefault("config", {})
    recorded_as_of = manifest.get("migration_as_of")
    if as_of is not None:
        as_of = normalise_as_of(as_of)
        if recorded_as_of and recorded_as_of != as_of:
            raise ConfigError(f"run {folder.run_id} already uses migration_as_of {recorded_as_of}; got {as_of}")
    manifest["migration_as_of"] = recorded_as_of or as_of or normalise_as_of(
        dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat())
    recorded_vars = config.get("dbt_vars")
    unknown = sorted(set(overrides or {}) - set(defaults))
    if unknown:
        raise ConfigError(f"unknown dbt variable(s) {unknown}; known: {sorted(defaults)}")
    wanted = {**defaults, **(recorded_vars or {}), **(overrides or {})}
    if recorded_vars is not None and overrides and wanted != {**defaults, **recorded_vars}:
        raise ConfigError(f"run {folder.run_id} already fixed its dbt variables; start a new run to change them")
    config["dbt_vars"] = wanted
    recorded_warehouse = config.get("warehouse")
    if warehouse and recorded_warehouse and warehouse != recorded_warehouse:
        raise ConfigError(f"run {folder.run_id} uses the {recorded_warehouse} warehouse, not {warehouse}")
    config["warehouse"] = recorded_warehouse or warehouse or "duckdb"
    if config["warehouse"] not in WAREHOUSES:
        raise ConfigError(f"unknown warehouse {config['warehouse']!r}; use one of {WAREHOUSES}")
    folder.write_manifest(manifest)
    return {"migration_as_of": manifest["migration_as_of"], "vars": wanted, "warehouse": config["warehouse"]}


def dbt_vars(settings: dict[str, Any]) -> dict[str, Any]:
    return {AS_OF_VAR: settings["migration_as_of"], **settings["vars"]}


def target_dir(folder: RunFolder) -> Path:
    return folder.path("target")


PG_DSN_ENV = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD", "dbname": "PGDATABASE"}


def _dsn_env(dsn: str | None) -> dict[str, str]:
    """PG* variables for a Postgres warehouse DSN (the shipped profile reads them)."""
    if not dsn:
        return {}
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - psycopg raises ProgrammingError with the DSN in it
        raise ConfigError("the Postgres warehouse DSN cannot be parsed") from None
    return {env: str(parts[key]) for key, env in PG_DSN_ENV.items() if parts.get(key) is not None}


@contextlib.contextmanager
def warehouse_env(folder: RunFolder, dsn: str | None = None) -> Iterator[None]:
    """Point the shipped profile at the run's warehouse (DuckDB file, or the DSN's PG*) for the duration."""
    wanted = {"PERM_DUCKDB_PATH": str(folder.warehouse_path.resolve()), **_dsn_env(dsn)}
    previous = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def dbt_args(command: str, folder: RunFolder, settings: dict[str, Any], project: Path,
             extra: tuple[str, ...] = ()) -> list[str]:
    return [
        command,
        *extra,
        "--project-dir", str(project),
        "--profiles-dir", str(project),
        "--target", settings["warehouse"],
        "--target-path", str(target_dir(folder).resolve()),
        "--log-path", str(folder.path("logs").resolve()),
        "--vars", json.dumps(dbt_vars(settings), sort_keys=True),
        "--log-level", "none",
        "--log-level-file", "info",
    ]


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def _failures(result: Any) -> list[str]:
    """`<node> (<status>): <first message line>` for every failing node (colour codes removed)."""
    lines = []
    for node_result in getattr(result, "results", None) or []:
        status = str(getattr(node_result.status, "value", node_result.status))
        if status in FAILED_STATUSES:
            message = _ANSI_ESCAPE.sub("", node_result.message or "").strip().splitlines()
            lines.append(f"{node_result.node.unique_id} ({status})" + (f": {message[0]}" if message else ""))
    return sorted(lines)


def release_duckdb() -> None:
    """Close the DuckDB instance dbt-duckdb keeps open in-process, so later steps can open the file."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def run_dbt(folder: RunFolder, settings: dict[str, Any], command: str = "build",
            project: Path | None = None, warehouse_dsn: str | None = None,
            extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Invoke dbt in-process (default project: this repo); raise TransformFailed naming the failing nodes.

    `warehouse_dsn` (postgres): used instead of the PG* variables already in the environment.
    `extra`: further dbt arguments (selection, exclusion).
    """
    from dbt.cli.main import dbtRunner  # imported lazily: dbt takes ~2 s to import

    folder.path("logs").mkdir(exist_ok=True)
    with warehouse_env(folder, warehouse_dsn), contextlib.redirect_stdout(io.StringIO()) as captured:
        try:
            outcome = dbtRunner().invoke(dbt_args(command, folder, settings, project or project_dir(), extra))
        finally:
            release_duckdb()
    (folder.path("logs") / "dbt_stdout.log").write_text(captured.getvalue())
    failures = _failures(outcome.result)
    log_hint = f"see {folder.path('logs', 'dbt.log')}"
    if failures:
        shown = "; ".join(failures[:10]) + (f"; … {len(failures) - 10} more" if len(failures) > 10 else "")
        raise TransformFailed(f"dbt {command} failed on {len(failures)} node(s): {shown} ({log_hint})")
    if not outcome.success:
        detail = " ".join(str(outcome.exception or "unknown error").split())[:400]
        raise TransformFailed(f"dbt {command} failed: {detail} ({log_hint})")
    counts: dict[str, int] = {}
    for node_result in getattr(outcome.result, "results", None) or []:
        status = str(getattr(node_result.status, "value", node_result.status))
        counts[status] = counts.get(status, 0) + 1
    return {"command": command, "warehouse": settings["warehouse"],
            "migration_as_of": settings["migration_as_of"], "node_statuses": dict(sorted(counts.items()))}


def transform(folder: RunFolder, as_of: str | None = None, overrides: dict[str, Any] | None = None,
              warehouse: str | None = None, warehouse_dsn: str | None = None,
              unit_tests: bool = False, project: Path | None = None) -> dict[str, Any]:
    """Fix the run settings, run `dbt build`, record the step.

    dbt unit tests check the mapping logic on fixed inputs, not the run's data: they run in
    `make test` and in a plain `dbt build`, and here only when `unit_tests` is set, to keep the
    maintenance window short. Models, seeds, contracts and data tests always run.
    `project`: another dbt project than this repo's (its vars are the defaults).
    """
    settings = run_settings(folder, as_of, overrides, warehouse, project)
    extra = () if unit_tests else ("--exclude-resource-type", "unit_test")
    result = run_dbt(folder, settings, project=project, warehouse_dsn=warehouse_dsn, extra=extra)
    folder.record_step("transform", result)
    return result
