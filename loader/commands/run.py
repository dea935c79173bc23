"""`perm-migrate run` (every step, resumable) and `perm-migrate status`."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from loader.commands._inputs import parse_migration_as_of
from loader.errors import ConfigError, MigrationError, RejectLimitExceeded, VerificationFailed
from loader.redact import redact
from loader.run_folder import RunFolder, default_runs_dir, describe_holder
from loader.run_state import (
    CONVEX_WRITE_STEPS, DONE, FAILED, RUNNING, SKIPPED, STEPS, RunState, get_logger, setup_run_logging,
)
from loader.transform import DBT_VAR_DEFAULTS, WAREHOUSES, TransformFailed

log = get_logger("run")

DEMO_SEED = 7


# --- configuration ---------------------------------------------------------------------------

@dataclass(frozen=True)
class MaxRejects:
    """`--max-rejects`: a whole count of rows (`100`, `0`) or a percentage of extracted rows in (0, 100] (`2.5%`)."""

    value: float
    percent: bool

    @classmethod
    def parse(cls, text: str | None) -> "MaxRejects | None":
        if text is None:
            return None
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", text)
        if match and match.group(2) and 0 < float(match.group(1)) <= 100:
            return cls(float(match.group(1)), True)
        if match and not match.group(2) and match.group(1).isdigit():
            return cls(float(match.group(1)), False)
        raise ConfigError(f"--max-rejects {text!r}: expected a whole number of rows (e.g. 100) "
                          "or a percentage of extracted rows in (0, 100] (e.g. 2%)")

    def exceeded(self, rejected: int, extracted: int) -> bool:
        limit = self.value * extracted / 100 if self.percent else self.value
        return rejected > limit

    def __str__(self) -> str:
        return f"{self.value:g}{'%' if self.percent else ''}"


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


@dataclass
class RunContext:
    """What the steps of one run share."""

    folder: RunFolder
    state: RunState
    as_of: str | None
    var_overrides: dict[str, Any]
    source_url: str | None
    admin_key: str | None
    warehouse_url: str | None
    progress: bool
    resources: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _gateway: Any = None

    @property
    def options(self) -> dict[str, Any]:
        return self.state.options

    @property
    def dry_run(self) -> bool:
        return bool(self.options.get("dry_run"))

    def gateway(self):
        """The Convex gateway (opened once per run; target from flags or the environment)."""
        if self._gateway is None:
            from loader.convex.gateway import ConvexGateway, resolve_target

            target = resolve_target(self.options.get("url"), self.admin_key)
            log.info("Convex target: %s", target)
            self._gateway = self.resources.enter_context(ConvexGateway(target))
        return self._gateway

    def mapping(self):
        from loader.mapping_table import MappingTable

        path = self.options.get("mapping_db")
        return self.resources.enter_context(MappingTable.for_run(self.folder, Path(path) if path else None))

    def warehouse_dsn(self) -> str | None:
        """The Postgres warehouse DSN (flag, else the PG* variables); None for DuckDB."""
        if self.settings()["warehouse"] != "postgres":
            return None
        from loader.source_config import resolve_warehouse_dsn

        return resolve_warehouse_dsn(self.warehouse_url)

    def warehouse(self):
        from loader.warehouse import Warehouse

        return Warehouse(self.folder, self.warehouse_dsn())

    def settings(self) -> dict[str, Any]:
        from loader.transform import run_settings

        return run_settings(self.folder, as_of=self.as_of, overrides=self.var_overrides,
                            warehouse=self.options.get("warehouse"))


# --- progress --------------------------------------------------------------------------------

@contextlib.contextmanager
def progress_bar(enabled: bool, desc: str, total: int | None = None, unit: str = "rows") -> Iterator[Callable]:
    """A tqdm bar (rows/s, ETA when the total is known) on stderr; a no-op when disabled."""
    if not enabled:
        yield lambda *_args, **_kw: None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit=unit, unit_scale=True, dynamic_ncols=True, leave=False) as bar:
        yield lambda *_args, n=1, **_kw: bar.update(n)


# --- steps -----------------------------------------------------------------------------------

def step_check(ctx: RunContext) -> dict[str, Any]:
    """Source reachable and matching the contract; Convex reachable with the v2 tables."""
    from loader.introspect import introspect, raise_on_errors
    from loader.source_config import connect, resolve_source_dsn

    settings = ctx.settings()
    dsn = resolve_source_dsn(ctx.source_url)
    app_table = settings["vars"]["v1_user_table"]
    with connect(dsn, "source") as conn:
        report = introspect(conn, app_table, "v1_user_table" in ctx.var_overrides)
    raise_on_errors(report, log.error)
    for note in report.notes:
        log.info("note: %s", note)
    from loader.commands.cleanup_legacy import remaining_legacy_fields
    from loader.convex.gateway import ConvexFunctionError
    from loader.convex.schema import Schema

    tables = ctx.gateway().list_tables()
    missing = [t for t in Schema.from_file().sorted_table_names() if t not in tables]
    if missing:
        raise ConfigError(f"the Convex target has no table(s) {', '.join(missing)}; deploy the v2 schema first")
    try:  # a read-only call of the companion module: it must be deployed before anything is written
        remaining_legacy_fields(ctx.gateway(), "cases", max_pages=1)
    except ConvexFunctionError as exc:
        raise ConfigError(f"the companion module (convex/migration.ts) is not usable on the target: {exc}; "
                          "deploy it with `npx convex deploy` first") from None
    return {"source_notes": len(report.notes), "target_tables": len(tables),
            "migration_as_of": settings["migration_as_of"]}


def step_extract(ctx: RunContext) -> dict[str, Any]:
    from loader.extract import extract
    from loader.source_config import resolve_source_dsn

    settings = ctx.settings()
    result = extract(ctx.folder, resolve_source_dsn(ctx.source_url), app_table=settings["vars"]["v1_user_table"],
                     app_table_explicit="v1_user_table" in ctx.var_overrides, echo=log.info)
    return {"tables": {t: info["rows"] for t, info in result["tables"].items()},
            "rows": sum(info["rows"] for info in result["tables"].values())}


def step_stage(ctx: RunContext) -> dict[str, Any]:
    from loader.stage import stage

    warehouse = ctx.settings()["warehouse"]
    result = stage(ctx.folder, warehouse=warehouse, warehouse_dsn=ctx.warehouse_dsn(), echo=log.info)
    return {"rows": sum(t["rows"] for t in result["tables"].values()), "warehouse": warehouse}


def step_transform(ctx: RunContext) -> dict[str, Any]:
    from loader.transform import transform

    ctx.settings()
    result = transform(ctx.folder, warehouse_dsn=ctx.warehouse_dsn())
    return {"node_statuses": result.get("node_statuses", {}), "migration_as_of": result.get("migration_as_of")}


def step_export(ctx: RunContext) -> dict[str, Any]:
    from loader.export import export

    total = None
    if ctx.progress:
        warehouse = ctx.warehouse()
        total = sum(warehouse.query(m.model, "select count(*) as n from {rel}")[0]["n"] for m in _marts(ctx))
    with progress_bar(ctx.progress, "export", total=total, unit="docs") as tick:
        result = export(ctx.folder, progress=tick, warehouse_dsn=ctx.warehouse_dsn())
    documents = sum(t["documents"] for t in result["tables"].values())
    check_reject_threshold(ctx, result)
    return {"documents": documents, "rejected_documents": result["rejected_documents"],
            "tables": {t: info["documents"] for t, info in result["tables"].items()}}


def check_reject_threshold(ctx: RunContext, export_result: dict[str, Any]) -> None:
    """Stop before any Convex write when the rejects exceed `--max-rejects`."""
    limit = MaxRejects.parse(ctx.options.get("max_rejects"))
    if limit is None:
        return
    dbt_rejects = ctx.warehouse().query("dq_rejects", "select count(*) as n from {rel}")
    rejected = (dbt_rejects[0]["n"] if dbt_rejects else 0) + export_result["rejected_documents"]
    extracted = sum(t.get("rows", 0) for t in ctx.folder.read_manifest().get("steps", {})
                    .get("extract", {}).get("tables", {}).values())
    if limit.exceeded(rejected, extracted):
        raise RejectLimitExceeded(f"{rejected} rejected rows of {extracted} extracted exceed --max-rejects {limit}; "
                                  "nothing was written to Convex (see the report and export/rejects.jsonl)",
                                  rejected=rejected)
    log.info("rejects: %d of %d extracted rows (limit %s)", rejected, extracted, limit)


def _marts(ctx: RunContext):
    from loader.dbt_manifest import load_convex_marts
    from loader.export import manifest_path

    return load_convex_marts(manifest_path(ctx.folder))


def step_backup(ctx: RunContext) -> dict[str, Any]:
    from loader.backup import tables_written, take_backup

    info = take_backup(ctx.folder, ctx.gateway(), tables_written(_marts(ctx)))
    return {"documents": sum(info["counts"].values()), "tables": info["counts"]}


def step_import(ctx: RunContext) -> dict[str, Any]:
    from loader.importer import import_tables

    result = import_tables(ctx.folder, ctx.gateway(), mapping=ctx.mapping(), resume=True,
                           dry_run=ctx.dry_run, progress=ctx.progress)
    counts = {table: info["counts"] for table, info in result["tables"].items()}
    for table, table_counts in counts.items():
        log.info("import %s: %s", table, ", ".join(f"{rule} {n}" for rule, n in sorted(table_counts.items())) or "nothing")
    return {"documents": sum(n for c in counts.values() for rule, n in c.items() if rule != "rejected"),
            "rejected": result["rejected"], "dry_run": result["dry_run"], "counts": counts}


def step_verify(ctx: RunContext) -> dict[str, Any]:
    from loader.verify import build_inputs, failure_summary, raise_if_failed, verify_run

    inputs = build_inputs(ctx.folder, ctx.mapping(), warehouse_dsn=ctx.warehouse_dsn())
    total = sum(ctx.folder.read_manifest().get("steps", {}).get("export", {}).get("tables", {})
                .get(m.table, {}).get("documents", 0) for m in inputs.marts)
    with progress_bar(ctx.progress, "verify", total=total, unit="docs") as tick:
        result = verify_run(inputs, ctx.gateway(), progress=tick)
    for line in failure_summary(result):
        log.error("%s", line)
    summary = {"passed": result["passed"],
               "verified": sum(t.get("verified", 0) for t in result["tables"].values())}
    if not result["passed"]:
        ctx.state.finish("verify", summary, status=FAILED)
        raise_if_failed(result)
    return summary


def step_report(ctx: RunContext) -> dict[str, Any]:
    from loader.report import write_report

    return write_report(ctx.folder, ctx.warehouse_dsn())


STEP_FUNCTIONS: dict[str, Callable[[RunContext], dict[str, Any]]] = {
    "check": step_check, "extract": step_extract, "stage": step_stage, "transform": step_transform,
    "export": step_export, "backup": step_backup, "import": step_import, "verify": step_verify,
    "report": step_report,
}
DRY_RUN_SKIPS = frozenset({"backup", "verify"})
assert tuple(STEP_FUNCTIONS) == STEPS


def execute(ctx: RunContext) -> None:
    """Run every step from the first incomplete one; each is marked running before it starts."""
    start = ctx.state.first_incomplete()
    if start is None:
        log.info("run %s is already complete", ctx.folder.run_id)
        return
    for name in STEPS[STEPS.index(start):]:
        if ctx.dry_run and name in DRY_RUN_SKIPS:
            ctx.state.finish(name, {"reason": "dry run: nothing written to Convex"}, status=SKIPPED)
            log.info("[%s] skipped (dry run)", name)
            continue
        if ctx.state.status(name) == RUNNING:
            log.info("[%s] was interrupted; resuming it", name)
        log.info("[%s] started%s", name, " (no Convex writes: dry run)" if ctx.dry_run and name in CONVEX_WRITE_STEPS else "")
        ctx.state.begin(name)
        try:
            result = STEP_FUNCTIONS[name](ctx)
        except VerificationFailed as exc:
            if ctx.state.status(name) == RUNNING:
                ctx.state.fail(name, str(exc))
            _report_after_failure(ctx)
            raise
        except (MigrationError, KeyboardInterrupt) as exc:
            if ctx.state.status(name) == RUNNING:
                ctx.state.fail(name, str(exc) or type(exc).__name__)
            raise
        except Exception as exc:
            ctx.state.fail(name, f"unexpected {type(exc).__name__}: {exc}")
            raise
        ctx.state.finish(name, result)
        log.info("[%s] done in %.1fs", name, ctx.state.step(name).get("seconds", 0.0))


def _report_after_failure(ctx: RunContext) -> None:
    """A failed verification or reject threshold still gets its report (it shows why)."""
    from loader.report import write_report

    try:
        paths = write_report(ctx.folder, ctx.warehouse_dsn())
    except MigrationError as exc:
        log.error("report could not be written: %s", exc)
        return
    log.error("see the report: %s", paths["html"])


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
                f"target was written concurrently, `perm-migrate rollback {folder.run_id}` and start a new run")
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
@click.option("--max-rejects", default=None, metavar="N|P%",
              help="Fail (exit 1) before any Convex write if rejected rows exceed N (a whole number), or P% "
                   "(0 < P <= 100) of extracted rows. With --resume: replaces the run's limit.")
@click.option("--migration-as-of", "as_of", default=None,
              help="MAPPING_SPEC §0.3 `migration_as_of`: a full ISO-8601 timestamp with offset, e.g. "
                   "2026-12-01T06:00:00Z; default: fixed once at run start.")
@click.option("--yes", is_flag=True, help="Accept a --migration-as-of before 2000 or more than a year from now.")
@mapping_var_options
@click.option("--source-url", default=None, help="v1 source DSN (default: SUPABASE_DB_URL, else the PG* variables).")
@click.option("--warehouse", type=click.Choice(WAREHOUSES), default=None, help="Warehouse (default duckdb, in the run folder).")
@click.option("--warehouse-url", default=None, metavar="DSN", help="Postgres warehouse DSN (default: the PG* variables).")
@click.option("--url", default=None, help="Convex deployment URL (default: CONVEX_SELF_HOSTED_URL or CONVEX_URL).")
@click.option("--admin-key", default=None,
              help="Convex admin/deploy key (default: CONVEX_SELF_HOSTED_ADMIN_KEY or CONVEX_DEPLOY_KEY). Never logged.")
@click.option("--mapping-db", default=None,
              help="Durable mapping table file (default: PERM_MAPPING_DB or <runs dir>/mapping.sqlite, the runs "
                   "dir of --runs-dir; recorded in the run manifest for verify and rollback).")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where run folders live (default: PERM_RUNS_DIR or ./runs).")
@click.option("--no-progress", is_flag=True, help="No progress bars (they are off anyway with --json or without a TTY).")
def run_command(resume_id, dry_run, demo, json_logs, verbose, max_rejects, as_of, yes, source_url, warehouse,
                warehouse_url, url, admin_key, mapping_db, runs_dir, no_progress, **variables) -> None:
    """Run every step: check, extract, stage, transform, export, backup, import, verify, report.

    \b
    Exit codes: 0 ok; 1 verification failed or --max-rejects exceeded; 2 usage, configuration
    or connection error. Everything is kept in runs/<run_id>/ (state.json, logs/, report/).
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
            ctx = RunContext(folder=folder, state=state, as_of=as_of, var_overrides=overrides, source_url=source_url,
                             admin_key=admin_key, warehouse_url=warehouse_url, progress=progress)
            stack.enter_context(ctx.resources)
            settings = ctx.settings()
            log.info("effective configuration (secrets redacted):\n%s",
                     "\n".join(_effective_config(state.options, {"migration_as_of": settings["migration_as_of"],
                                                                  **settings["vars"]})))
            started = True
            try:
                execute(ctx)
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


