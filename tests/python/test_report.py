"""The sign-off report: Markdown + self-contained HTML, masked personal data, real headless Chromium."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from dbt_parse_support import parse_project
from loader.report import dq_title, initials, mask_email, mask_value, write_report
from loader.run_folder import RunFolder, write_private
from loader.run_state import RunState
from loader.transform import project_dir

DQ_MODELS = ("dq_rejects", "dq_warnings", "dq_reconciliation", "dq_merges", "dq_google_email_notify",
             "dq_placeholder_cases", "dq_v2_validation_failures", "dq_wage_anomalies", "dq_document_reupload")
DQ_CATALOGUE = "dq_catalogue"
CATALOGUE_CSV = project_dir() / "seeds" / "data_quality" / "dq_catalogue.csv"


@pytest.fixture(scope="module")
def project_nodes(tmp_path_factory) -> dict[str, dict]:
    """The nodes of the project's own dbt manifest (`dbt parse`), with their meta."""
    work = tmp_path_factory.mktemp("report_parse")
    parse_project(work)
    return json.loads((work / "target" / "manifest.json").read_text())["nodes"]


def _dbt_manifest(folder: RunFolder, project_nodes: dict[str, dict]) -> None:
    """The project's nodes for the tables of the fixture warehouse, their relations pointed at it."""
    wanted = {*DQ_MODELS, DQ_CATALOGUE}
    nodes = {key: {**node, "relation_name": f"main.{node['name']}"} for key, node in project_nodes.items()
             if node["resource_type"] in ("model", "seed") and node["name"] in wanted}
    assert {node["name"] for node in nodes.values()} == wanted
    write_private(folder.path("target", "manifest.json"), json.dumps({"nodes": nodes}).encode())


def _warehouse(folder: RunFolder) -> None:
    con = duckdb.connect(str(folder.warehouse_path))
    con.execute(f"create table {DQ_CATALOGUE} as select * from read_csv(?, all_varchar = true)", [str(CATALOGUE_CSV)])
    con.execute("create table dq_rejects (source_table varchar, v1_id varchar, dq_id varchar, field varchar, "
                "value varchar, message varchar, source_row varchar)")
    rejects = [("public.cases", f"c{i:03d}", "DQ-06", "user_id", "u-missing", "owner not found",
                '{"secret": "row"}') for i in range(7)]
    rejects.append(("auth.users", "a001", "DQ-09", "email", "jane.doe@example.com",
                    "invalid email jane.doe@example.com", '{"email": "jane.doe@example.com"}'))
    con.executemany("insert into dq_rejects values (?, ?, ?, ?, ?, ?, ?)", rejects)
    con.execute("create table dq_warnings (dq_id varchar, level varchar, source_table varchar, v1_id varchar, "
                "case_legacy_id varchar, owner_email varchar, target_field varchar, original_value varchar, "
                "resulting_value varchar, message varchar)")
    warnings = [("DQ-08", "warning", "public.users", "u1", None, "zed.smith@example.org", "googleEmail",
                 "zed@gmail.com", None, "notify"),
                ("DQ-12", "warning", "public.cases", "c100", "c100", "amy@example.com", "employerName", None,
                 "[NEEDS ENTRY]", "placeholder"),
                ("DQ-21", "warning", "public.cases", "c101", "c101", "amy@example.com", "pwdWageAmount",
                 "85000.125", "8500013", "rounded")]
    warnings += [("DQ-16", "warning", "public.cases", f"c2{i:02d}", f"c2{i:02d}", "amy@example.com",
                  "pwdFilingDate", "13/13/2020", None, "omitted") for i in range(3)]
    con.executemany("insert into dq_warnings values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", warnings)
    con.execute("create table dq_reconciliation (source_table varchar, extracted bigint, loaded bigint, "
                "rejected bigint, excluded bigint, balanced boolean)")
    con.execute("insert into dq_reconciliation values ('public.cases', 512, 500, 7, 5, true), "
                "('auth.users', 61, 55, 1, 5, true)")
    con.execute("create table dq_merges (email_norm varchar, winner_v1_id varchar, loser_v1_id varchar, "
                "full_name varchar)")
    con.execute("insert into dq_merges values ('bob.jones@example.com', 'u7', 'u8', 'Robert Jones')")
    con.execute("create table dq_v2_validation_failures (case_legacy_id varchar, rule_ids varchar, "
                "owner_email varchar)")
    con.execute("insert into dq_v2_validation_failures values ('c300', 'V-REC-01,V-REC-03', 'amy@example.com')")
    con.execute("create table dq_google_email_notify (email varchar, google_email varchar, source_table varchar, "
                "v1_id varchar, message varchar)")
    con.execute("insert into dq_google_email_notify values ('zed.smith@example.org', 'zed@gmail.com', "
                "'public.users', 'u1', 'notify')")
    con.execute("create table dq_placeholder_cases (case_legacy_id varchar, owner_email varchar, "
                "target_field varchar, message varchar)")
    con.execute("insert into dq_placeholder_cases values ('c100', 'amy@example.com', 'employerName', "
                "'public.cases c100: employer_name blank; [NEEDS ENTRY] written')")
    con.execute("create table dq_wage_anomalies (case_legacy_id varchar, owner_email varchar, target_field varchar, "
                "original_value varchar, resulting_value varchar, message varchar)")
    con.execute("insert into dq_wage_anomalies values ('c101', 'amy@example.com', 'pwdWageAmount', '85000.125', "
                "'8500013', 'rounded')")
    con.execute("create table dq_document_reupload (case_legacy_id varchar, document_name varchar, url varchar)")
    con.execute("insert into dq_document_reupload values ('c301', 'passport.pdf', 'https://x.supabase.co/s/p.pdf')")
    con.close()


