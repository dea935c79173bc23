"""The pipeline core: one run folder, its step ledger (`state.json`), the step registry and typed results.

`Pipeline` (in the style of dlt's) owns the `RunFolder` and its `RunState`. `perm-migrate run` runs
every step with `run()` (resumable); each single-step command opens its run with
`Pipeline.for_command(...)` and runs one step with `run_step(name)`, so every step is recorded the
same way, whichever command ran it, and `status`, `--resume` and `--max-rejects` work for all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from loader.convex.gateway import ConvexTarget, resolve_target
from loader.errors import ConfigError, MigrationError, RejectLimitExceeded, VerificationFailed
from loader.run_folder import STATE_FILE, RunFolder
from loader.run_state import (
    CONVEX_WRITE_STEPS, FAILED, RUNNING, SKIPPED, STEPS, RunState, get_logger, setup_run_logging,
)
from loader.transform import DBT_VAR_DEFAULTS

log = get_logger("run")

DEMO_EMULATOR_DIR = "emulator"
DRY_RUN_SKIPS = frozenset({"backup", "verify"})


# --- typed step results (their `to_json()` is what state.json records as the step's result) -----

class StepInfo:
    """A step's result; `to_json()` is its entry in the ledger."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CheckInfo(StepInfo):
    source_notes: int
    target_tables: int
    migration_as_of: str


@dataclass(frozen=True)
class ExtractInfo(StepInfo):
    tables: dict[str, int]
    rows: int


@dataclass(frozen=True)
class StageInfo(StepInfo):
    rows: int
    warehouse: str


@dataclass(frozen=True)
class TransformInfo(StepInfo):
    node_statuses: dict[str, int]
    migration_as_of: str | None


@dataclass(frozen=True)
class ExportInfo(StepInfo):
    documents: int
    rejected_documents: int
    tables: dict[str, int]


@dataclass(frozen=True)
class BackupInfo(StepInfo):
    documents: int
    tables: dict[str, int]


@dataclass(frozen=True)
class ImportInfo(StepInfo):
    documents: int
    rejected: int
    dry_run: bool
    counts: dict[str, dict[str, int]]


@dataclass(frozen=True)
class VerifyInfo(StepInfo):
    passed: bool
    verified: int


@dataclass(frozen=True)
class ReportInfo(StepInfo):
    markdown: str
    html: str
    verify_passed: bool | None


@dataclass(frozen=True)
class SkippedInfo(StepInfo):
    reason: str


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


def is_demo_run(folder: RunFolder) -> bool:
    try:
        return bool(json.loads(folder.path(STATE_FILE).read_text())["options"].get("demo"))
    except (FileNotFoundError, ValueError, KeyError):
        return False


@contextlib.contextmanager
def run_target(folder: RunFolder, url: str | None, admin_key: str | None) -> Iterator[ConvexTarget]:
    """`--url`/`--admin-key` or the environment; for a demo run without flags, its emulator.

    A demo run's target was an in-process emulator whose state is `runs/<id>/emulator`: it is
    started again here on that state for the duration of the command.
    """
    if url or admin_key or not is_demo_run(folder):
        yield resolve_target(url, admin_key)
        return
    from loader.rehearsal_rig import import_rig

    running_emulator = import_rig("perm_rehearsal.emulator", "verify/rollback of a demo run").running_emulator
    state_dir = folder.path(DEMO_EMULATOR_DIR)
    if not state_dir.is_dir():
        raise ConfigError(f"demo run {folder.run_id} has no emulator state ({state_dir}); it never reached the target")
    with running_emulator(state_dir) as emulator:
        click.echo(f"demo run: target is its emulator, started on {state_dir} at {emulator.url}", err=True)
        yield ConvexTarget(emulator.url, emulator.admin_key, source="the demo run's emulator")


