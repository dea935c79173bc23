"""Verify loaded cases against the v1 snapshot through the mapping rules (MAPPING_SPEC §4.5).

An independent Python re-derivation (no dbt output is read): it streams `raw/cases.jsonl` and
checks, for every case the target holds exactly once by `legacyId` (rows not loaded —
rejected, excluded — and documents that existed before the run are skipped):
- cents (§3.1, §3.4): `pwdWageAmount` = round_half_up(dollars × 100) of `pwd_wage_amount`
  (`$`, `,` and whitespace stripped); negative or non-numeric → absent;
- status translation (§3.5): `caseStatus`, `progressStatus`, `progressStatusOverride`,
  `closureReason`, `closedAt` from the v1 status columns; calculateAutoStatus (§3.9.7) reads the
  target case's own mapped dates and entries (the documents check compares those with the export);
- RFI/RFE entries (§3.6, §3.9.5): the entries built from `case_rfi`/`case_rfe` rows, list items
  and legacy columns (precedence, dedupe, dropped entries), each with its mapped fields and the
  RFI due date recomputed as receivedDate + 30 days; the set and order of entry ids.

Restrictions (cases where a false failure would be likelier than a caught bug):
- a wage with more than 15 integer digits or in exponent notation is not checked;
- a case whose `progress_status_override` is not a JSON boolean gets no status check;
- a case whose `rfi_list`/`rfe_list` has an item member that is neither a string nor null gets
  only its table-row entries checked (present, with their fields), not the full id set and order;
- a case with a title holding upper-case non-ASCII letters gets no entry check of that kind (the
  dedupe key lowercases titles, which depends on the warehouse's collation);
- table rows with the same received date and title keep the one first by (`created_at`, nulls
  last, then `id`), the order the transform uses (the spec does not place NULL `created_at`).

The raw `case_rfi`/`case_rfe` rows are indexed by case in the verify SQLite index (constant memory).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from loader.run_folder import RunFolder, iter_jsonl

RFI_DUE_DAYS = 30
MIN_DATE, MAX_DATE = dt.date(1990, 1, 1), dt.date(2100, 12, 31)
ENTRY_KINDS = ("rfi", "rfe")
MAX_CENTS_INTEGER_DIGITS = 15

_CONTROL_CHARS = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ASCII_WHITESPACE = " \t\n\r\f\v"
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
                       r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?)?")
_SLASH_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_RAW_TIMESTAMP = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}:[0-9]{2})([.][0-9]+)?")
_DOLLARS = re.compile(r"([0-9]+)([.][0-9]*)?|[.]([0-9]+)")
_DOLLARS_STRIP = re.compile(r"[$, \t\n\r\f\v]")
_EXPONENT = re.compile(r"[0-9.]*[eE][+-]?[0-9]+")
_VOCABULARY_SEPARATORS = re.compile(r"[ \t\n\r\f\v_/-]+")

# §3.5 step 2: normalised case_status → (stage hint S, progress hint H, closureReason if terminal)
CASE_STATUS_HINTS: dict[str, tuple[str | None, str | None, str | None]] = {
    **dict.fromkeys(("pwd", "draft"), ("pwd", None, None)),
    "pwd filed": ("pwd", "filed", None),
    **dict.fromkeys(("pwd approved", "pwd received"), ("recruitment", "working", None)),
    "recruitment": ("recruitment", None, None),
    "recruitment completed": ("recruitment", "filed", None),
    "eta 9089 prep": ("eta9089", "working", None),
    **dict.fromkeys(("eta 9089 filed", "eta9089 filed"), ("eta9089", "filed", None)),
    "eta 9089 audit": ("eta9089", "under_review", None),
    **dict.fromkeys(("eta 9089 certified", "eta9089 certified", "certified"), ("i140", "working", None)),
    **dict.fromkeys(("eta 9089", "eta9089"), ("eta9089", None, None)),
    "i 140 prep": ("i140", "working", None),
    **dict.fromkeys(("i 140 filed", "i140 filed"), ("i140", "filed", None)),
    **dict.fromkeys(("i 140 approved", "i140 approved", "complete", "completed", "approved"),
                    ("i140", "approved", None)),
    **dict.fromkeys(("i 140", "i140"), ("i140", None, None)),
    "rfe": ("i140", "rfi_rfe", None),
    **dict.fromkeys(("closed", "archived"), ("closed", None, "manual")),
    "withdrawn": ("closed", None, "withdrawn"),
    "denied": ("closed", None, "denied"),
}

# §3.5 step 3: normalised progress_status → M
PROGRESS_VALUES: dict[str, str] = {
    **dict.fromkeys(("working", "working on it", "in progress"), "working"),
    **dict.fromkeys(("waiting intake", "waiting for intake", "pending intake", "pending documents",
                     "pending signatures", "pending", "on hold"), "waiting_intake"),
    "under review": "under_review",
    "filed": "filed",
    **dict.fromkeys(("approved", "complete", "completed"), "approved"),
    **dict.fromkeys(("rfi rfe", "rfi", "rfe"), "rfi_rfe"),
}
MANUAL_ONLY = ("waiting_intake", "under_review")
STATUS_FIELDS = ("caseStatus", "progressStatus", "progressStatusOverride", "closureReason", "closedAt")

# --- the rules, one value at a time ----------------------------------------------------------


class Unchecked(Exception):
    """A v1 value outside what this check re-derives (see the module's restrictions)."""


def dollars_to_cents(value: Any) -> int | None:
    """§3.1: cents = round_half_up(dollars × 100); None for negative or non-numeric values."""
    if value is None:
        return None
    text = _DOLLARS_STRIP.sub("", value if isinstance(value, str) else str(value))
    if _EXPONENT.fullmatch(text):
        raise Unchecked(f"exponent notation {value!r}")
    match = _DOLLARS.fullmatch(text)
    if match is None:
        return None
    if len(match.group(1) or "") > MAX_CENTS_INTEGER_DIGITS:
        raise Unchecked(f"more than {MAX_CENTS_INTEGER_DIGITS} integer digits")
    cents = Decimal(text) * 100
    return int(cents.to_integral_value(rounding="ROUND_HALF_UP"))


def clean_text(value: Any) -> str | None:
    """§3.1 TEXT: control characters removed, ASCII whitespace trimmed; empty → None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unchecked(f"text value of JSON type {type(value).__name__}")
    return _CONTROL_CHARS.sub("", value).strip(_ASCII_WHITESPACE) or None


def parse_date(value: Any, text_format: str | None = None) -> str | None:
    """§3.1 DATE/text dates: `YYYY-MM-DD` (time part ignored as written), slash dates only in the
    configured order; impossible or out-of-range (1990–2100) dates → None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unchecked(f"date value of JSON type {type(value).__name__}")
    text = value.strip(" ")
    match = _ISO_DATE.fullmatch(text)
    if match:
        year, month, day = (int(g) for g in match.group(1, 2, 3))
    elif text_format in ("MM/DD/YYYY", "DD/MM/YYYY") and (match := _SLASH_DATE.fullmatch(text)):
        first, second, year = (int(g) for g in match.groups())
        month, day = (first, second) if text_format == "MM/DD/YYYY" else (second, first)
    else:
        return None
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return None
    return date.isoformat() if MIN_DATE <= date <= MAX_DATE else None


def add_days(date_text: str, days: int) -> str:
    """`YYYY-MM-DD` + n calendar days (§3.9.1)."""
    return (dt.date.fromisoformat(date_text) + dt.timedelta(days=days)).isoformat()


def rfi_due_date(received_date: str) -> str:
    """§3.9.5: an RFI is due receivedDate + 30 calendar days."""
    return add_days(received_date, RFI_DUE_DAYS)


def timestamp_ms(value: Any) -> int | None:
    """§3.1 ms(ts) of a raw UTC timestamp text; None when NULL or unreadable (infinity, BC, …)."""
    match = _RAW_TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    if len(match.group(3) or "") > 7:
        raise Unchecked(f"timestamp {value!r} finer than microseconds")
    try:
        moment = dt.datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}{match.group(3) or ''}")
    except ValueError:
        return None
    delta = moment.replace(tzinfo=dt.timezone.utc) - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds) // 1000


