"""The ONE place where resolution keys are swapped for real Convex ids (MAPPING_SPEC §5.4).

For an exported document: each `references` key column → the referenced document's `_id`
(required field unresolved → the document is rejected with DQ-06; optional field → the field is
omitted and a DQ-06 warning noted); each nested item's `key_member` → `id_member` (unresolved →
the item is dropped, DQ-24; the items are re-sorted by `sort_by` if declared, since the order may
involve the new id); then every resolution key is stripped. Key order stays the contract's: the
export wrote every value in contract order, so only the top level and the swapped items are reordered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loader.convex.schema import Schema
from loader.dbt_manifest import ConvexMart, NestedReference
from loader.export import ordered

# (referenced table, match field, key) → Convex id, or None when the target holds no such document.
IdLookup = Callable[[str, str, Any], "str | None"]


@dataclass
class Resolved:
    """A document ready to send (or None when rejected), with its rejects and findings."""

    document: dict[str, Any] | None
    rejects: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)


class Resolver:
    """Resolves the documents of one mart against id lookups of the tables written before it."""

    def __init__(self, mart: ConvexMart, schema: Schema, lookup: IdLookup):
        self.mart = mart
        self.lookup = lookup
        table = schema.table(mart.table)
        self.document_type = table.document_type
        self.fields = table.document_type["value"]
        self.field_order = tuple(self.fields)

    def resolve(self, exported: dict[str, Any]) -> Resolved:
        doc = {k: v for k, v in exported.items() if k not in self.mart.resolution_keys}
        result = Resolved(document=None)
        for ref in self.mart.references:
            key = exported.get(ref.key_column)
            convex_id = None if key is None else self.lookup(ref.table, ref.match_field, key)
            if convex_id is not None:
                doc[ref.field] = convex_id
                continue
            doc.pop(ref.field, None)
            required = not self.fields[ref.field]["optional"]
            problem = self._problem(exported, "DQ-06", ref.field, ref.key_column, key, ref.table, ref.match_field)
            if required:
                result.rejects.append(problem)
            elif key is not None:
                result.findings.append(problem)
        if result.rejects:
            return result
        for ref in self.mart.nested_references:
            if isinstance(doc.get(ref.array_field), list):
                items = self._resolve_items(exported, doc[ref.array_field], ref, result)
                spec = self.fields.get(ref.array_field)
                doc[ref.array_field] = ordered(items, spec["fieldType"] if spec else None)
        result.document = self._in_contract_order(doc)
        return result

    def _in_contract_order(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The top-level keys in contract order (`ordered` for a document with keys outside the contract)."""
        in_order = {name: doc[name] for name in self.field_order if name in doc}
        return in_order if len(in_order) == len(doc) else ordered(doc, self.document_type)

    def _resolve_items(self, exported: dict[str, Any], items: list[Any], ref: NestedReference,
                       result: Resolved) -> list[Any]:
        kept = []
        for index, item in enumerate(items):
            if not isinstance(item, dict) or ref.key_member not in item:
                kept.append(item)
                continue
            key = item[ref.key_member]
            convex_id = self.lookup(ref.table, ref.match_field, key)
            if convex_id is None:
                result.findings.append(self._problem(
                    exported, "DQ-24", f"{ref.array_field}[{index}].{ref.id_member}", ref.key_member, key,
                    ref.table, ref.match_field, dropped="item dropped"))
                continue
            swapped = {k: v for k, v in item.items() if k != ref.key_member}
            swapped[ref.id_member] = convex_id
            kept.append(swapped)
        if ref.sort_by:
            kept.sort(key=lambda item: tuple((item.get(k) is None, item.get(k)) for k in ref.sort_by))
        return kept

    def _problem(self, exported: dict[str, Any], dq_id: str, target_field: str, key_name: str, key: Any,
                 table: str, match_field: str, dropped: str = "") -> dict[str, Any]:
        outcome = dropped or ("document not written" if dq_id == "DQ-06" and not self.fields.get(
            target_field, {"optional": True})["optional"] else "field omitted")
        what = "no key" if key is None else f"{key_name}={key!r} matches no {table}.{match_field}"
        return {"table": self.mart.table, "legacy_id": self.mart.legacy_id(exported), "dq_id": dq_id,
                "field": target_field, "expected": f"an existing {table} document", "got": "absent" if key is None
                else str(key), "message": f"{self.mart.table} {self.mart.legacy_id(exported)}: {target_field}: {what} "
                f"({outcome})"}
