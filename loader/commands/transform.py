"""`perm-migrate transform`: dbt build (seeds, models, contracts, data tests) on the run's warehouse."""

from __future__ import annotations

import click
import yaml

from loader.commands._inputs import parse_migration_as_of
from loader.errors import ConfigError
from loader.run_folder import RunFolder
from loader.transform import WAREHOUSES, transform


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
@click.option("--run-id", required=True, help="Run folder (id under PERM_RUNS_DIR, or a path).")
@click.option("--warehouse", type=click.Choice(WAREHOUSES), default=None,
              help="duckdb (runs/<id>/warehouse.duckdb) or postgres (PG* env); default: the run's.")
@click.option("--warehouse-url", default=None, metavar="DSN",
              help="Postgres warehouse DSN (with --warehouse postgres); default: the PG* variables.")
@click.option("--migration-as-of", "as_of", default=None,
              help="MAPPING_SPEC §0.3 `migration_as_of`: a full ISO-8601 timestamp with offset, e.g. "
                   "2026-12-01T06:00:00Z; fixed once per run, default: the run's start time.")
@click.option("--as-of", "legacy_as_of", default=None, hidden=True)
@click.option("--yes", is_flag=True, help="Accept a --migration-as-of before 2000 or more than a year from now.")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="Override a MAPPING_SPEC §0.3 variable (YAML value), e.g. --var merge_duplicate_emails=false.")
@click.option("--unit-tests/--no-unit-tests", default=False, show_default=True,
              help="Also run the dbt unit tests (mapping rules on fixed inputs; `make test` runs them).")
def command(run_id: str, warehouse: str | None, warehouse_url: str | None, as_of: str | None,
            legacy_as_of: str | None, yes: bool, variables: tuple[str, ...], unit_tests: bool) -> None:
    """Run `dbt build` with every mapping variable; fail on any failing test or contract."""
    as_of = _merge_as_of(as_of, legacy_as_of)
    if as_of is not None:
        as_of = parse_migration_as_of(as_of, yes)
    folder = RunFolder.open(run_id)
    with folder.locked():
        result = transform(folder, as_of=as_of, overrides=_parse_vars(variables), warehouse=warehouse,
                           warehouse_dsn=warehouse_url, unit_tests=unit_tests)
    statuses = ", ".join(f"{n} {s}" for s, n in result["node_statuses"].items())
    click.echo(f"transform: dbt build ok on {result['warehouse']} "
               f"(migration_as_of {result['migration_as_of']}; {statuses})")
