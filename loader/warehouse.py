"""Read access to the dbt models of a run's warehouse (DuckDB file or PostgreSQL), used by verify and report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from loader.errors import ConfigError
from loader.export import manifest_path, warehouse_rows
from loader.run_folder import RunFolder


@dataclass
class Warehouse:
    """The models of a run's warehouse, by dbt model name (relation from the run's dbt manifest)."""

    folder: RunFolder
    dsn: str | None = None  # Postgres warehouse DSN; None = the PG* variables
    _relations: dict[str, str | None] | None = field(default=None, init=False, repr=False)

    def relation(self, model: str) -> str | None:
        """The model's relation in the run's dbt manifest (read once per Warehouse); None when absent."""
        if self._relations is None:
            path = manifest_path(self.folder)
            nodes = json.loads(path.read_text()).get("nodes", {}).values() if path.is_file() else ()
            self._relations = {node["name"]: node.get("relation_name") for node in nodes
                               if node.get("resource_type") == "model"}
        return self._relations.get(model)

    def query(self, model: str, sql_template: str) -> list[dict[str, Any]] | None:
        """Rows of `sql_template` with `{rel}` = the model's relation; None when the model is absent."""
        if self.relation(model) is None:
            return None
        return list(self.rows(model, sql_template))

    def rows(self, model: str, sql_template: str) -> Iterator[dict[str, Any]]:
        """Stream the rows of `sql_template`; a missing model is an error."""
        relation = self.relation(model)
        if relation is None:
            raise ConfigError(f"run {self.folder.run_id}: dbt model {model} is missing; run transform first")
        yield from self.relation_rows(relation, sql_template)

    def relation_rows(self, relation: str, sql_template: str) -> Iterator[dict[str, Any]]:
        """Stream the rows of `sql_template` with `{rel}` = `relation` (a model's or a seed's)."""
        kind = self.folder.read_manifest().get("config", {}).get("warehouse", "duckdb")
        with warehouse_rows(self.folder, kind, sql_template.format(rel=relation), self.dsn) as rows:
            yield from rows
