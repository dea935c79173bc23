"""The dbt project's one dialect (docs/INTERFACES.md §2, §3), checked on the files: layer names,
one yml per folder, a grain sentence and a primary-key test on every model, no ref()/source() inside
macros, a lineage that reads (seeds,) staging → intermediate → marts with no model reading a mart, and
one YAML style (yamllint with the repo's .yamllint)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

PROJECT = Path(__file__).resolve().parents[2]
MODELS = PROJECT / "models"
REF = re.compile(r"""\bref\(\s*['"]([a-z0-9_]+)['"]\s*\)""")
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
LAYER_ORDER = {"staging": 0, "intermediate": 1, "marts": 2}


def _dbt_yaml_files() -> list[Path]:
    folders = ("models", "seeds", "macros")
    return [PROJECT / "dbt_project.yml", PROJECT / "profiles.yml"] + sorted(
        path for folder in folders for path in (PROJECT / folder).rglob("*.yml")
    )


def _yaml_style_problems(text: str) -> list:
    return list(linter.run(text, YamlLintConfig(file=str(PROJECT / ".yamllint"))))


def _model_files() -> dict[str, Path]:
    return {path.stem: path for path in sorted(MODELS.rglob("*.sql"))}


@cache
def _yml_entries() -> dict[str, dict]:
    entries = {}
    for path in sorted(MODELS.rglob("*.yml")):
        for entry in (yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}).get("models") or []:
            entries[entry["name"]] = entry
    return entries


def _layer(path: Path) -> str:
    return path.relative_to(MODELS).parts[0]


def _has_primary_key(entry: dict) -> bool:
    for test in entry.get("data_tests") or []:
        if isinstance(test, dict) and "unique_combination" in test:
            return True
    for column in entry.get("columns") or []:
        names = {test if isinstance(test, str) else next(iter(test)) for test in column.get("data_tests") or []}
        names |= {constraint.get("type") for constraint in column.get("constraints") or []}
        if {"unique", "not_null"} <= names:
            return True
    return False


def test_model_names_follow_their_layer_and_folder():
    for name, path in _model_files().items():
        layer, folder = path.relative_to(MODELS).parts[:2]
        if layer == "staging":
            assert name.startswith("stg_supabase__"), path
        elif layer == "intermediate":
            assert re.fullmatch(rf"int_{folder}__[a-z0-9_]+", name), f"{path}: expected int_{folder}__<what it holds>"
        else:
            assert name.startswith("convex_") or (name.startswith("dq_") and folder == "data_quality"), path


def test_every_folder_has_one_models_yml():
    for folder in sorted({path.parent for path in _model_files().values()}):
        ymls = sorted(p.name for p in folder.glob("*.yml"))
        assert len(ymls) == 1 and ymls[0].endswith("__models.yml"), f"{folder}: {ymls}"


@pytest.mark.parametrize("name", sorted(_model_files()))
def test_every_model_has_a_grain_sentence_and_a_primary_key_test(name):
    entry = _yml_entries().get(name)
    assert entry is not None, f"{name} has no yml entry"
    assert entry.get("description", "").startswith("One row per"), f"{name}: description must start with its grain"
    assert _has_primary_key(entry), f"{name}: no unique + not_null column and no unique_combination test"


def test_no_macro_calls_ref_or_source():
    for path in sorted((PROJECT / "macros").rglob("*.sql")):
        code = JINJA_COMMENT.sub("", path.read_text())
        assert not re.search(r"\b(ref|source)\(", code), f"{path}: pass the relation in instead"


def test_lineage_reads_staging_then_intermediate_then_marts_and_no_model_reads_a_mart():
    files = _model_files()
    seeds = {path.stem for path in (PROJECT / "seeds").rglob("*.csv")}
    for name, path in files.items():
        for parent in REF.findall(JINJA_COMMENT.sub("", path.read_text())):
            if parent in seeds:
                continue
            assert parent in files, f"{name} reads unknown model {parent}"
            parent_layer, layer = _layer(files[parent]), _layer(path)
            assert parent_layer != "marts", f"{name} reads the mart {parent}"
            assert LAYER_ORDER[parent_layer] <= LAYER_ORDER[layer], f"{name} ({layer}) reads {parent} ({parent_layer})"


def test_dbt_yaml_follows_the_one_yaml_style():
    problems = [
        f"{path.relative_to(PROJECT)}:{problem.line}:{problem.column} {problem.message}"
        for path in _dbt_yaml_files()
        for problem in _yaml_style_problems(path.read_text())
    ]
    assert not problems, "yamllint (.yamllint):\n" + "\n".join(problems)


def test_yaml_style_rejects_the_other_style():
    other_style = "---\nmodels:\n- name: 'x'\n  columns: [{name: a, data_tests: [unique]}]\n"
    rules = {problem.rule for problem in _yaml_style_problems(other_style)}
    assert {"document-start", "indentation", "quoted-strings", "brackets", "braces"} <= rules
