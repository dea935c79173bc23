"""The sign-off report: `report/report.md` and ONE self-contained `report/report.html`.

Content: counts per step and table, timings and throughput, verification, reconciliation, rejects
by DQ id with examples, warnings by DQ id, the separate lists of MAPPING_SPEC §4.5 (DQ-01 merges,
DQ-08 users to notify, DQ-12 placeholders, DQ-17 v2-validation failures with rule ids, DQ-21
wages, the known v2 cents issue), documents needing re-upload. Personal data is masked: emails as
`j***@example.com`, names as initials; raw source rows are never shown.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from loader.errors import ConfigError
from loader.run_folder import RunFolder, write_private
from loader.run_state import STATE_FILE, STEPS
from loader.dbt_manifest import load_convex_marts, load_report_declarations
from loader.export import manifest_path
from loader.verify import (
    VERIFY_FILE, first_loader_rejects, iter_loader_rejects, iter_rejected_source_rows, run_dbt_vars, sql_text,
)
from loader.warehouse import Warehouse

REPORT_DIR = "report"
TEMPLATES = Path(__file__).resolve().parent / "templates"
EXAMPLES_PER_DQ = 5
REJECT_COLUMNS = ("source_table", "v1_id", "field", "value", "reason", "message")
RAW_COLUMNS = frozenset({"source_row", "raw_item"})  # whole source values: never shown
LIST_LIMIT = 200


def dq_title(titles: dict[str, str], dq_id: str) -> str:
    """The catalogue line of a DQ id; sub-ids such as `DQ-19a` use their parent's."""
    return titles.get(dq_id) or titles.get(re.sub(r"[a-z]+$", "", dq_id), "")


CENTS_NOTE = (
    "Known v2 issue (MAPPING_SPEC §2.5): pwdWageAmount is stored in cents as the v2 schema says. "
    "The v2 detail view divides by 100 and shows it correctly, but the v2 edit form shows and saves "
    "the stored value unchanged (a migrated $85,000.00 shows as 8500000 there). The migration does "
    "not compensate; fix the edit form in v2."
)

# --- masking ---------------------------------------------------------------------------------

_EMAIL = re.compile(r"([^\s@\"'<>,;:]+)@([^\s@\"'<>,;:]+\.[^\s@\"'<>,;:]+)")
_PERSON_NAME_COLUMNS = frozenset({"name", "full_name", "fullname", "first_name", "last_name", "display_name",
                                   "beneficiary_name", "beneficiary_identifier", "beneficiaryidentifier"})


def mask_email(text: str) -> str:
    """`jane.doe@example.com` → `j***@example.com` (every email inside the text)."""
    return _EMAIL.sub(lambda m: f"{m.group(1)[0]}***@{m.group(2)}", text)


def initials(text: str) -> str:
    """`Jane Q. Doe` → `J. Q. D.`"""
    words = [w for w in re.split(r"\s+", text.strip()) if w and w[0].isalnum()]
    return " ".join(f"{w[0].upper()}." for w in words) or "—"


