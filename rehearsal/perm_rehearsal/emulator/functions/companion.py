"""Python mirrors of the companion module `convex/migration.ts`, registered under the same paths.

Behaviour must stay identical to the TypeScript originals: `convex/companion_vectors.json` is run
against both (vitest + convex-test there, `tests/python/test_companion_vectors.py` here).
Numbers returned are floats, as in JavaScript (a Python int would be encoded as an int64).
"""

from __future__ import annotations

from typing import Any

from loader.convex.ids import InvalidId, decode_id
from loader.convex.schema import Schema
from loader.convex.validator import DocumentValidator
from perm_rehearsal.emulator.functions import ConvexError, FunctionError, register_function

MAX_BATCH = 1000
CLEANUP_PAGE = 100
LEGACY_FIELDS = {"cases": ("legacyId", "legacyUserId"), "userProfiles": ("legacyId", "legacyAuthId")}
PROFILE_LEGACY_FIELDS = LEGACY_FIELDS["userProfiles"]
MIGRATED_TABLES = ("users", "cases", "userProfiles")


# ----------------------------------------------------------------------------- argument validators


def _field(field_type: dict, optional: bool = False) -> dict:
    return {"fieldType": field_type, "optional": optional}


def _literals(*values: str) -> dict:
    return {"type": "union", "value": [{"type": "literal", "value": value} for value in values]}


def _object(**fields: dict) -> dict:
    return {"type": "object", "value": fields}


_PAGE_ARGS = _object(
    table=_field(_literals(*LEGACY_FIELDS)),
    cursor=_field({"type": "union", "value": [{"type": "string"}, {"type": "null"}]}),
    numItems=_field({"type": "number"}, optional=True),
)
_DELETE_ARGS = _object(
    table=_field(_literals(*MIGRATED_TABLES)),
    ids=_field({"type": "array", "value": {"type": "string"}}),
)


def _upsert_args(ctx) -> dict:
    profile = ctx.db.state.schema.table("userProfiles").document_type
    return _object(profiles=_field({"type": "array", "value": profile}),
                   overwriteExistingProfiles=_field({"type": "boolean"}))


def _check_args(ctx, args_validator: dict, args: dict) -> None:
    """Raise Convex's `ArgumentValidationError` when `args` do not match the function's validator."""
    schema = Schema.from_json({"tables": [{"tableName": "args", "documentType": args_validator}]})
    issues = DocumentValidator(schema, ctx.db.state.full_mapping()).errors(args, "args")
    if issues:
        raise FunctionError(f"ArgumentValidationError: {issues[0].message}")


def _check_batch(kind: str, size: int) -> None:
    if size > MAX_BATCH:
        raise ConvexError({"code": "BatchTooLarge", "kind": kind, "size": float(size), "max": float(MAX_BATCH)})


def _check_page_size(num_items: float) -> None:
    if not float(num_items).is_integer() or not 1 <= num_items <= MAX_BATCH:
        raise ConvexError({"code": "BadPageSize", "numItems": num_items, "max": float(MAX_BATCH)})


def _same_value(a: Any, b: Any) -> bool:
    """Convex value equality: types must agree (True is not 1), object key order is irrelevant."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _normalize_id(ctx, table: str, raw: str) -> str | None:
    """`ctx.db.normalizeId(table, raw)`: the id if it is an id of `table`, else None."""
    try:
        number = decode_id(raw)[0]
    except InvalidId:
        return None
    located = ctx.db.state.store.tablet_of_number(number)
    return raw if located is not None and located[1] == table else None


# ----------------------------------------------------------------------------- functions


@register_function("migration:upsertProfiles", kind="mutation", internal=True)
def upsert_profiles(ctx, args: dict) -> list[dict]:
    """Insert each profile or patch the existing one of its `userId` (MAPPING_SPEC §5.6); `sameAsSent`
    tells a repeat of an already applied insert (the stored profile equals the sent one)."""
    _check_args(ctx, _upsert_args(ctx), args)
    profiles, overwrite = args["profiles"], args["overwriteExistingProfiles"]
    _check_batch("profiles", len(profiles))
    results = []
    for profile in profiles:
        existing = ctx.db.query("userProfiles").index("by_user_id", profile["userId"]).first()
        if existing is None:
            profile_id = ctx.db.insert("userProfiles", profile)
            results.append({"userId": profile["userId"], "profileId": profile_id, "outcome": "created",
                            "patched": [], "conflicts": [], "sameAsSent": False})
            continue
        stored = {field: value for field, value in existing.items() if field not in ("_id", "_creationTime")}
        same_as_sent = _same_value(stored, profile)
        patch: dict[str, Any] = {}
        conflicts = []
        for field in PROFILE_LEGACY_FIELDS:
            incoming, current = profile.get(field), existing.get(field)
            if incoming is None or incoming == current:
                continue
            if current is None:
                patch[field] = incoming
            else:
                conflicts.append({"field": field, "existingValue": current, "incomingValue": incoming})
        if overwrite:
            for field, value in profile.items():
                if field not in PROFILE_LEGACY_FIELDS and not (
                        field in existing and _same_value(existing[field], value)):
                    patch[field] = value
        if patch:
            ctx.db.patch(existing["_id"], patch)
        results.append({"userId": profile["userId"], "profileId": existing["_id"],
                        "outcome": "existing_profile", "patched": sorted(patch), "conflicts": conflicts,
                        "sameAsSent": same_as_sent})
    return results


def _legacy_page(ctx, args: dict) -> tuple[dict, tuple[str, ...]]:
    _check_args(ctx, _PAGE_ARGS, args)
    page_size = args.get("numItems", CLEANUP_PAGE)
    _check_page_size(page_size)
    table = args["table"]
    return ctx.db.query(table).paginate(args["cursor"], int(page_size)), LEGACY_FIELDS[table]


@register_function("migration:clearLegacyFields", kind="mutation", internal=True)
def clear_legacy_fields(ctx, args: dict) -> dict:
    """Remove the legacy fields from one page; re-running clears nothing twice."""
    page, fields = _legacy_page(ctx, args)
    cleared = 0.0
    for doc in page["page"]:
        present = [field for field in fields if field in doc]
        if present:
            ctx.db.unset(doc["_id"], *present)
            cleared += 1
    return {"continueCursor": page["continueCursor"], "isDone": page["isDone"], "cleared": cleared}


@register_function("migration:countLegacyFields", kind="query", internal=True)
def count_legacy_fields(ctx, args: dict) -> dict:
    """Count documents of one page that still carry legacy fields."""
    page, fields = _legacy_page(ctx, args)
    remaining = float(sum(1 for doc in page["page"] if any(field in doc for field in fields)))
    return {"continueCursor": page["continueCursor"], "isDone": page["isDone"], "remaining": remaining}


@register_function("migration:deleteByIds", kind="mutation", internal=True)
def delete_by_ids(ctx, args: dict) -> dict:
    """Delete by id; ids already gone count as `missing`; an id of another table is an error."""
    _check_args(ctx, _DELETE_ARGS, args)
    table, ids = args["table"], args["ids"]
    _check_batch("ids", len(ids))
    targets = []
    for raw in ids:
        doc_id = _normalize_id(ctx, table, raw)
        if doc_id is None:
            raise ConvexError({"code": "NotAnId", "table": table, "id": raw})
        targets.append(doc_id)
    deleted = 0.0
    for doc_id in targets:
        if ctx.db.get(doc_id) is None:
            continue
        ctx.db.delete(doc_id)
        deleted += 1
    return {"deleted": deleted, "missing": len(targets) - deleted}
