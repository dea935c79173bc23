"""What the dbt project declares for the loader in `manifest.json` (docs/INTERFACES.md §5).

The loader holds no PERM-specific knowledge: which mart goes to which Convex table, in which
order, keyed how and referencing what (`meta.convex`), what verify checks beyond the generic rules
(`meta.verify`), and what the report titles (`meta.report`:
the DQ catalogue seed, the follow-up list marts), is read from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loader.errors import ConfigError

RESOLVE_PREFIX = "resolve_"
DQ_CATALOGUE_ROLE = "dq_catalogue"
FOLLOW_UP_LIST_ROLE = "follow_up_list"


@dataclass(frozen=True)
class Reference:
    """A top-level id field filled from a resolution-key column."""

    field: str
    key_column: str
    table: str
    match_field: str


@dataclass(frozen=True)
class NestedReference:
    """An id member of array items (`path` = `<array>[].<member>`) filled from `key_member`."""

    path: str
    key_member: str
    table: str
    match_field: str
    sort_by: tuple[str, ...] = ()  # re-sort the items once ids are known (the order may involve the id)

    @property
    def array_field(self) -> str:
        return self.path.split("[]", 1)[0]

    @property
    def id_member(self) -> str:
        return self.path.split("[].", 1)[1]


@dataclass(frozen=True)
class GroupCheck:
    """`meta.verify.group_checks[]`: a document's `key_field` value, looked up (lowercase) in the
    `key_column` of `model`, gives a group (`group_column`) that must equal the `group_field` of the
    document its `reference` field points at (MAPPING_SPEC §4.5: a case's legacyUserId and its userId)."""

    check: str
    model: str
    key_field: str
    key_column: str
    group_column: str
    reference: str
    group_field: str
    group_label: str


@dataclass(frozen=True)
class VerifyDeclarations:
    """`meta.verify` of a Convex mart: what verify checks and says beyond the generic rules."""

    labels: tuple[str, ...] = ()        # fields that name a document in messages (first present wins)
    group_checks: tuple[GroupCheck, ...] = ()
    fills_absent: tuple[str, ...] = ()  # fields the write mutation adds to a pre-existing document lacking them
    overwrite_var: str | None = None    # dbt var: the write mutation overwrites pre-existing documents' fields
    mapping_rules: bool = False         # re-derive the documents from the v1 snapshot (loader/verify_rules.py)


@dataclass(frozen=True)
class ConvexMart:
    """One mart → one Convex table."""

    model: str
    relation: str
    table: str
    import_order: int
    identity_key: str
    order_by: tuple[str, ...]
    columns: tuple[str, ...]
    resolution_keys: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    nested_references: tuple[NestedReference, ...] = ()
    secondary_match_column: str | None = None
    mapping_rows_column: str | None = None
    mapping_v1_table: str | None = None
    mapping_v1_key_column: str | None = None
    mapping_email_column: str | None = None
    mapping_source_tables: tuple[tuple[str, str], ...] = ()  # v1_table → reconciliation name ({dbt var} fields)
    write_function: str | None = None
    write_batch_size: int = 100
    write_documents_arg: str | None = None
    write_result_id: str | None = None
    write_var_args: tuple[tuple[str, str], ...] = ()
    verify: VerifyDeclarations = VerifyDeclarations()
    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def via_mutation(self) -> bool:
        return self.write_function is not None

    def v1_rows(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        """The v1 rows an exported document stands for (`mapping.rows_column`, or table + key column)."""
        if self.mapping_rows_column:
            return doc.get(self.mapping_rows_column) or []
        key = doc.get(self.mapping_v1_key_column or "")
        return [{"v1_table": self.mapping_v1_table, "v1_uuid": key}] if key is not None else []

    def source_table(self, v1_table: str, dbt_vars: dict[str, Any]) -> str:
        """The reconciliation's (schema-qualified) name of a v1 table its mapping rows name:
        `mapping.source_tables` (`{var}` = a dbt var of the run), else `public.<v1_table>` unless qualified."""
        declared = dict(self.mapping_source_tables).get(v1_table)
        if declared is not None:
            return declared.format_map(dbt_vars)
        return v1_table if "." in v1_table else f"public.{v1_table}"

    def legacy_id(self, doc: dict[str, Any]) -> str | None:
        """The document's legacy key for messages: its identity key, else its first v1 row."""
        value = doc.get(self.identity_key)
        if value is not None:
            return str(value)
        rows = self.v1_rows(doc)
        return rows[0].get("v1_uuid") if rows and isinstance(rows[0], dict) else None


def _require(meta: dict[str, Any], key: str, model: str, namespace: str = "convex") -> Any:
    if key not in meta or meta[key] in (None, "", []):
        raise ConfigError(f"dbt model {model}: meta.{namespace}.{key} is missing")
    return meta[key]


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _verify_declarations(meta: dict[str, Any], model: str) -> VerifyDeclarations:
    checks = []
    for check in meta.get("group_checks") or ():
        keys, group = check.get("keys") or {}, check.get("group") or {}
        values = {"check": check.get("check"), "model": check.get("model"), "key_field": keys.get("field"),
                  "key_column": keys.get("column"), "group_column": group.get("column"),
                  "reference": group.get("reference"), "group_field": group.get("field"),
                  "group_label": (check.get("labels") or {}).get("group")}
        missing = sorted(name for name, value in values.items() if not value)
        if missing:
            raise ConfigError(f"dbt model {model}: meta.verify.group_checks needs check, model, keys.field, "
                              f"keys.column, group.column, group.reference, group.field and labels.group "
                              f"(missing: {', '.join(missing)}; docs/INTERFACES.md §5)")
        checks.append(GroupCheck(**values))
    return VerifyDeclarations(
        labels=_as_tuple(meta.get("labels")),
        group_checks=tuple(checks),
        fills_absent=_as_tuple(meta.get("fills_absent")),
        overwrite_var=meta.get("overwrite_var"),
        mapping_rules=bool(meta.get("mapping_rules", False)),
    )


def _node_meta(node: dict[str, Any]) -> dict[str, Any]:
    return node.get("config", {}).get("meta") or node.get("meta") or {}


def _read_manifest(manifest_path: Path) -> dict[str, Any]:
    if not manifest_path.is_file():
        raise ConfigError(f"dbt manifest {manifest_path} not found; run `perm-migrate transform` first")
    return json.loads(manifest_path.read_text())


def _mart_from_node(node: dict[str, Any]) -> ConvexMart:
    model = node["name"]
    meta = _node_meta(node)["convex"]
    verify = _verify_declarations(_node_meta(node).get("verify") or {}, model)
    columns = tuple(node.get("columns", {}))
    if not columns:
        raise ConfigError(f"dbt model {model}: no documented columns (the Convex marts need a contract)")
    resolution_keys = _as_tuple(meta.get("resolution_keys"))
    stray = [c for c in columns if c.startswith(RESOLVE_PREFIX) and c not in resolution_keys]
    if stray:
        raise ConfigError(f"dbt model {model}: columns {stray} are not listed in meta.convex.resolution_keys")
    references = tuple(Reference(**ref) for ref in meta.get("references") or ())
    nested = tuple(NestedReference(**{**ref, "sort_by": _as_tuple(ref.get("sort_by"))})
                   for ref in meta.get("nested_references") or ())
    for ref in references:
        if ref.key_column not in columns:
            raise ConfigError(f"dbt model {model}: reference key column {ref.key_column} is not a column")
    for ref in nested:
        if "[]." not in ref.path:
            raise ConfigError(f"dbt model {model}: nested reference path {ref.path!r} is not `<array>[].<member>`")
    mapping = meta.get("mapping") or {}
    if not mapping.get("rows_column") and not (mapping.get("v1_table") and mapping.get("v1_key_column")):
        raise ConfigError(f"dbt model {model}: meta.convex.mapping must declare rows_column, or v1_table with "
                          "v1_key_column, so that every document gets its durable mapping rows "
                          "(docs/INTERFACES.md §5, MAPPING_SPEC §5.7)")
    write = meta.get("write") or {}
    if write and not (write.get("via") == "mutation" and write.get("function") and write.get("documents_arg")
                      and write.get("result_id")):
        raise ConfigError(f"dbt model {model}: meta.convex.write needs via: mutation, function, documents_arg "
                          "and result_id (docs/INTERFACES.md §5)")
    return ConvexMart(
        model=model,
        relation=node["relation_name"],
        table=_require(meta, "table", model),
        import_order=int(_require(meta, "import_order", model)),
        identity_key=_require(meta, "identity_key", model),
        order_by=_as_tuple(_require(meta, "order_by", model)),
        columns=columns,
        resolution_keys=resolution_keys,
        references=references,
        nested_references=nested,
        secondary_match_column=(meta.get("secondary_match") or {}).get("key_column"),
        mapping_rows_column=mapping.get("rows_column"),
        mapping_v1_table=mapping.get("v1_table"),
        mapping_v1_key_column=mapping.get("v1_key_column"),
        mapping_email_column=mapping.get("email_column"),
        mapping_source_tables=tuple(sorted((mapping.get("source_tables") or {}).items())),
        write_function=write.get("function"),
        write_batch_size=int(write.get("batch_size", 100)),
        write_documents_arg=write.get("documents_arg"),
        write_result_id=write.get("result_id"),
        write_var_args=tuple(sorted((write.get("var_args") or {}).items())),
        verify=verify,
        meta=meta,
    )


def load_convex_marts(manifest_path: Path) -> list[ConvexMart]:
    """Every model with `meta.convex`, in import order."""
    manifest = _read_manifest(manifest_path)
    marts = [_mart_from_node(node) for node in manifest.get("nodes", {}).values()
             if node.get("resource_type") == "model" and "convex" in _node_meta(node)]
    if not marts:
        raise ConfigError(f"dbt manifest {manifest_path} declares no Convex marts (meta.convex)")
    marts.sort(key=lambda m: (m.import_order, m.table))
    tables = [m.table for m in marts]
    if len(set(tables)) != len(tables):
        raise ConfigError(f"dbt manifest {manifest_path}: several marts target the same Convex table: {tables}")
    return marts


@dataclass(frozen=True)
class FollowUpList:
    """A mart the report lists in full (up to its limit) under "Lists for follow-up"."""

    model: str
    title: str
    order: int


@dataclass(frozen=True)
class ReportDeclarations:
    """What the report titles: the DQ catalogue seed's relation and the follow-up list marts in order."""

    dq_catalogue_relation: str | None = None
    follow_up_lists: tuple[FollowUpList, ...] = ()


def load_report_declarations(manifest_path: Path) -> ReportDeclarations:
    """`meta.report` of the project's nodes; nothing declared when the run has no dbt manifest yet."""
    if not manifest_path.is_file():
        return ReportDeclarations()
    catalogues, lists = [], []
    for node in _read_manifest(manifest_path).get("nodes", {}).values():
        meta = _node_meta(node).get("report") or {}
        role = meta.get("role")
        if role == DQ_CATALOGUE_ROLE and node.get("resource_type") == "seed":
            catalogues.append(node["relation_name"])
        elif role == FOLLOW_UP_LIST_ROLE and node.get("resource_type") == "model":
            lists.append(FollowUpList(node["name"], _require(meta, "title", node["name"], "report"),
                                      int(_require(meta, "order", node["name"], "report"))))
        elif role is not None:
            raise ConfigError(f"dbt {node.get('resource_type')} {node.get('name')}: unknown meta.report.role "
                              f"{role!r} (known: {DQ_CATALOGUE_ROLE} on a seed, {FOLLOW_UP_LIST_ROLE} on a model)")
    if len(catalogues) > 1:
        raise ConfigError(f"dbt manifest {manifest_path}: several seeds declare the DQ catalogue: {sorted(catalogues)}")
    return ReportDeclarations(catalogues[0] if catalogues else None,
                              tuple(sorted(lists, key=lambda item: (item.order, item.model))))
