"""`perm-migrate run`: every step in one resumable run folder (the steps live in `loader.pipeline`)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from loader.commands._inputs import parse_migration_as_of
from loader.commands._run_options import max_rejects_option, runs_dir_option, warehouse_url_option
from loader.commands._source_options import source_url_option
from loader.commands._target import target_options
from loader.errors import ConfigError, MigrationError, RejectLimitExceeded, VerificationFailed
from loader.pipeline import MaxRejects, Pipeline
from loader.redact import redact
from loader.run_folder import RunFolder
from loader.run_state import DONE, RunState, get_logger, setup_run_logging
from loader.transform import DBT_VAR_DEFAULTS, WAREHOUSES, TransformFailed

log = get_logger("run")

DEMO_SEED = 7


# --- options ---------------------------------------------------------------------------------

def _var_option(name: str, default: Any) -> Callable:
    flag = name.replace("_", "-")
    if isinstance(default, bool):
        return click.option(f"--{flag}/--no-{flag}", name, default=None,
                            help=f"MAPPING_SPEC §0.3 `{name}` (default {str(default).lower()}).")
    return click.option(f"--{flag}", name, default=None,
                        help=f"MAPPING_SPEC §0.3 `{name}` (default {default if default is not None else 'unset'}).")


def mapping_var_options(func: Callable) -> Callable:
    """One option per MAPPING_SPEC §0.3 variable (migration_as_of has its own)."""
    for name, default in reversed(list(DBT_VAR_DEFAULTS.items())):
        func = _var_option(name, default)(func)
    return func


# --- demo --------------------------------------------------------------------------------------

@contextlib.contextmanager
def demo_environment(folder: RunFolder) -> Iterator[dict[str, str]]:
    """A throwaway PostgreSQL with generated dirty v1 data and an in-process emulator.

    The emulator keeps its state in the run folder, so `--resume` of a demo run continues
    against the same target.
    """
    from loader.rehearsal_rig import import_rig

    generate = import_rig("perm_rehearsal.demo_data", "run --demo").generate
    running_emulator = import_rig("perm_rehearsal.emulator", "run --demo").running_emulator
    throwaway_cluster = import_rig("perm_rehearsal.throwaway_pg", "run --demo").throwaway_cluster

    with throwaway_cluster() as cluster, running_emulator(folder.path("emulator")) as emulator:
        dsn = cluster.create_database("perm_v1_demo")
        generate(dsn, seed=DEMO_SEED, dirty=True)
        log.info("demo: v1 source on a throwaway PostgreSQL, target = local emulator %s", emulator.url)
        yield {"source_url": dsn, "url": emulator.url, "admin_key": emulator.admin_key}


# --- commands --------------------------------------------------------------------------------

def _effective_config(options: dict[str, Any], settings_vars: dict[str, Any] | None) -> list[str]:
    env_names = ("SUPABASE_DB_URL", "CONVEX_URL", "CONVEX_DEPLOY_KEY", "CONVEX_SELF_HOSTED_URL",
                 "CONVEX_SELF_HOSTED_ADMIN_KEY", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD",
                 "PERM_RUNS_DIR", "PERM_MAPPING_DB", "PERM_CONVEX_TIMEOUT_S", "PERM_DUCKDB_MEMORY_LIMIT")
    lines = [f"  {k} = {v}" for k, v in sorted(options.items())]
    lines += [f"  var {k} = {v}" for k, v in sorted((settings_vars or {}).items())]
    lines += [f"  env {name} = {redact(os.environ[name]) if os.environ.get(name) else '(unset)'}"
              for name in env_names]
    return lines


def validate_configuration(options: dict[str, Any], source_url: str | None, admin_key: str | None,
                           warehouse_url: str | None) -> None:
    """Source DSN, Convex target and Postgres warehouse DSN checked before any connection (a demo brings its own)."""
    from loader.convex.gateway import resolve_target
    from loader.source_config import check_dsn_form, resolve_source_dsn, resolve_warehouse_dsn

    if options.get("warehouse") == "postgres":
        check_dsn_form(resolve_warehouse_dsn(warehouse_url), "Postgres warehouse")
    if options.get("demo"):
        return
    check_dsn_form(resolve_source_dsn(source_url), "source")
    resolve_target(options.get("url"), admin_key)


def failure_advice(exc: MigrationError, folder: RunFolder, configuration: bool, kept: bool) -> str:
    """What the operator does next after `exc` stopped the run (the message says what went wrong)."""
    resume = f"`perm-migrate run --resume {folder.run_id}`"
    if isinstance(exc, RejectLimitExceeded):
        return (f"To proceed, read the report, then either fix the source data and start a new run (with the "
                f"--max-rejects you choose), or accept these rejects: "
                f"`perm-migrate run --resume {folder.run_id} --max-rejects {exc.rejected}`")
    first = f"{exc.advice}; then" if exc.advice else "Fix it, then"
    if configuration and not kept:
        return f"{first} start the same command again (nothing was written and no run folder was kept)"
    if configuration:  # stopped in `check`: no step wrote anything yet
        return f"{first} {resume} (nothing was written to Convex by this attempt)"
    if isinstance(exc, TransformFailed):
        return (f"An Out of Memory error in {folder.path('logs', 'dbt.log')} needs a higher PERM_DUCKDB_MEMORY_LIMIT "
                f"(e.g. 2GB), then {resume}; a failing data test or contract needs the source or the models fixed "
                "and a new run")
    if isinstance(exc, VerificationFailed):
        return (f"See {folder.path('verify.json')} and the mismatches above; {resume} verifies again, and if the "
                f"target was written concurrently, `perm-migrate rollback --run-id {folder.run_id}` and start a new run")
    return f"{first} {resume}: it continues where it stopped, nothing is lost or written twice"


def _open_run(stack: contextlib.ExitStack, resume_id: str | None, runs_dir: Path | None, given: dict[str, Any],
              max_rejects: str | None, connections: tuple[str | None, str | None, str | None],
              ) -> tuple[RunFolder, RunState, str | None]:
    """The locked run folder and its state: the resumed one, or a new one once the configuration is valid.

    `connections` = (source URL, admin key, warehouse URL). The third value is the limit that
    `--resume --max-rejects` replaced (`""` if there was none), else None.
    """
    if not resume_id:
        options = {k: v for k, v in {**given, "max_rejects": max_rejects}.items() if v is not None}
        validate_configuration(options, *connections)
        folder = RunFolder.create(runs_dir)
        stack.enter_context(folder.locked())
        if options.get("demo") and not options.get("mapping_db"):
            options["mapping_db"] = str(folder.path("mapping.sqlite"))
        return folder, RunState.create(folder, options), None
    folder = RunFolder.open(resume_id, runs_dir)
    stack.enter_context(folder.locked())
    state = RunState.load(folder)
    for key, value in given.items():
        if value is not None and state.options.get(key) != value:
            raise ConfigError(f"run {folder.run_id} was started with {key}={state.options.get(key)!r}; "
                              f"--resume cannot change it to {value!r} (start a new run)")
    validate_configuration(state.options, *connections)
    previous_limit = state.options.get("max_rejects", "")
    if max_rejects is None or max_rejects == previous_limit:
        return folder, state, None
    state.options["max_rejects"] = max_rejects
    state.save()
    return folder, state, previous_limit


@click.command("run")
@click.option("--resume", "resume_id", metavar="RUN_ID", default=None,
              help="Continue run RUN_ID from its first incomplete step (nothing is lost or duplicated).")
@click.option("--dry-run", is_flag=True, help="Do everything except writing to Convex (no backup, import shows counts).")
@click.option("--demo", is_flag=True,
              help="Generated dirty v1 data in a throwaway PostgreSQL and the local emulator; no setup needed.")
@click.option("--json", "json_logs", is_flag=True, help="Structured logs: one JSON object per line on stderr.")
@click.option("--verbose", "-v", is_flag=True, help="Debug-level logs on stderr (the log file always has them).")
@max_rejects_option
@click.option("--migration-as-of", "as_of", default=None,
              help="MAPPING_SPEC §0.3 `migration_as_of`: a full ISO-8601 timestamp with offset, e.g. "
                   "2026-12-01T06:00:00Z; default: fixed once at run start.")
@click.option("--yes", is_flag=True, help="Accept a --migration-as-of before 2000 or more than a year from now.")
@mapping_var_options
@source_url_option
@click.option("--warehouse", type=click.Choice(WAREHOUSES), default=None, help="Warehouse (default duckdb, in the run folder).")
@warehouse_url_option
@target_options
@click.option("--mapping-db", default=None,
              help="Durable mapping table file (default: PERM_MAPPING_DB or <runs dir>/mapping.sqlite, the runs "
                   "dir of --runs-dir; recorded in the run manifest for verify and rollback).")
@runs_dir_option
@click.option("--no-progress", is_flag=True, help="No progress bars (they are off anyway with --json or without a TTY).")
def run_command(resume_id, dry_run, demo, json_logs, verbose, max_rejects, as_of, yes, source_url, warehouse,
                warehouse_url, url, admin_key, mapping_db, runs_dir, no_progress, **variables) -> None:
    """Run every step: check, extract, stage, transform, export, backup, import, verify, report.

    \b
    Exit codes: 0 ok; 1 verification failed or --max-rejects exceeded; 2 usage, configuration
    or connection error. Everything is kept in runs/<run_id>/ (state.json, logs/, report/).
    With --resume, --max-rejects replaces the run's limit.
    A configuration error (source, target, grants, schema) keeps no run folder.
    """
    MaxRejects.parse(max_rejects)
    if as_of is not None:
        as_of = parse_migration_as_of(as_of, yes)
    if demo and (url or admin_key or source_url):
        raise ConfigError("--demo brings its own source and target; drop --url, --admin-key and --source-url")
    overrides = {k: v for k, v in variables.items() if v is not None}
    given = {"dry_run": dry_run or None, "demo": demo or None, "warehouse": warehouse, "url": url,
             "mapping_db": mapping_db}
    with contextlib.ExitStack() as stack:
        folder, state, previous_limit = _open_run(stack, resume_id, runs_dir, given, max_rejects,
                                                  (source_url, admin_key, warehouse_url))
        discard = started = False

        @stack.callback  # runs after the demo target and the resources closed, before the lock is released
        def _discard_new_run() -> None:
            if discard:  # a new run stopped by its configuration: nothing in its folder is worth resuming
                setup_run_logging(None, json_logs)  # closes the run's log file
                shutil.rmtree(folder.root, ignore_errors=True)

        try:
            log_path = setup_run_logging(folder, json_logs, verbose)
            progress = not (json_logs or no_progress) and click.get_text_stream("stderr").isatty()
            log.info("run %s%s: folder %s, log %s", folder.run_id, " (resumed)" if resume_id else "", folder.root,
                     log_path)
            if previous_limit is not None:
                log.info("--max-rejects %s replaces the run's limit %s", max_rejects, previous_limit or "(none)")
            if state.options.get("demo"):
                demo_target = stack.enter_context(demo_environment(folder))
                source_url, admin_key = demo_target["source_url"], demo_target["admin_key"]
                state.options["url"] = demo_target["url"]
            pipeline = Pipeline(folder=folder, state=state, as_of=as_of, var_overrides=overrides,
                                source_url=source_url, url=state.options.get("url"), admin_key=admin_key,
                                warehouse_url=warehouse_url,
                                progress=progress)
            stack.enter_context(pipeline.resources)
            settings = pipeline.settings()
            log.info("effective configuration (secrets redacted):\n%s",
                     "\n".join(_effective_config(state.options, {"migration_as_of": settings["migration_as_of"],
                                                                  **settings["vars"]})))
            started = True
            try:
                pipeline.run()
            except KeyboardInterrupt:
                log.error("run %s interrupted; resume with: perm-migrate run --resume %s", folder.run_id, folder.run_id)
                raise
        except MigrationError as exc:
            configuration = not started or state.first_incomplete() == "check"
            exc.advice = failure_advice(exc, folder, configuration, kept=bool(resume_id))
            log.error("run %s stopped: %s", folder.run_id, redact(exc.operator_message()))
            discard = configuration and not resume_id
            if json_logs:  # already logged as JSON: keep stderr one JSON object per line
                raise SystemExit(exc.exit_code) from None
            raise
    report = state.step("report").get("result", {})
    verified = state.step("verify")
    if verified["status"] == DONE:
        click.echo(f"verification PASSED ({verified['result'].get('verified', 0)} documents checked)")
    elif state.options.get("dry_run"):
        click.echo("dry run: nothing was written to Convex")
    click.echo(f"report: {report.get('html', '')}")
    click.echo(f"markdown: {report.get('markdown', '')}")
    click.echo(f"run id: {folder.run_id}")
