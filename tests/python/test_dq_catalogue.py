"""The DQ catalogue seed matches MAPPING_SPEC §4.3 and titles every DQ id the models and the loader emit."""

from __future__ import annotations

import csv
import re

from loader.report import dq_title
from loader.transform import project_dir

PROJECT = project_dir()
CATALOGUE_CSV = PROJECT / "seeds" / "data_quality" / "dq_catalogue.csv"
SPEC = PROJECT / "docs" / "spec" / "MAPPING_SPEC.md"
LOADER_ONLY_IDS = {"CONTRACT": "Q", "SERVER": "Q"}  # the loader's reject ids: refused by the contract, by Convex
SQL_DQ_ID = re.compile(r"'(DQ-\d+[a-z]?)'")
PYTHON_DQ_ID = re.compile(r'"dq_id": "([^"]+)"|"(DQ-\d+[a-z]?)"')


def _catalogue() -> list[dict[str, str]]:
    with CATALOGUE_CSV.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _spec_severities() -> dict[str, str]:
    """DQ id → Sev column of the §4.3 table."""
    section = SPEC.read_text().split("### 4.3 DQ catalogue", 1)[1].split("\n### ", 1)[0]
    found = {}
    for line in section.splitlines():
        match = re.match(r"\| (DQ-\d+) \|.*\| ([^|]+) \|$", line)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def _emitted_ids() -> dict[str, set[str]]:
    """DQ id literal → files that emit it (dbt SQL of models/macros; dq_id values in the loader)."""
    emitted: dict[str, set[str]] = {}
    for path in sorted([*(PROJECT / "models").rglob("*.sql"), *(PROJECT / "macros").rglob("*.sql")]):
        for dq_id in SQL_DQ_ID.findall(path.read_text()):
            emitted.setdefault(dq_id, set()).add(str(path.relative_to(PROJECT)))
    for path in sorted((PROJECT / "loader").rglob("*.py")):
        for groups in PYTHON_DQ_ID.findall(path.read_text()):
            for dq_id in filter(None, groups):
                emitted.setdefault(dq_id, set()).add(str(path.relative_to(PROJECT)))
    return emitted


def test_catalogue_is_the_spec_catalogue_with_its_severities():
    rows = _catalogue()
    ids = [row["dq_id"] for row in rows]
    assert len(ids) == len(set(ids))
    assert {row["dq_id"]: row["severity"] for row in rows} == {**_spec_severities(), **LOADER_ONLY_IDS}
    assert all(row["title"].strip() for row in rows)


def test_catalogue_titles_every_dq_id_the_models_and_the_loader_emit():
    titles = {row["dq_id"]: row["title"] for row in _catalogue()}
    emitted = _emitted_ids()
    assert {"DQ-06", "DQ-19a", "DQ-27", "DQ-30", "CONTRACT"} <= set(emitted)  # the scan finds both sides
    untitled = {dq_id: sorted(files) for dq_id, files in emitted.items() if not dq_title(titles, dq_id)}
    assert untitled == {}, f"DQ ids emitted without a row in {CATALOGUE_CSV.name}: {untitled}"


def test_the_scan_would_catch_an_untitled_id():
    titles = {row["dq_id"]: row["title"] for row in _catalogue()}
    assert SQL_DQ_ID.findall("select 'DQ-77' as dq_id, 'DQ-19c' as other") == ["DQ-77", "DQ-19c"]
    assert dq_title(titles, "DQ-77") == "" and dq_title(titles, "DQ-19c") != ""
