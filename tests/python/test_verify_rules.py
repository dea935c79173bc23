"""verify's mapping-rules check (MAPPING_SPEC §4.5): the target re-derived from the v1 snapshot.

The end-to-end tests simulate a transform bug: the same wrong value goes into the export file and
the target, so the export comparison still passes and only the rules check can catch it.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from loader.backup import take_backup
from loader.convex.gateway import ConvexGateway, ConvexTarget
from perm_rehearsal.demo_data.generator import generate
from perm_rehearsal.emulator import Emulator, EmulatorConfig
from loader.export import export
from loader.extract import extract
from loader.importer import import_tables
from loader.mapping_table import MappingTable
from loader.run_folder import RunFolder
from loader.stage import stage
from loader.transform import transform
from loader.verify import build_inputs, verify_run
from loader.verify_rules import (Unchecked, add_days, auto_status, dollars_to_cents, expected_entries,
                                 expected_status, parse_date, rfi_due_date, timestamp_ms)

AS_OF = "2026-01-15T00:00:00Z"


# --- the rules against the spec's vectors -------------------------------------------------------

@pytest.mark.parametrize("dollars, cents", [
    ("85000.00", 8_500_000), ("$85,000", 8_500_000), (" $ 1,234.5 ", 123_450), ("85000.005", 8_500_001),
    ("85000.0049", 8_500_000), ("0.125", 13), (".5", 50), ("7.", 700), ("0", 0), (85000, 8_500_000),
    ("-5", None), ("-0.01", None), ("abc", None), ("", None), ("$", None), ("1.2.3", None), (None, None),
    ("85\u00a0000", None),  # only ASCII whitespace is stripped, as in the transform
])
def test_dollars_to_cents(dollars, cents):
    assert dollars_to_cents(dollars) == cents


@pytest.mark.parametrize("dollars", ["1e5", "1" * 16])
def test_wages_outside_the_rederivation_are_not_checked(dollars):
    with pytest.raises(Unchecked):
        dollars_to_cents(dollars)


@pytest.mark.parametrize("received, due", [  # §3.9.5
    ("2024-10-15", "2024-11-14"), ("2024-01-31", "2024-03-01"), ("2024-12-15", "2025-01-14"),
    ("2024-02-15", "2024-03-16"), ("2025-02-15", "2025-03-17"), ("2024-03-31", "2024-04-30"),
    ("2024-01-30", "2024-02-29"),
])
def test_rfi_due_date_vectors(received, due):
    assert rfi_due_date(received) == due


@pytest.mark.parametrize("text, text_format, date", [  # §3.1 DATE and text-date rules
    ("2024-03-01", None, "2024-03-01"), ("2024-03-01T23:30:00-05:00", None, "2024-03-01"),
    ("2024-03-01 12:00:00", None, "2024-03-01"), ("2024-02-30", None, None), ("0000-00-00", None, None),
    ("", None, None), ("1989-12-31", None, None), ("2101-01-01", None, None), ("2100-12-31", None, "2100-12-31"),
    ("03/01/2024", None, None), ("03/01/2024", "MM/DD/YYYY", "2024-03-01"), ("03/01/2024", "DD/MM/YYYY", "2024-01-03"),
    ("31/01/2024", "MM/DD/YYYY", None), (None, None, None),
])
def test_parse_date(text, text_format, date):
    assert parse_date(text, text_format) == date


def test_timestamp_ms_floors_microseconds_and_skips_unreadable_values():
    assert timestamp_ms("1970-01-01 00:00:01.999999") == 1999
    assert timestamp_ms("2024-01-01 00:00:00") == 1_704_067_200_000
    assert timestamp_ms("infinity") is None and timestamp_ms(None) is None
    with pytest.raises(Unchecked):
        timestamp_ms("2024-01-01 00:00:00.1234567")


def test_a_table_row_outside_the_rederivation_leaves_the_entries_unchecked():
    rows = [{"id": "r", "received_date": "2024-02-01", "created_at": "2024-01-01 00:00:00.1234567"}]
    assert expected_entries("rfi", {"id": "a"}, rows, 1, None) == ([], False)


RECRUITED = {"pwdDeterminationDate": "2024-01-15", "jobOrderStartDate": "2024-01-20", "jobOrderEndDate": "2024-02-20",
             "sundayAdFirstDate": "2024-01-21", "sundayAdSecondDate": "2024-01-28",
             "noticeOfFilingStartDate": "2024-01-20", "noticeOfFilingEndDate": "2024-02-03"}


@pytest.mark.parametrize("case, as_of, status", [  # §3.9.7 vectors
    ({}, "2024-06-15", ("pwd", "working")),
    ({"pwdFilingDate": "2024-01-15"}, "2024-06-15", ("pwd", "filed")),
    ({"pwdFilingDate": "2024-01-15", "pwdDeterminationDate": "2024-02-15"}, "2024-06-15", ("recruitment", "working")),
    (RECRUITED, "2024-02-25", ("recruitment", "filed")),
    (RECRUITED, "2024-03-20", ("recruitment", "filed")),
    (RECRUITED, "2024-03-21", ("eta9089", "working")),
    ({**RECRUITED, "isProfessionalOccupation": True}, "2024-03-21", ("recruitment", "working")),
    ({"pwdDeterminationDate": "2024-01-15", "eta9089FilingDate": "2024-03-15"}, "2024-06-15", ("eta9089", "filed")),
    ({"eta9089CertificationDate": "2024-05-15"}, "2024-06-15", ("i140", "working")),
    ({"eta9089CertificationDate": "2024-05-15", "i140FilingDate": "2024-06-01"}, "2024-06-15", ("i140", "filed")),
    ({"i140FilingDate": "2024-06-01", "i140ApprovalDate": "2024-08-15"}, "2024-06-15", ("i140", "approved")),
    ({"i140FilingDate": "2024-06-01", "i140DenialDate": "2024-08-15"}, "2024-06-15", ("closed", "approved")),
    ({"eta9089FilingDate": "2024-03-15", "rfiEntries": [{"receivedDate": "2024-04-01"}]}, "2024-06-15",
     ("eta9089", "rfi_rfe")),
    ({"eta9089FilingDate": "2024-03-15",
      "rfiEntries": [{"receivedDate": "2024-04-01", "responseSubmittedDate": "2024-04-15"}]}, "2024-06-15",
     ("eta9089", "filed")),
    ({"i140FilingDate": "2024-06-01", "rfeEntries": [{"receivedDate": "2024-07-01"}]}, "2024-06-15",
     ("i140", "rfi_rfe")),
])
def test_auto_status_vectors(case, as_of, status):
    assert auto_status(case, as_of) == status


@pytest.mark.parametrize("v1, case, expected", [  # §3.5 steps 2-4
    ({"case_status": "PWD Approved"}, {"pwdFilingDate": "2024-01-15"},
     {"caseStatus": "pwd", "progressStatus": "filed"}),
    ({"case_status": " Withdrawn ", "progress_status": "Under_Review"}, {"updatedAt": 5},
     {"caseStatus": "closed", "progressStatus": "under_review", "progressStatusOverride": True,
      "closureReason": "withdrawn", "closedAt": 5}),
    ({"case_status": "archived"}, {"updatedAt": 7},
     {"caseStatus": "closed", "progressStatus": "working", "progressStatusOverride": True,
      "closureReason": "manual", "closedAt": 7}),
    ({"case_status": "I-140 Filed", "progress_status_override": True}, {},
     {"caseStatus": "i140", "progressStatus": "filed", "progressStatusOverride": True}),
    ({"case_status": "RFE", "progress_status_override": True}, {},  # rfi_rfe without an active entry: invalid
     {"caseStatus": "i140", "progressStatus": "working", "progressStatusOverride": True}),
    ({"case_status": "pwd", "progress_status": "on hold"}, {},
     {"caseStatus": "pwd", "progressStatus": "waiting_intake", "progressStatusOverride": True}),
    ({"case_status": "pwd", "progress_status": "on hold"}, {"rfiEntries": [{"receivedDate": "2024-04-01"}]},
     {"caseStatus": "eta9089", "progressStatus": "rfi_rfe"}),
    ({"case_status": "something new", "progress_status": "waiting period"}, {},
     {"caseStatus": "pwd", "progressStatus": "working"}),
])
def test_expected_status(v1, case, expected):
    assert expected_status(v1, case, "2024-06-15") == expected


def test_entries_precedence_dedupe_due_dates_and_order():
    case_id = "00000000-0000-0000-0000-00000000000a"
    v1_case = {"id": case_id, "rfi_list": json.dumps(json.dumps([  # double-encoded
        {"title": "Audit", "received_date": "2024-05-01"},          # duplicate of the table row's key
        {"received_date": "2024-04-01", "notes": " n\x01 "},        # kept: no higher source on that date
        None, "junk",                                                # dropped (DQ-22)
        {"title": "Late", "received_date": "", "response_due_date": ""},  # no dates: dropped
    ])), "rfi_received_date": "2024-04-01", "rfi_response_due_date": "2024-04-20", "rfi_notes": "legacy"}
    rows = [{"id": "B", "title": " audit ", "received_date": "2024-05-01", "response_due_date": "2024-05-02",
             "created_at": "2024-05-01 10:00:00"},
            {"id": "C", "description": "no received date", "response_due_date": "2024-06-01", "created_at": None}]
    entries, complete = expected_entries("rfi", v1_case, rows, 99, None)
    assert complete
    assert entries == [
        {"id": "v1-rfi-c", "description": "no received date", "receivedDate": "", "responseDueDate": "2024-06-01",
         "createdAt": 99},
        {"id": f"v1-rfi-{case_id}-2", "notes": "n", "receivedDate": "2024-04-01", "responseDueDate": "2024-05-01",
         "createdAt": 99},
        {"id": "v1-rfi-b", "title": "audit", "receivedDate": "2024-05-01", "responseDueDate": "2024-05-31",
         "createdAt": 1_714_557_600_000},
    ]  # the legacy entry has no title and a list item holds its date: a duplicate
    rfe, _ = expected_entries("rfe", {"id": case_id, "rfe_received_date": "2024-07-01"}, [], 5, None)
    assert rfe == [{"id": f"v1-rfe-{case_id}-0", "receivedDate": "2024-07-01", "responseDueDate": "", "createdAt": 5}]


def test_a_list_item_with_a_non_text_member_restricts_the_check_to_table_rows():
    v1_case = {"id": "a", "rfe_list": json.dumps([{"title": 5, "received_date": "2024-01-01"}])}
    entries, complete = expected_entries("rfe", v1_case, [{"id": "r", "received_date": "2024-02-01"}], 1, None)
    assert not complete and [e["id"] for e in entries] == ["v1-rfe-r"]


def test_a_title_lowercased_by_collation_leaves_the_entries_unchecked():
    rows = [{"id": "r", "title": "Étude", "received_date": "2024-02-01"},
            {"id": "s", "title": "étude", "received_date": "2024-02-01"}]
    assert expected_entries("rfi", {"id": "a"}, rows, 1, None) == ([], False)


def test_add_days_crosses_years():
    assert add_days("2024-12-31", 1) == "2025-01-01"


# --- end to end on the dirty demo run ------------------------------------------------------------

@dataclass
class LoadedRun:
    folder: RunFolder
    gateway: ConvexGateway
    mapping_path: Path

    def verify(self) -> dict:
        with MappingTable(self.mapping_path) as mapping:
            return verify_run(build_inputs(self.folder, mapping), self.gateway)

    def cases(self) -> list[dict]:
        return sorted(self.gateway.iter_documents("cases"), key=lambda c: c["legacyId"])

    @contextlib.contextmanager
    def transform_bug(self, case: dict, change):
        """The case changed by `change` in both the export file and the target, restored afterwards."""
        export_file = self.folder.export_dir / "cases.jsonl"
        original_export = export_file.read_text(encoding="utf-8")
        lines = []
        for line in original_export.splitlines():
            doc = json.loads(line)
            if doc.get("legacyId") == case["legacyId"]:
                change(doc)
                line = json.dumps(doc, ensure_ascii=False)
            lines.append(line)
        export_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        changed = json.loads(json.dumps(case))
        change(changed)
        self._replace(case["_id"], changed)
        try:
            yield
        finally:
            export_file.write_text(original_export, encoding="utf-8")
            self._replace(case["_id"], case)

    def _replace(self, doc_id: str, doc: dict) -> None:
        """Swap a target document for `doc`, keeping its `_id`."""
        self.gateway.delete_documents("cases", [doc_id])
        path = self.folder.path("tampered_case.jsonl")
        path.write_text(json.dumps({**doc, "_id": doc_id}) + "\n", encoding="utf-8")
        self.gateway.import_file(path, table="cases", mode="append")
        path.unlink()


@contextlib.contextmanager
def load(folder: RunFolder, root: Path):
    """A raw snapshot through stage, dbt, export and import into a fresh emulator."""
    stage(folder, "duckdb", echo=lambda _line: None)
    transform(folder, as_of=AS_OF)
    export(folder)
    mapping_path = root / "mapping.sqlite"
    with Emulator(EmulatorConfig(state_dir=root / "emulator")) as emulator, ConvexGateway(
            ConvexTarget(emulator.url, emulator.admin_key), poll_interval=0.01, max_poll_interval=0.05) as gateway:
        take_backup(folder, gateway, ["users", "userProfiles", "cases"])
        import_tables(folder, gateway, mapping_path=mapping_path, progress=False)
        yield LoadedRun(folder, gateway, mapping_path)


@pytest.fixture(scope="module")
def loaded_run(dirty_snapshot, tmp_path_factory):
    """The dirty demo snapshot, loaded (shared by the tests: dbt is slow)."""
    root = tmp_path_factory.mktemp("verify_rules")
    with load(dirty_snapshot.copy_to(root / "runs"), root) as run:
        yield run


def rule_lines(result: dict) -> list[str]:
    assert result["checks"]["documents"]["mismatches"] == 0, "the export and the target agree"
    return result["checks"]["mapping_rules"]["examples"]


def label(case: dict) -> str:
    return f"cases legacyId={case['legacyId']} (_id {case['_id']}): "


def test_the_dirty_demo_run_passes_every_rule(loaded_run):
    result = loaded_run.verify()
    assert result["passed"], json.dumps(result["checks"], indent=1)
    cases = loaded_run.cases()
    assert result["mapping_rules_cases"] == len(cases) > 0
    assert any("pwdWageAmount" in c for c in cases) and any(c.get("rfiEntries") for c in cases)
    assert any(c.get("rfeEntries") for c in cases) and any(c.get("closureReason") for c in cases)
    entry_ids = [e["id"] for c in cases for k in ("rfiEntries", "rfeEntries") for e in c.get(k, [])]
    case_ids = {c["legacyId"] for c in cases}
    sources = {"legacy" if i.endswith("-0") else "list" if i[7:43] in case_ids else "table" for i in entry_ids}
    assert sources == {"table", "list", "legacy"}, "every §3.6 source is exercised"


def test_wage_in_dollars_instead_of_cents_is_caught(loaded_run):
    case = next(c for c in loaded_run.cases() if c.get("pwdWageAmount", 0) >= 100_000)
    cents = int(case["pwdWageAmount"])  # the target hands numbers back as float64
    wrong = cents // 100

    with loaded_run.transform_bug(case, lambda doc: doc.update(pwdWageAmount=wrong)):
        result = loaded_run.verify()
    assert not result["passed"]
    [line] = rule_lines(result)
    assert line.startswith(label(case) + f"pwdWageAmount: expected {cents}, got {float(wrong)} "
                                         "(rule: cents from pwd_wage_amount ")


def test_wrong_status_translation_is_caught(loaded_run):
    case = next(c for c in loaded_run.cases() if c["caseStatus"] != "closed" and "progressStatusOverride" not in c)

    def reopen_as_i140(doc):
        doc["caseStatus"] = "i140" if case["caseStatus"] != "i140" else "pwd"

    with loaded_run.transform_bug(case, reopen_as_i140):
        result = loaded_run.verify()
    [line] = rule_lines(result)
    assert line.startswith(label(case) + f'caseStatus: expected "{case["caseStatus"]}", got ')
    assert "(rule: status from case_status" in line


def test_rfi_due_date_not_recomputed_is_caught(loaded_run):
    case = next(c for c in loaded_run.cases() if any(e["receivedDate"] for e in c.get("rfiEntries", [])))
    index, entry = next((i, e) for i, e in enumerate(case["rfiEntries"]) if e["receivedDate"])
    stale = add_days(entry["receivedDate"], 31)

    def keep_v1_due_date(doc):
        doc["rfiEntries"][index]["responseDueDate"] = stale

    with loaded_run.transform_bug(case, keep_v1_due_date):
        result = loaded_run.verify()
    [line] = rule_lines(result)
    assert line == (label(case) + f'rfiEntries[{entry["id"]}].responseDueDate: expected '
                    f'"{rfi_due_date(entry["receivedDate"])}", got "{stale}" (rule: RFI due date = receivedDate + 30)')


def test_dropped_rfe_entry_is_caught(loaded_run):
    case = next(c for c in loaded_run.cases() if c.get("rfeEntries"))
    dropped = case["rfeEntries"][-1]

    with loaded_run.transform_bug(case, lambda doc: doc["rfeEntries"].pop()):
        result = loaded_run.verify()
    lines = rule_lines(result)
    n, rule = len(case["rfeEntries"]), " (rule: RFE entries (§3.6))"
    assert lines == [label(case) + f"rfeEntries[{dropped['id']}]: expected an entry, missing" + rule,
                     label(case) + f"rfeEntries: expected {n} entries, got {n - 1}" + rule]


def test_text_typed_wages_and_dates_pass_and_are_checked(pg_server, tmp_path):
    """§1.7 variants: `$85,000`, 3 decimals and non-numeric wages; text dates (ISO with time, impossible)."""
    dsn = pg_server.create_database("verify_rules_variants")
    generation = generate(dsn, n_users=6, n_cases=12, seed=5, dirty=True, variants=("text-wage", "text-dates"))
    folder = RunFolder.create(tmp_path / "runs", "variants")
    extract(folder, dsn, echo=lambda _line: None)
    wage_cases = {item["v1_id"]: item["detail"] for item in generation.injected["DQ-21"]
                  if item["field"] == "pwd_wage_amount"}
    with load(folder, tmp_path) as run:
        result = run.verify()
        cases = {c["legacyId"]: c for c in run.cases()}
    assert result["passed"], json.dumps(result["checks"], indent=1)
    assert result["mapping_rules_cases"] == len(cases)
    wages = {detail: cases[v1_id].get("pwdWageAmount") for v1_id, detail in wage_cases.items() if v1_id in cases}
    assert wages["text wage with $ and thousands separator"] == 8_500_000
    assert wages["3 decimals (text)"] == 8_500_013
    assert wages["non-numeric text"] is None