@pytest.fixture
def reported_run(tmp_path: Path, project_nodes: dict[str, dict]) -> RunFolder:
    folder = RunFolder.create(tmp_path)
    manifest = folder.read_manifest()
    manifest.update(migration_as_of="2026-11-01T00:00:00Z", config={"warehouse": "duckdb"})
    manifest["steps"] = {
        "extract": {"tables": {"cases": {"rows": 512}, "auth_users": {"rows": 61}}},
        "export": {"tables": {"cases": {"documents": 499, "rejected": 1}, "users": {"documents": 50, "rejected": 0}},
                   "rejected_documents": 1},
    }
    folder.write_manifest(manifest)
    state = RunState.create(folder, {})
    for step, seconds in (("extract", 2.0), ("export", 4.0)):
        state.begin(step)
        state.finish(step, {"rows": 573} if step == "extract" else {"documents": 549})
        state.step(step)["seconds"] = seconds
    state.save()
    write_private(folder.path("verify.json"), json.dumps({
        "passed": True, "target_counts": {"cases": 499, "users": 50},
        "tables": {"cases": {"created": 499, "verified": 499}, "users": {"created": 48, "pre_existing": 2,
                                                                        "verified": 50}},
        "conservation": [{"source_table": "public.cases", "extracted": 512, "loaded": 499, "rejected": 8,
                          "excluded": 5, "balanced": True}],
        "checks": {"documents": {"mismatches": 0, "examples": []}},
    }).encode())
    write_private(folder.export_dir / "rejects.jsonl", (json.dumps({
        "table": "cases", "legacy_id": "c999", "dq_id": "DQ-27", "field": "notes", "expected": "≤ 921600 bytes",
        "got": "1000000 bytes", "message": "document larger than 900 KiB: quarantined"}) + "\n").encode())
    _dbt_manifest(folder, project_nodes)
    _warehouse(folder)
    return folder


def test_dq_titles_cover_sub_ids():
    with CATALOGUE_CSV.open(newline="") as handle:
        titles = {row["dq_id"]: row["title"] for row in csv.DictReader(handle)}
    assert dq_title(titles, "DQ-19a") == dq_title(titles, "DQ-19") != ""
    assert dq_title(titles, "DQ-99") == ""


def test_masking_rules():
    assert mask_email("contact jane.doe@example.com now") == "contact j***@example.com now"
    assert initials("Jane Q. Doe") == "J. Q. D."
    assert mask_value("full_name", "Robert Jones") == "R. J."
    assert mask_value("owner_email", "amy@example.com") == "a***@example.com"
    assert mask_value("rule_ids", "V-REC-01") == "V-REC-01"


def test_report_content_is_complete_and_masked(reported_run: RunFolder):
    paths = write_report(reported_run)
    md = Path(paths["markdown"]).read_text()
    html = Path(paths["html"]).read_text()
    for text in (md, html):
        assert "PASSED" in text
        assert "DQ-06" in text and "DQ-09" in text          # rejects by DQ id
        assert "j***@example.com" in text                   # masked example
        assert "jane.doe@example.com" not in text           # raw email never shown
        assert "Robert Jones" not in text and "R. J." in text
        assert '"secret"' not in text                       # source rows never shown
        assert "V-REC-01,V-REC-03" in text                  # DQ-17 list with rule ids
        assert "c301" in text and "passport.pdf" in text     # re-upload list
        assert "[NEEDS ENTRY]" in text                      # DQ-12 list
        assert "8500013" in text                            # DQ-21 list
        assert "cents" in text                              # known v2 issue note
        assert "c999" in text                               # loader reject
        assert "137/s" in text                              # export throughput: 549 docs / 4 s
    assert re.search(r"\| DQ-06 \| public.cases \| 7 \|", md)
    assert re.search(r"\| DQ-16 \| warning \| 3 \|", md)
    assert Path(paths["html"]).stat().st_mode & 0o777 == 0o600


