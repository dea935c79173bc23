"""`perm-migrate transform`: dbt build (seeds, models, contracts, data tests) on the run's warehouse."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from loader.commands._inputs import parse_migration_as_of
from loader.commands._run_options import run_options, warehouse_url_option
from loader.errors import ConfigError
from loader.pipeline import Pipeline
from loader.transform import WAREHOUSES


def _parse_vars(pairs: tuple[str, ...]) -> dict[str, object]:
    parsed = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"--var {pair!r}: expected NAME=VALUE")
        parsed[name.strip()] = yaml.safe_load(value)
    return parsed


def _merge_as_of(as_of: str | None, legacy_as_of: str | None) -> str | None:
    """`--as-of` is the hidden former name of `--migration-as-of`; both given must agree."""
    if as_of is not None and legacy_as_of is not None and as_of != legacy_as_of:
        raise ConfigError(f"--migration-as-of {as_of!r} and --as-of {legacy_as_of!r} disagree; "
                          "give only --migration-as-of")
    return as_of if as_of is not None else legacy_as_of


@click.command("transform")
@run_options
@click.option("--warehouse", type=click.Choice(WAREHOUSES), default=None,
              help="duckdb (runs/<id>/warehouse.duckdb) or postgres (PG* env); default: the run's.")
@warehouse_url_option
@click.option("--migration-as-of", "as_of", default=None,
              help="MAPPING_SPEC §0.3 `migration_as_of`: a full ISO-8601 timestamp with offset, e.g. "
                   "2026-12-01T06:00:00Z; fixed once per run, default: the run's start time.")
@click.option("--as-of", "legacy_as_of", default=None, hidden=True)
@click.option("--yes", is_flag=True, help="Accept a --migration-as-of before 2000 or more than a year from now.")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="Override a MAPPING_SPEC §0.3 variable (YAML value), e.g. --var merge_duplicate_emails=false.")
@click.option("--unit-tests/--no-unit-tests", default=False, show_default=True,
              help="Also run the dbt unit tests (mapping rules on fixed inputs; `make test` runs them).")
def command(run_id: str | None, runs_dir: Path | None, warehouse: str | None, warehouse_url: str | None,
            as_of: str | None, legacy_as_of: str | None, yes: bool, variables: tuple[str, ...],
            unit_tests: bool) -> None:
    """Run `dbt build` with every mapping variable; fail on any failing test or contract."""
    as_of = _merge_as_of(as_of, legacy_as_of)
    if as_of is not None:
        as_of = parse_migration_as_of(as_of, yes)
    overrides = _parse_vars(variables)
    with Pipeline.for_command(run_id, runs_dir, as_of=as_of, var_overrides=overrides, warehouse_url=warehouse_url,
                              command_options={"warehouse": warehouse, "unit_tests": unit_tests}) as pipeline:
        pipeline.run_step("transform")
        details = pipeline.details("transform")
    statuses = ", ".join(f"{n} {s}" for s, n in details["node_statuses"].items())
    click.echo(f"transform: dbt build ok on {details['warehouse']} "
               f"(migration_as_of {details['migration_as_of']}; {statuses})")