def _latest_run(runs_dir: Path | None) -> str:
    root = runs_dir or default_runs_dir()
    runs = sorted(p.parent.name for p in root.glob("*/state.json")) if root.is_dir() else []
    if not runs:
        raise ConfigError(f"no runs in {root}")
    return runs[-1]


@click.command("status")
@click.argument("run_id", required=False)
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where run folders live (default: PERM_RUNS_DIR or ./runs).")
def status_command(run_id: str | None, runs_dir: Path | None) -> None:
    """Steps done, timings and counts of RUN_ID (default: the latest run), and whether a process runs it."""
    folder = RunFolder.open(run_id or _latest_run(runs_dir), runs_dir)
    state = RunState.load(folder)
    holder = folder.lock_holder()
    click.echo(f"run {folder.run_id} ({folder.root})")
    if holder is not None:
        click.echo(f"in progress: {describe_holder(holder)}")
    for line in state.summary_lines(alive=holder is not None):
        click.echo(f"  {line}")
    next_step = state.first_incomplete()
    if next_step is None:
        click.echo("complete")
    elif holder is None:
        if state.status(next_step) == RUNNING:
            click.echo(f"interrupted: no process runs it; {next_step} was running when its process ended")
        click.echo(f"next step: {next_step} (perm-migrate run --resume {folder.run_id})")