@dataclass
class Pipeline:
    """One run: its folder and ledger, and what its steps share (connections, settings, resources).

    `url`/`admin_key`: the Convex target (flags; else the environment, or a demo run's emulator).
    `state.options` are the run's recorded options; `command_options` (one command's flags, such
    as `import --dry-run`) override them for this process only.
    """

    folder: RunFolder
    state: RunState
    as_of: str | None = None
    var_overrides: dict[str, Any] = field(default_factory=dict)
    source_url: str | None = None
    url: str | None = None
    admin_key: str | None = None
    warehouse_url: str | None = None
    progress: bool = False
    command_options: dict[str, Any] = field(default_factory=dict)
    resources: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _gateway: Any = None

    @classmethod
    @contextlib.contextmanager
    def for_command(cls, run_id: str | None, runs_dir: Path | None = None, create: bool = False,
                    **context: Any) -> Iterator["Pipeline"]:
        """The locked run of a single-step command: RUN_ID (default: the latest run).

        `create`: a run id that does not exist yet (or none) makes a new run folder.
        """
        if create and (run_id is None or not RunFolder.exists(run_id, runs_dir)):
            folder = RunFolder.create(runs_dir, run_id=run_id)
        else:
            folder = RunFolder.open(run_id or RunFolder.latest_id(runs_dir), runs_dir)
        setup_run_logging(None, json_logs=False)  # the steps' log lines go to stderr
        with folder.locked():
            pipeline = cls(folder=folder, state=RunState.load(folder), **context)
            with pipeline.resources:
                yield pipeline

    @property
    def options(self) -> dict[str, Any]:
        return {**self.state.options, **{k: v for k, v in self.command_options.items() if v is not None}}

    @property
    def dry_run(self) -> bool:
        return bool(self.options.get("dry_run"))

    def details(self, step: str) -> dict[str, Any]:
        """What the step's module recorded in the ledger (tables, files, checksums …)."""
        return self.folder.read_manifest().get("steps", {}).get(step, {})

    def gateway(self):
        """The Convex gateway (opened once per run; target from flags or the environment, or a demo run's own)."""
        if self._gateway is None:
            from loader.convex.gateway import ConvexGateway

            target = self.resources.enter_context(run_target(self.folder, self.url, self.admin_key))
            log.info("Convex target: %s", target)
            self._gateway = self.resources.enter_context(ConvexGateway(target))
        return self._gateway

    def mapping(self):
        from loader.mapping_table import MappingTable

        path = self.options.get("mapping_db")
        return self.resources.enter_context(MappingTable.for_run(self.folder, Path(path) if path else None))

    def warehouse_kind(self) -> str:
        """The run's warehouse (given, else recorded, else duckdb), without fixing the run settings."""
        recorded = self.folder.read_manifest().get("config", {}).get("warehouse")
        return self.options.get("warehouse") or recorded or "duckdb"

    def warehouse_dsn(self) -> str | None:
        """The Postgres warehouse DSN (flag, else the PG* variables); None for DuckDB."""
        if self.warehouse_kind() != "postgres":
            return None
        from loader.source_config import resolve_warehouse_dsn

        return resolve_warehouse_dsn(self.warehouse_url)

    def warehouse(self):
        from loader.warehouse import Warehouse

        return Warehouse(self.folder, self.warehouse_dsn())

    def settings(self) -> dict[str, Any]:
        """Fix (first call) or read the run settings: migration_as_of, dbt vars, warehouse."""
        from loader.transform import run_settings

        return run_settings(self.folder, as_of=self.as_of, overrides=self.var_overrides,
                            warehouse=self.options.get("warehouse"))

    def var(self, name: str) -> Any:
        """A MAPPING_SPEC §0.3 variable: given, else recorded, else the dbt project's default."""
        recorded = self.folder.read_manifest().get("config", {}).get("dbt_vars") or {}
        return self.var_overrides.get(name, recorded.get(name, DBT_VAR_DEFAULTS.get(name)))

    # --- running steps ---------------------------------------------------------------------

    def run_step(self, name: str, record: bool = True) -> StepInfo:
        """Run one registered step, marked running before it starts and done (or failed) after.

        `record=False` (a single-step dry run: a plan, not the step) leaves the ledger as it is.
        """
        self._refuse_after_failure(name)
        if not record:
            return STEP_FUNCTIONS[name](self)
        self.state.begin(name)
        try:
            info = STEP_FUNCTIONS[name](self)
        except (MigrationError, KeyboardInterrupt) as exc:
            if self.state.status(name) == RUNNING:
                self.state.fail(name, str(exc) or type(exc).__name__)
            raise
        except Exception as exc:
            self.state.fail(name, f"unexpected {type(exc).__name__}: {exc}")
            raise
        self.state.finish(name, info.to_json())
        return info

    def _refuse_after_failure(self, name: str) -> None:
        """A step that writes to Convex never runs while an earlier step of the run failed."""
        if name not in CONVEX_WRITE_STEPS:
            return
        for earlier in STEPS[:STEPS.index(name)]:
            if self.state.status(earlier) == FAILED:
                raise ConfigError(f"{name} refused: step {earlier} of run {self.folder.run_id} failed "
                                  f"({self.state.step(earlier).get('error', 'no detail')}); run it again first")

    def run(self) -> None:
        """Run every step from the first incomplete one (resume); a failed verification still gets its report."""
        start = self.state.first_incomplete()
        if start is None:
            log.info("run %s is already complete", self.folder.run_id)
            return
        for name in STEPS[STEPS.index(start):]:
            if self.dry_run and name in DRY_RUN_SKIPS:
                self.state.finish(name, SkippedInfo("dry run: nothing written to Convex").to_json(), status=SKIPPED)
                log.info("[%s] skipped (dry run)", name)
                continue
            if self.state.status(name) == RUNNING:
                log.info("[%s] was interrupted; resuming it", name)
            log.info("[%s] started%s", name,
                     " (no Convex writes: dry run)" if self.dry_run and name in CONVEX_WRITE_STEPS else "")
            try:
                self.run_step(name)
            except VerificationFailed:
                self._report_after_failure()
                raise
            log.info("[%s] done in %.1fs", name, self.state.step(name).get("seconds", 0.0))

    def _report_after_failure(self) -> None:
        """A failed verification or reject threshold still gets its report (it shows why)."""
        from loader.report import write_report

        try:
            paths = write_report(self.folder, self.warehouse_dsn())
        except MigrationError as exc:
            log.error("report could not be written: %s", exc)
            return
        log.error("see the report: %s", paths["html"])


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