def normalise_vocabulary(value: Any) -> str | None:
    """§3.5: trim, lowercase, runs of whitespace, `_`, `-`, `/` → one space."""
    if not isinstance(value, str):
        return None
    return _VOCABULARY_SEPARATORS.sub(" ", value.strip(" ").lower())


def _uuid(value: Any) -> str:
    return str(value).strip(_ASCII_WHITESPACE).lower()


def _coalesce(value: Any, default: Any) -> Any:
    return default if value is None else value


def _present(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def is_active(entry: dict[str, Any]) -> bool:
    """§3.9.7: a received date and no submitted date."""
    return _present(entry.get("receivedDate")) and not _present(entry.get("responseSubmittedDate"))


def auto_status(case: dict[str, Any], as_of: str) -> tuple[str, str]:
    """§3.9.7 calculateAutoStatus on a mapped (v2) case: (caseStatus, progressStatus)."""
    if any(is_active(e) for e in case.get("rfeEntries") or []):
        return "i140", "rfi_rfe"
    if any(is_active(e) for e in case.get("rfiEntries") or []):
        return "eta9089", "rfi_rfe"
    for name, status in (("i140ApprovalDate", ("i140", "approved")), ("i140DenialDate", ("closed", "approved")),
                         ("i140FilingDate", ("i140", "filed")), ("eta9089CertificationDate", ("i140", "working")),
                         ("eta9089FilingDate", ("eta9089", "filed"))):
        if _present(case.get(name)):
            return status
    if _present(case.get("pwdDeterminationDate")):
        return _recruitment_status(case, as_of)
    return ("pwd", "filed") if _present(case.get("pwdFilingDate")) else ("pwd", "working")


def _recruitment_status(case: dict[str, Any], as_of: str) -> tuple[str, str]:
    professional = case.get("isProfessionalOccupation") is True
    methods = case.get("additionalRecruitmentMethods") or []
    method_dates = [m.get("date") for m in methods if _present(m.get("date"))]
    complete_methods = sum(1 for m in methods if _present(m.get("method")) and _present(m.get("date")))
    required = ("jobOrderStartDate", "jobOrderEndDate", "sundayAdFirstDate", "sundayAdSecondDate",
                "noticeOfFilingStartDate", "noticeOfFilingEndDate")
    complete = all(_present(case.get(name)) for name in required) and (
        not professional or complete_methods >= 3 or _present(case.get("additionalRecruitmentEndDate")))
    if not complete:
        return "recruitment", "working"
    ends = [case.get(n) for n in ("jobOrderEndDate", "sundayAdSecondDate", "noticeOfFilingEndDate")]
    if professional:
        ends += [case.get("additionalRecruitmentEndDate"), *method_dates]
    last_end = max(e for e in ends if _present(e))
    return ("eta9089", "working") if add_days(last_end, 30) <= as_of else ("recruitment", "filed")


def expected_status(v1_case: dict[str, Any], case: dict[str, Any], as_of: str) -> dict[str, Any]:
    """§3.5 steps 2-4: the status fields of a mapped case from its v1 status columns."""
    override = v1_case.get("progress_status_override")
    if override is not None and not isinstance(override, bool):
        raise Unchecked("progress_status_override is not a boolean")
    stage_hint, progress_hint, closure = CASE_STATUS_HINTS.get(normalise_vocabulary(v1_case.get("case_status")),
                                                               (None, None, None))
    progress = PROGRESS_VALUES.get(normalise_vocabulary(v1_case.get("progress_status"))) or progress_hint
    has_active = any(is_active(e) for k in ("rfiEntries", "rfeEntries") for e in case.get(k) or [])
    if progress == "rfi_rfe" and not has_active:
        progress = None
    auto_stage, auto_progress = auto_status(case, as_of)
    if closure:
        return {"caseStatus": "closed", "progressStatus": progress or auto_progress, "progressStatusOverride": True,
                "closureReason": closure, "closedAt": case.get("updatedAt")}
    if override is True:
        return {"caseStatus": stage_hint or auto_stage, "progressStatus": progress or auto_progress,
                "progressStatusOverride": True}
    if progress in MANUAL_ONLY and not has_active:
        return {"caseStatus": auto_stage, "progressStatus": progress, "progressStatusOverride": True}
    return {"caseStatus": auto_stage, "progressStatus": auto_progress}


# --- RFI/RFE entries (§3.6) --------------------------------------------------------------------

@dataclass
class Candidate:
    """One candidate entry: its source rank (1 table row, 2 list item, 3 legacy) and mapped fields."""

    rank: int
    entry: dict[str, Any]
    received: str | None
    due: str | None
    title: str | None


def _candidate(kind: str, rank: int, entry_id: str, fields: dict[str, Any], created_at: int,
               text_format: str | None) -> Candidate:
    received = parse_date(fields.get("received_date"), text_format)
    due_v1 = parse_date(fields.get("response_due_date"), text_format)
    submitted = parse_date(fields.get("response_submitted_date"), text_format)
    texts = {name: clean_text(fields.get(column)) for name, column in
             (("title", "title"), ("description", "description"), ("notes", "notes"))}
    due = rfi_due_date(received) if kind == "rfi" and received else (due_v1 or "")
    entry = {"id": entry_id, **{k: v for k, v in texts.items() if v is not None},
             "receivedDate": received or "", "responseDueDate": due,
             **({"responseSubmittedDate": submitted} if submitted else {}), "createdAt": created_at}
    return Candidate(rank, entry, received, due_v1, texts["title"])


def _locale_dependent(title: str | None) -> bool:
    """A title whose lowercase form depends on the warehouse's collation (non-ASCII letters)."""
    return title is not None and not title.isascii() and title.lower() != title


def _list_items(raw: Any) -> list[Any]:
    """§3.1 JSON: the items of a list column (double encoding decoded once); not a list → none."""
    if isinstance(raw, list):
        return raw
    if not isinstance(raw, str):
        return []
    try:
        value = json.loads(raw)
        if isinstance(value, str):
            value = json.loads(value)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def expected_entries(kind: str, v1_case: dict[str, Any], table_rows: list[dict[str, Any]],
                     case_created_at: int, text_format: str | None) -> tuple[list[dict[str, Any]], bool]:
    """The entries §3.6 builds, in v2 order, and whether they are complete.

    Not complete: only the table-row entries are given (a list item was outside the re-derivation),
    or none at all (a table row was, or a title's lowercase depends on the collation)."""
    case_id = _uuid(v1_case["id"])
    try:
        candidates = [_candidate(kind, 1, f"v1-{kind}-{_uuid(row['id'])}", row,
                                 _coalesce(timestamp_ms(row.get("created_at")), case_created_at), text_format)
                      for row in table_rows]
    except Unchecked:
        return [], False
    complete = True
    for position, item in enumerate(_list_items(v1_case.get(f"{kind}_list")), start=1):
        if not isinstance(item, dict):
            continue
        try:
            candidates.append(_candidate(kind, 2, f"v1-{kind}-{case_id}-{position}", item, case_created_at,
                                         text_format))
        except Unchecked:
            complete = False
    legacy = {name: v1_case.get(f"{kind}_{name}") for name in
              ("received_date", "response_due_date", "response_submitted_date", "notes")}
    if any(legacy[n] is not None for n in ("received_date", "response_due_date", "response_submitted_date")):
        candidates.append(_candidate(kind, 3, f"v1-{kind}-{case_id}-0", legacy, case_created_at, text_format))
    if any(_locale_dependent(c.title) for c in candidates):
        return [], False
    kept: list[Candidate] = []
    keys: set[tuple[str, str]] = set()
    best_rank_for_date: dict[str, int] = {}
    usable = [c for c in candidates if c.received is not None or c.due is not None]
    for candidate in usable:  # already in precedence order
        received = candidate.received or ""
        best_rank_for_date.setdefault(received, candidate.rank)
        key = (received, (candidate.title or "").lower())
        if key in keys or (candidate.title is None and best_rank_for_date[received] < candidate.rank):
            continue
        keys.add(key)
        kept.append(candidate)
    kept.sort(key=lambda c: (c.entry["receivedDate"], c.rank, c.entry["id"]))
    return [c.entry for c in kept if complete or c.rank == 1], complete


# --- the check over a run ----------------------------------------------------------------------

@dataclass
class RuleSettings:
    """What the rules read from the run: the as-of date and the text-date order."""

    as_of_date: str
    text_date_format: str | None

    @classmethod
    def from_folder(cls, folder: RunFolder) -> "RuleSettings":
        manifest = folder.read_manifest()
        dbt_vars = manifest.get("config", {}).get("dbt_vars", {})
        return cls(str(manifest.get("migration_as_of", ""))[:10], dbt_vars.get("v1_text_date_format"))


def _sort_ms(value: Any) -> int | None:
    """The precedence key of a table row (a row outside the re-derivation sorts last; its case is skipped)."""
    try:
        return timestamp_ms(value)
    except Unchecked:
        return None


class EntryRows:
    """The raw `case_rfi`/`case_rfe` rows, indexed by case in the verify SQLite database."""

    def __init__(self, db: sqlite3.Connection, raw_dir: Path):
        self.db = db
        db.execute("CREATE TABLE rule_entry_rows (kind TEXT, case_id TEXT, created_ms INTEGER, row_id TEXT, row TEXT)")
        for kind in ENTRY_KINDS:
            path = raw_dir / f"case_{kind}.jsonl"
            rows = iter_jsonl(path) if path.is_file() else iter(())
            db.executemany("INSERT INTO rule_entry_rows VALUES (?, ?, ?, ?, ?)", (
                (kind, _uuid(r.get("case_id")), _sort_ms(r.get("created_at")), _uuid(r.get("id")),
                 json.dumps(r)) for r in rows))
        db.execute("CREATE INDEX rule_entry_rows_case ON rule_entry_rows (kind, case_id)")
        # the cases that have rows (a few percent): the others need no query
        self.cases_with_rows = {(kind, case_id) for kind, case_id in
                                db.execute("SELECT DISTINCT kind, case_id FROM rule_entry_rows")}

    def of_case(self, kind: str, case_id: str) -> list[dict[str, Any]]:
        """Rows of one case in §3.6 precedence: created_at (NULL last), then id."""
        if (kind, case_id) not in self.cases_with_rows:
            return []
        rows = self.db.execute("SELECT row FROM rule_entry_rows WHERE kind = ? AND case_id = ? "
                               "ORDER BY created_ms IS NULL, created_ms, row_id", (kind, case_id))
        return [json.loads(row[0]) for row in rows]

    def close(self) -> None:
        self.db.execute("DROP TABLE rule_entry_rows")


Diff = Callable[[Any, Any, str], Iterator[str]]


def check_mapping_rules(folder: RunFolder, db: sqlite3.Connection,
                        find_case: Callable[[str], tuple[str, dict[str, Any]] | None],
                        diff: Diff, add_finding: Callable[[str], None]) -> int:
    """Check every loaded case of the run's v1 snapshot; returns the number of cases checked.

    `find_case(legacy_id)` gives the (_id, document) of the run's case in the target, or None to skip it.
    """
    settings = RuleSettings.from_folder(folder)
    cases_file = folder.raw_dir / "cases.jsonl"
    if not cases_file.is_file():
        return 0
    entry_rows = EntryRows(db, folder.raw_dir)
    checked = 0
    try:
        for v1_case in iter_jsonl(cases_file):
            legacy_id = _uuid(v1_case.get("id"))
            found = find_case(legacy_id)
            if found is None:
                continue
            doc_id, case = found
            label = f"cases legacyId={legacy_id} (_id {doc_id})"
            for rule, line in _case_findings(v1_case, case, entry_rows, settings, diff):
                add_finding(f"{label}: {line} (rule: {rule})")
            checked += 1
    finally:
        entry_rows.close()
    return checked


def _case_findings(v1_case: dict[str, Any], case: dict[str, Any], entry_rows: EntryRows,
                   settings: RuleSettings, diff: Diff) -> Iterator[tuple[str, str]]:
    try:
        cents = dollars_to_cents(v1_case.get("pwd_wage_amount"))
    except Unchecked:
        pass
    else:
        expected = {} if cents is None else {"pwdWageAmount": cents}
        actual = {k: case[k] for k in ("pwdWageAmount",) if k in case}
        for line in diff(expected, actual, ""):
            yield "cents from pwd_wage_amount " + json.dumps(v1_case.get("pwd_wage_amount")), line
    try:
        status = expected_status(v1_case, case, settings.as_of_date)
    except Unchecked:
        pass
    else:
        actual = {k: case[k] for k in STATUS_FIELDS if k in case}
        source = f"status from case_status {json.dumps(v1_case.get('case_status'))}, progress_status " \
                 f"{json.dumps(v1_case.get('progress_status'))}"
        for line in diff(status, actual, ""):
            yield source, line
    for kind in ENTRY_KINDS:
        yield from _entry_findings(kind, v1_case, case, entry_rows, settings, diff)


def _entry_findings(kind: str, v1_case: dict[str, Any], case: dict[str, Any], entry_rows: EntryRows,
                    settings: RuleSettings, diff: Diff) -> Iterator[tuple[str, str]]:
    field = f"{kind}Entries"
    rule = f"{kind.upper()} entries (§3.6)"
    table_rows = entry_rows.of_case(kind, _uuid(v1_case["id"]))
    created_at = case.get("createdAt")
    expected, complete = expected_entries(kind, v1_case, table_rows, created_at, settings.text_date_format)
    actual_entries = [e for e in case.get(field) or [] if isinstance(e, dict)]
    actual = {e.get("id"): e for e in actual_entries}
    for entry in expected:
        path = f"{field}[{entry['id']}]"
        got = actual.get(entry["id"])
        if got is None:
            yield rule, f"{path}: expected an entry, missing"
            continue
        if kind == "rfi" and entry["receivedDate"]:  # the due date has its own rule, below
            entry, got = dict(entry), dict(got)
            entry.pop("responseDueDate")
            got.pop("responseDueDate", None)
        for line in diff(entry, got, path):
            yield rule, line
    if kind == "rfi":
        yield from _rfi_due_date_findings(actual_entries, field)
    if complete:
        expected_ids = [e["id"] for e in expected]
        actual_ids = [e.get("id") for e in actual_entries]
        if len(actual_ids) != len(expected_ids):
            yield rule, f"{field}: expected {len(expected_ids)} entries, got {len(actual_ids)}"
        for extra in sorted(set(map(str, actual_ids)) - set(expected_ids)):
            yield rule, f"{field}[{extra}]: unexpected entry"
        if sorted(map(str, actual_ids)) == sorted(expected_ids) and actual_ids != expected_ids:
            yield rule, f"{field}: expected order {expected_ids}, got {actual_ids}"


def _rfi_due_date_findings(entries: list[dict[str, Any]], field: str) -> Iterator[tuple[str, str]]:
    """§3.6/§3.9.5: every RFI entry with a received date is due 30 days later."""
    for entry in entries:
        received = entry.get("receivedDate")
        if not isinstance(received, str) or not received or parse_date(received) != received:
            continue  # no (valid) received date: the entry rules above judge it
        due = rfi_due_date(received)
        if entry.get("responseDueDate") != due:
            got = json.dumps(entry["responseDueDate"]) if "responseDueDate" in entry else "missing"
            yield "RFI due date = receivedDate + 30", \
                f"{field}[{entry.get('id')}].responseDueDate: expected {json.dumps(due)}, got {got}"