def test_html_is_self_contained(reported_run: RunFolder):
    html = Path(write_report(reported_run)["html"]).read_text()
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        installed = subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, timeout=600)
        path = shutil.which("chromium") if installed.returncode == 0 else None
    if path is None:
        pytest.skip("chromium is not installed and `apt-get install -y chromium` failed")
    return path


def test_html_renders_in_headless_chromium(reported_run: RunFolder, tmp_path: Path):
    html_path = Path(write_report(reported_run)["html"])
    profile = tmp_path / "chromium-profile"
    done = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", "--dump-dom", html_path.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    assert 'id="verdict"' in dom and "Verification PASSED" in dom
    assert re.search(r"<td>public\.cases</td><td class=\"num\">512</td><td class=\"num\">499</td>", dom)
    assert "DQ-06" in dom and "V-REC-01,V-REC-03" in dom and "j***@example.com" in dom


def test_long_lists_are_truncated_with_their_total(reported_run: RunFolder, monkeypatch):
    rejects = reported_run.export_dir / "rejects.jsonl"
    rejects.write_text("".join(json.dumps({"table": "cases", "legacy_id": f"c9{i}", "dq_id": "CONTRACT"}) + "\n"
                               for i in range(3)))
    monkeypatch.setattr("loader.report.LIST_LIMIT", 1)
    md = Path(write_report(reported_run)["markdown"]).read_text()
    assert "### Rejected by the loader (contract, limits, load-time) (3)" in md
    assert "Showing 1 of 3; the full list is in export/rejects.jsonl and import/*.rejects.jsonl." in md
    assert "c90" in md and "c91" not in md


def test_titles_and_lists_come_from_the_catalogue_seed_and_the_model_meta(reported_run: RunFolder):
    with duckdb.connect(str(reported_run.warehouse_path)) as con:
        con.execute(f"update {DQ_CATALOGUE} set title = 'Orphan rows (renamed)' where dq_id = 'DQ-06'")
        con.execute(f"update {DQ_CATALOGUE} set title = 'Bad dates (renamed)' where dq_id = 'DQ-16'")
    manifest_file = reported_run.path("target", "manifest.json")
    manifest = json.loads(manifest_file.read_text())
    by_name = {node["name"]: node for node in manifest["nodes"].values()}
    for meta in (by_name["dq_merges"]["config"]["meta"], by_name["dq_merges"]["meta"]):
        meta["report"]["title"] = "Merged accounts (renamed)"
    for meta in (by_name["dq_document_reupload"]["config"]["meta"], by_name["dq_document_reupload"]["meta"]):
        meta["report"]["order"] = 0
    for meta in (by_name["dq_wage_anomalies"]["config"]["meta"], by_name["dq_wage_anomalies"]["meta"]):
        del meta["report"]
    manifest_file.write_text(json.dumps(manifest))
    md = Path(write_report(reported_run)["markdown"]).read_text()
    assert "### DQ-06 — Orphan rows (renamed) (7)" in md
    assert "| DQ-16 | warning | 3 | Bad dates (renamed) |" in md
    lists = md.split("## Lists for follow-up")[1]
    titles = re.findall(r"^### (.+) \(\d+\)$", lists, flags=re.MULTILINE)
    assert titles == ["Documents that need re-upload", "Merged accounts (renamed)",
                      "DQ-08 — users to notify (Google email differs)", "DQ-12 — cases with [NEEDS ENTRY] placeholders",
                      "DQ-17 — cases that fail v2 validation rules (every save through the case edit form fails "
                      "until fixed)"]
    assert "8500013" not in md  # no longer declared as a list


def test_a_declared_list_the_build_did_not_make_is_noted_and_the_report_still_written(reported_run: RunFolder):
    with duckdb.connect(str(reported_run.warehouse_path)) as con:
        con.execute("drop table dq_document_reupload")  # a failed dbt build skips the marts after it
    md = Path(write_report(reported_run)["markdown"]).read_text()
    lists = md.split("## Lists for follow-up")[1]
    reupload = lists.split("### Documents that need re-upload (0)")[1].split("###")[0]
    assert "Not built in this run" in reupload and "dq_document_reupload" in reupload
    assert "### DQ-01 — accounts merged (1)" in lists  # the other lists are still there