def step_check(p: Pipeline) -> CheckInfo:
    """Source reachable and matching the contract; Convex reachable with the v2 tables."""
    from loader.legacy_cleanup import remaining_legacy_fields
    from loader.convex.gateway import ConvexFunctionError
    from loader.convex.schema import Schema
    from loader.introspect import introspect, raise_on_errors
    from loader.source_config import connect, resolve_source_dsn

    settings = p.settings()
    dsn = resolve_source_dsn(p.source_url)
    app_table = settings["vars"]["v1_user_table"]
    with connect(dsn, "source") as conn:
        report = introspect(conn, app_table, "v1_user_table" in p.var_overrides)
    raise_on_errors(report, log.error)
    for note in report.notes:
        log.info("note: %s", note)
    tables = p.gateway().list_tables()
    missing = [t for t in Schema.from_file().sorted_table_names() if t not in tables]
    if missing:
        raise ConfigError(f"the Convex target has no table(s) {', '.join(missing)}; deploy the v2 schema first")
    try:  # a read-only call of the companion module: it must be deployed before anything is written
        remaining_legacy_fields(p.gateway(), "cases", max_pages=1)
    except ConvexFunctionError as exc:
        raise ConfigError(f"the companion module (convex/migration.ts) is not usable on the target: {exc}; "
                          "deploy it with `npx convex deploy` first") from None
    return CheckInfo(source_notes=len(report.notes), target_tables=len(tables),
                     migration_as_of=settings["migration_as_of"])


def step_extract(p: Pipeline) -> ExtractInfo:
    from loader.extract import extract
    from loader.source_config import resolve_source_dsn

    result = extract(p.folder, resolve_source_dsn(p.source_url), app_table=p.var("v1_user_table"),
                     app_table_explicit="v1_user_table" in p.var_overrides, echo=log.info)
    return ExtractInfo(tables={t: info["rows"] for t, info in result["tables"].items()},
                       rows=sum(info["rows"] for info in result["tables"].values()))


def step_stage(p: Pipeline) -> StageInfo:
    from loader.stage import stage

    warehouse = p.warehouse_kind()
    result = stage(p.folder, warehouse=warehouse, warehouse_dsn=p.warehouse_dsn(), echo=log.info)
    return StageInfo(rows=sum(t["rows"] for t in result["tables"].values()), warehouse=warehouse)


def step_transform(p: Pipeline) -> TransformInfo:
    from loader.transform import transform

    p.settings()
    result = transform(p.folder, warehouse_dsn=p.warehouse_dsn(), unit_tests=bool(p.options.get("unit_tests")))
    return TransformInfo(node_statuses=result.get("node_statuses", {}), migration_as_of=result.get("migration_as_of"))


