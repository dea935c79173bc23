"""Stand-ins for the parts of dbt's Jinja context this project uses, so that sqlfluff's jinja
templater can render every model and macro (`make lint`, see `.sqlfluff`). Lint-only: dbt never
loads this package. They render the DuckDB variant, the dialect sqlfluff checks.
"""

import datetime as _datetime
from pathlib import Path as _Path
from types import SimpleNamespace as _Namespace

import yaml as _yaml
from jinja2 import pass_context as _pass_context

with open(_Path(__file__).resolve().parents[2] / "dbt_project.yml", encoding="utf-8") as _fh:
    _PROJECT_VARS = _yaml.safe_load(_fh)["vars"]
# In dbt_project.yml this is an env_var() expression; its default is what a lint renders.
_PROJECT_VARS["migration_as_of"] = "2026-01-01T00:00:00Z"


def var(name: str, default=None):
    """`var`: the project's default value (dbt_project.yml `vars`)."""
    return _PROJECT_VARS.get(name, default)


@_pass_context
def _dispatch(context, macro_name: str, macro_namespace: str | None = None):
    """`adapter.dispatch`: the duckdb__ implementation if there is one, else default__."""
    for candidate in (f"duckdb__{macro_name}", f"default__{macro_name}"):
        macro = context.get(candidate)
        if macro is not None:
            return macro
    raise LookupError(f"adapter.dispatch: no duckdb__ or default__ implementation of {macro_name}")


def _raise_compiler_error(message: str):
    raise RuntimeError(message)


adapter = _Namespace(dispatch=_dispatch, quote=lambda name: f'"{name}"',
                     get_columns_in_relation=lambda relation: [])
dbt = _Namespace(type_string=lambda: "varchar")
modules = _Namespace(datetime=_datetime)
target = _Namespace(name="duckdb", type="duckdb", schema="main")
exceptions = _Namespace(raise_compiler_error=_raise_compiler_error)
graph = _Namespace(sources={}, nodes={})
execute = False


def run_query(sql: str) -> None:
    """Nothing runs while linting."""
    return None
