"""Lineage docs (issue 3 §7): every model and column is described, and every model states its grain."""

from __future__ import annotations

import pytest

from dbt_parse_support import parse_project
from loader.transform import project_dir

GRAIN_PHRASE = "one row per"


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> list:
    """The project's models from `dbt parse`."""
    result = parse_project(tmp_path_factory.mktemp("dbt_docs"))
    found = [node for node in result.result.nodes.values()
             if node.resource_type == "model" and node.package_name == "perm_migration"]
    assert found, "dbt parse found no models"
    return found


def model_problems(model) -> list[str]:
    """What the docs miss for one model: its description, its grain, described columns."""
    where = model.original_file_path
    description = model.description.strip()
    problems = []
    if not description:
        problems.append(f"{where}: model {model.name} has no description")
    elif GRAIN_PHRASE not in description.lower():
        problems.append(f"{where}: model {model.name}: the description does not state its grain ('One row per …')")
    if not model.columns:
        problems.append(f"{where}: model {model.name} documents no columns")
    problems += [f"{where}: model {model.name}: column {name} has no description"
                 for name, column in model.columns.items() if not column.description.strip()]
    return problems


def test_every_model_and_column_is_described_and_every_model_states_its_grain(models):
    problems = [problem for model in sorted(models, key=lambda m: m.name) for problem in model_problems(model)]
    assert problems == [], "\n".join(problems)


DATA_QUALITY_DIR = "models/marts/data_quality/"


def test_every_data_quality_mart_is_in_the_data_quality_folder_with_its_one_yml(models):
    dq_marts = [model for model in models if model.name.startswith("dq_")]
    assert len(dq_marts) >= 11
    misplaced = sorted(f"{model.name}: {model.original_file_path}" for model in dq_marts
                       if not model.original_file_path.startswith(DATA_QUALITY_DIR))
    assert misplaced == []
    assert {model.patch_path.split("://", 1)[1] for model in dq_marts} == {DATA_QUALITY_DIR + "_data_quality__models.yml"}
    ymls = sorted(path.name for path in (project_dir() / DATA_QUALITY_DIR).glob("*.yml"))
    assert ymls == ["_data_quality__models.yml"]