def step_export(p: Pipeline) -> ExportInfo:
    from loader.export import export

    total = None
    if p.progress:
        warehouse = p.warehouse()
        total = sum(warehouse.query(m.model, "select count(*) as n from {rel}")[0]["n"] for m in _marts(p))
    with progress_bar(p.progress, "export", total=total, unit="docs") as tick:
        result = export(p.folder, progress=tick, warehouse_dsn=p.warehouse_dsn())
    info = ExportInfo(documents=sum(t["documents"] for t in result["tables"].values()),
                      rejected_documents=result["rejected_documents"],
                      tables={t: entry["documents"] for t, entry in result["tables"].items()})
    check_reject_threshold(p, info)
    return info


def check_reject_threshold(p: Pipeline, export_info: ExportInfo) -> None:
    """Stop before any Convex write when the rejects exceed `--max-rejects`."""
    limit = MaxRejects.parse(p.options.get("max_rejects"))
    if limit is None:
        return
    dbt_rejects = p.warehouse().query("dq_rejects", "select count(*) as n from {rel}")
    rejected = (dbt_rejects[0]["n"] if dbt_rejects else 0) + export_info.rejected_documents
    extracted = sum(t.get("rows", 0) for t in p.details("extract").get("tables", {}).values())
    if limit.exceeded(rejected, extracted):
        raise RejectLimitExceeded(f"{rejected} rejected rows of {extracted} extracted exceed --max-rejects {limit}; "
                                  "nothing was written to Convex (see the report and export/rejects.jsonl)",
                                  rejected=rejected)
    log.info("rejects: %d of %d extracted rows (limit %s)", rejected, extracted, limit)


def _marts(p: Pipeline):
    from loader.dbt_manifest import load_convex_marts
    from loader.export import manifest_path

    return load_convex_marts(manifest_path(p.folder))


def step_backup(p: Pipeline) -> BackupInfo:
    from loader.backup import tables_written, take_backup

    info = take_backup(p.folder, p.gateway(), tables_written(_marts(p)))
    return BackupInfo(documents=sum(info["counts"].values()), tables=info["counts"])


def step_import(p: Pipeline) -> ImportInfo:
    from loader.importer import import_tables

    result = import_tables(p.folder, p.gateway(), mapping=p.mapping(), resume=not p.options.get("no_resume"),
                           dry_run=p.dry_run, progress=p.progress)
    counts = {table: info["counts"] for table, info in result["tables"].items()}
    for table, table_counts in counts.items():
        log.info("import %s: %s", table, ", ".join(f"{rule} {n}" for rule, n in sorted(table_counts.items())) or "nothing")
    return ImportInfo(documents=sum(n for c in counts.values() for rule, n in c.items() if rule != "rejected"),
                      rejected=result["rejected"], dry_run=result["dry_run"], counts=counts)


def step_verify(p: Pipeline) -> VerifyInfo:
    from loader.verify import build_inputs, failure_summary, raise_if_failed, verify_run

    inputs = build_inputs(p.folder, p.mapping(), warehouse_dsn=p.warehouse_dsn())
    exported = p.details("export").get("tables", {})
    total = sum(exported.get(m.table, {}).get("documents", 0) for m in inputs.marts)
    with progress_bar(p.progress, "verify", total=total, unit="docs") as tick:
        result = verify_run(inputs, p.gateway(), progress=tick)
    for line in failure_summary(result):
        log.error("%s", line)
    info = VerifyInfo(passed=result["passed"], verified=sum(t.get("verified", 0) for t in result["tables"].values()))
    if not result["passed"]:
        p.state.finish("verify", info.to_json(), status=FAILED)
        raise_if_failed(result)
    return info


def step_report(p: Pipeline) -> ReportInfo:
    from loader.report import write_report

    paths = write_report(p.folder, p.warehouse_dsn())
    return ReportInfo(markdown=paths["markdown"], html=paths["html"], verify_passed=paths["verify_passed"])


STEP_FUNCTIONS: dict[str, Callable[[Pipeline], StepInfo]] = {
    "check": step_check, "extract": step_extract, "stage": step_stage, "transform": step_transform,
    "export": step_export, "backup": step_backup, "import": step_import, "verify": step_verify,
    "report": step_report,
}
assert tuple(STEP_FUNCTIONS) == STEPS