def mask_value(column: str, value: Any) -> Any:
    """Mask personal data in one report cell."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    if column.lower() in _PERSON_NAME_COLUMNS:
        return initials(text)
    return mask_email(text)


def mask_row(row: dict[str, Any], columns: list[str]) -> dict[str, str]:
    return {c: mask_value(c, row.get(c)) for c in columns}


# --- data ------------------------------------------------------------------------------------

@dataclass
class Table:
    """A titled table of masked cells."""

    title: str
    columns: list[str]
    rows: list[dict[str, str]]
    total: int
    note: str = ""


@dataclass
class ReportData:
    run_id: str
    generated_at: str
    migration_as_of: str
    verify_passed: bool | None
    steps: list[dict[str, Any]]
    extract_counts: list[dict[str, Any]]
    load_counts: list[dict[str, Any]]
    reconciliation: list[dict[str, Any]]
    rejects_by_dq: list[dict[str, Any]]
    reject_examples: list[Table]
    loader_rejects: Table
    loader_rejected_rows: Table
    warnings_by_dq: list[dict[str, Any]]
    lists: list[Table]
    verify_failures: list[str]
    dq_titles: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def dq_title(self, dq_id: str) -> str:
        return dq_title(self.dq_titles, dq_id)


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _step_rows(state: dict[str, Any] | None, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name in STEPS:
        entry = (state or {}).get("steps", {}).get(name, {})
        result = entry.get("result") or manifest.get("steps", {}).get(name) or {}
        documents = _documents_of(name, result)
        seconds = entry.get("seconds")
        rows.append({
            "step": name,
            "status": entry.get("status", "done" if name in manifest.get("steps", {}) else "—"),
            "seconds": f"{seconds:.1f}" if isinstance(seconds, (int, float)) else "",
            "rows": documents if documents is not None else "",
            "throughput": f"{documents / seconds:,.0f}/s" if documents and seconds else "",
            "error": entry.get("error", ""),
        })
    return rows


def _documents_of(step: str, result: dict[str, Any]) -> int | None:
    """Rows/documents a step handled, from its recorded result (for throughput)."""
    tables = result.get("tables")
    if isinstance(tables, dict):
        total = 0
        for info in tables.values():
            if isinstance(info, dict):
                total += int(info.get("rows", info.get("documents", info.get("written", 0))) or 0)
            elif isinstance(info, int):
                total += info
        return total
    for key in ("documents", "rows", "verified"):
        if isinstance(result.get(key), int):
            return result[key]
    return None


def _extract_counts(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    tables = manifest.get("steps", {}).get("extract", {}).get("tables", {})
    return [{"table": t, "rows": info.get("rows", "")} for t, info in sorted(tables.items())]


def _load_counts(manifest: dict[str, Any], verify: dict[str, Any] | None) -> list[dict[str, Any]]:
    exported = manifest.get("steps", {}).get("export", {}).get("tables", {})
    rows = []
    for table, info in exported.items():
        checked = (verify or {}).get("tables", {}).get(table, {})
        rows.append({
            "table": table,
            "exported": info.get("documents", ""),
            "rejected_at_export": info.get("rejected", ""),
            "created": checked.get("created", ""),
            "pre_existing": checked.get("pre_existing", ""),
            "verified": checked.get("verified", ""),
            "in_target": (verify or {}).get("target_counts", {}).get(table, ""),
        })
    return rows


def _table(title: str, rows: list[dict[str, Any]], total: int, columns: list[str] | None = None,
           full_list: str = "the warehouse") -> Table:
    """A masked table of the rows shown; notes where the full list is when `total` is larger."""
    columns = columns or (list(rows[0]) if rows else [])
    shown = [mask_row(r, columns) for r in rows]
    note = f"Showing {len(shown)} of {total}; the full list is in {full_list}." if total > len(shown) else ""
    return Table(title, columns, shown, total, note)


def _model_list(warehouse: Warehouse, model: str, title: str) -> Table:
    """The first LIST_LIMIT rows of a declared list mart, and its total; a note when the run's
    warehouse cannot read it (a failed dbt build skips the marts downstream of the failure)."""
    try:
        [counted] = warehouse.rows(model, "select count(*) as n from {rel}")
    except ConfigError as exc:
        return Table(title, [], [], 0, f"Not built in this run ({exc}); see logs/dbt.log.")
    rows = list(warehouse.rows(model, f"select * from {{rel}} order by 1 limit {LIST_LIMIT}"))
    return _table(title, rows, int(counted["n"]), [c for c in (rows[0] if rows else []) if c not in RAW_COLUMNS])


def _dq_titles(warehouse: Warehouse, relation: str | None) -> dict[str, str]:
    """DQ id → title, from the project's DQ catalogue seed as this run's warehouse holds it."""
    if relation is None:
        return {}
    return {row["dq_id"]: row["title"] for row in warehouse.relation_rows(relation, "select dq_id, title from {rel}")}


def _loader_rejects_table(folder: RunFolder) -> Table:
    shown, total = [], 0
    for record in iter_loader_rejects(folder):
        total += 1
        if len(shown) < LIST_LIMIT:
            shown.append(record)
    return _table("Rejected by the loader (contract, limits, load-time)", shown, total,
                  ["table", "legacy_id", "dq_id", "field", "expected", "got", "message"],
                  full_list="export/rejects.jsonl and import/*.rejects.jsonl")


def _loader_rejected_rows_table(warehouse: Warehouse) -> Table:
    """The source rows counted as rejected with a loader-rejected document (conservation)."""
    title = "Source rows rejected with those documents"
    shown, total = [], 0
    rejected = first_loader_rejects(warehouse.folder)
    try:
        marts = load_convex_marts(manifest_path(warehouse.folder)) if rejected else []
        for row in iter_rejected_source_rows(warehouse, marts, run_dbt_vars(warehouse.folder), rejected):
            total += 1
            if len(shown) < LIST_LIMIT:
                shown.append(row)
    except ConfigError as exc:
        return Table(title, [], [], 0, f"Not listed: {exc}")
    return _table(title, shown, total,
                  ["source_table", "v1_id", "table", "legacy_id", "dq_id", "message"],
                  full_list="the documents' reject files (export/rejects.jsonl, import/*.rejects.jsonl)")


def collect(folder: RunFolder, warehouse_dsn: str | None = None) -> ReportData:
    """Gather everything the report shows from the run folder and the warehouse."""
    warehouse = Warehouse(folder, warehouse_dsn)
    manifest = folder.read_manifest()
    state = _read_json(folder.path(STATE_FILE))
    verify = _read_json(folder.path(VERIFY_FILE))
    notes: list[str] = []
    declared = load_report_declarations(manifest_path(folder))
    dq_titles = _dq_titles(warehouse, declared.dq_catalogue_relation)

    rejects_by_dq = warehouse.query("dq_rejects",
        "select dq_id, source_table, count(*) as rows from {rel} group by dq_id, source_table "
        "order by dq_id, source_table") or []
    reject_examples = []
    for dq_id in sorted({r["dq_id"] for r in rejects_by_dq}):
        rows = warehouse.query("dq_rejects",
            "select * from {rel} where dq_id = " + sql_text(dq_id)
            + f" order by source_table, v1_id limit {EXAMPLES_PER_DQ}") or []
        columns = [c for c in REJECT_COLUMNS if rows and c in rows[0]]
        total = sum(r["rows"] for r in rejects_by_dq if r["dq_id"] == dq_id)
        reject_examples.append(Table(f"{dq_id} — {dq_title(dq_titles, dq_id)}", columns,
                                     [mask_row(r, columns) for r in rows], total))
    warnings_by_dq = warehouse.query("dq_warnings",
        "select dq_id, level, count(*) as findings from {rel} group by dq_id, level order by dq_id, level")
    if warnings_by_dq is None:
        notes.append("The data-quality marts are not in this run's warehouse (transform did not run).")
        warnings_by_dq = []

    verify_failures = []
    for name, check in (verify or {}).get("checks", {}).items():
        verify_failures.extend(f"{name}: {example}" for example in check["examples"][:10])
    return ReportData(
        run_id=folder.run_id,
        generated_at=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        migration_as_of=manifest.get("migration_as_of", ""),
        verify_passed=None if verify is None else bool(verify["passed"]),
        steps=_step_rows(state, manifest),
        extract_counts=_extract_counts(manifest),
        load_counts=_load_counts(manifest, verify),
        reconciliation=(verify or {}).get("conservation") or warehouse.query("dq_reconciliation", "select * from {rel} order by source_table") or [],
        rejects_by_dq=rejects_by_dq,
        reject_examples=reject_examples,
        loader_rejects=_loader_rejects_table(folder),
        loader_rejected_rows=_loader_rejected_rows_table(warehouse),
        warnings_by_dq=warnings_by_dq,
        lists=[_model_list(warehouse, item.model, item.title) for item in declared.follow_up_lists],
        verify_failures=verify_failures,
        dq_titles=dq_titles,
        notes=notes,
    )


# --- rendering -------------------------------------------------------------------------------

def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.globals.update(cents_note=CENTS_NOTE)
    return env


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _md_table(columns: list[str], rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_md_cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return lines + [""]


def render_markdown(data: ReportData) -> str:
    verdict = {True: "PASSED", False: "FAILED", None: "not run"}[data.verify_passed]
    out = [f"# Migration report — run {data.run_id}", "",
           f"- Verification: **{verdict}**", f"- migration_as_of: {data.migration_as_of}",
           f"- Generated: {data.generated_at}", ""]
    out += [f"> {note}" for note in data.notes] + ([""] if data.notes else [])
    out += ["## Steps and throughput", ""] + _md_table(["step", "status", "seconds", "rows", "throughput", "error"], data.steps)
    out += ["## Extracted rows per source table", ""] + _md_table(["table", "rows"], data.extract_counts)
    out += ["## Documents per Convex table", ""] + _md_table(
        ["table", "exported", "rejected_at_export", "created", "pre_existing", "verified", "in_target"], data.load_counts)
    out += ["## Reconciliation (extracted = loaded + rejected + excluded)", ""] + _md_table(
        ["source_table", "extracted", "loaded", "rejected", "excluded", "balanced"], data.reconciliation)
    if data.verify_failures:
        out += ["## Verification mismatches (first)", ""] + [f"- {line}" for line in data.verify_failures] + [""]
    out += ["## Rejects by DQ id", ""] + _md_table(["dq_id", "source_table", "rows"], data.rejects_by_dq)
    for table in [*data.reject_examples, data.loader_rejects, data.loader_rejected_rows]:
        out += _md_section(table, level=3)
    out += ["## Warnings and notes by DQ id", ""]
    out += _md_table(["dq_id", "level", "findings", "meaning"],
                     [{**r, "meaning": data.dq_title(r["dq_id"])} for r in data.warnings_by_dq])
    out += ["## Lists for follow-up", ""]
    for table in data.lists:
        out += _md_section(table, level=3)
    out += ["### Known v2 cents issue", "", CENTS_NOTE, ""]
    return "\n".join(out)


def _md_section(table: Table, level: int) -> list[str]:
    lines = [f"{'#' * level} {table.title} ({table.total})", ""]
    if table.note:
        lines += [table.note, ""]
    return lines + _md_table(table.columns, table.rows)


def render_html(data: ReportData) -> str:
    return _environment().get_template("report.html.j2").render(data=data)


def write_report(folder: RunFolder, warehouse_dsn: str | None = None) -> dict[str, Any]:
    """Write `report/report.md` and `report/report.html` (mode 0600); return their paths."""
    if not folder.path("manifest.json").is_file():
        raise ConfigError(f"run {folder.run_id}: no manifest.json")
    data = collect(folder, warehouse_dsn)
    md_path, html_path = folder.path(REPORT_DIR, "report.md"), folder.path(REPORT_DIR, "report.html")
    write_private(md_path, render_markdown(data).encode("utf-8"))
    write_private(html_path, render_html(data).encode("utf-8"))
    return {"markdown": str(md_path.resolve()), "html": str(html_path.resolve()), "verify_passed": data.verify_passed}
