// Companion module for the PERM Tracker v1 -> v2 migration (MAPPING_SPEC §5, CONVEX_HTTP §3).
//
// Internal functions only (callable with a deploy or admin key, never from a browser). Every
// mutation is safe to run twice (CONVEX_HTTP §3.7): the loader may retry a call whose response
// was lost. The emulator mirrors each function in rehearsal/perm_rehearsal/emulator/functions/companion.py;
// companion_vectors.json pins both implementations to the same behaviour.
import { ConvexError, v } from "convex/values";
import { internalMutation, internalQuery, type QueryCtx } from "./_generated/server";
import type { Doc, Id } from "./_generated/dataModel";
import schema from "./schema";

/** Largest batch a loader call may send (well inside the per-transaction limits, §3.6). */
export const MAX_BATCH = 1000;
/** Default cleanup page (ARCHITECTURE §2 step 7). */
export const CLEANUP_PAGE = 100;

const LEGACY_FIELDS = {
  cases: ["legacyId", "legacyUserId"],
  userProfiles: ["legacyId", "legacyAuthId"],
} as const;
const PROFILE_LEGACY_FIELDS = LEGACY_FIELDS.userProfiles;

const legacyTable = v.union(v.literal("cases"), v.literal("userProfiles"));
type LegacyTable = keyof typeof LEGACY_FIELDS;
const migratedTable = v.union(v.literal("users"), v.literal("cases"), v.literal("userProfiles"));

function checkBatch(kind: string, size: number) {
  if (size > MAX_BATCH) {
    throw new ConvexError({ code: "BatchTooLarge", kind, size, max: MAX_BATCH });
  }
}

function checkPageSize(numItems: number) {
  if (!Number.isInteger(numItems) || numItems < 1 || numItems > MAX_BATCH) {
    throw new ConvexError({ code: "BadPageSize", numItems, max: MAX_BATCH });
  }
}

/**
 * Insert each profile, or patch the profile that already exists for its `userId`
 * (MAPPING_SPEC §5.6). Existence is checked here, at write time, through `by_user_id`.
 * Legacy ids are only filled where absent; a different existing value is reported, never
 * replaced. With `overwriteExistingProfiles`, every other field sent replaces the stored one.
 * `sameAsSent`: the existing profile already equalled the sent one (same fields, same values),
 * as after an earlier call whose response was lost; the loader uses it to keep such a retried
 * insert counted as created by its run. Always false for `created`.
 */
export const upsertProfiles = internalMutation({
  args: {
    profiles: v.array(schema.tables.userProfiles.validator),
    overwriteExistingProfiles: v.boolean(),
  },
  handler: async (ctx, { profiles, overwriteExistingProfiles }) => {
    checkBatch("profiles", profiles.length);
    const results = [];
    for (const profile of profiles) {
      const existing = await ctx.db
        .query("userProfiles")
        .withIndex("by_user_id", (q) => q.eq("userId", profile.userId))
        .first();
      if (existing === null) {
        const profileId = await ctx.db.insert("userProfiles", profile);
        results.push({
          userId: profile.userId,
          profileId,
          outcome: "created",
          patched: [],
          conflicts: [],
          sameAsSent: false,
        });
        continue;
      }
      const { _id, _creationTime, ...stored } = existing;
      const sameAsSent = sameValue(stored, profile);
      const patch: Record<string, unknown> = {};
      const conflicts = [];
      for (const field of PROFILE_LEGACY_FIELDS) {
        const incoming = profile[field];
        const current = existing[field];
        if (incoming === undefined || incoming === current) continue;
        if (current === undefined) patch[field] = incoming;
        else conflicts.push({ field, existingValue: current, incomingValue: incoming });
      }
      if (overwriteExistingProfiles) {
        for (const [field, value] of Object.entries(profile)) {
          const isLegacy = (PROFILE_LEGACY_FIELDS as readonly string[]).includes(field);
          if (!isLegacy && !sameValue(existing[field as keyof Doc<"userProfiles">], value)) {
            patch[field] = value;
          }
        }
      }
      const patched = Object.keys(patch).sort();
      if (patched.length > 0) await ctx.db.patch(existing._id, patch);
      results.push({
        userId: profile.userId,
        profileId: existing._id,
        outcome: "existing_profile",
        patched,
        conflicts,
        sameAsSent,
      });
    }
    return results;
  },
});

/** Structural equality of two Convex values, whatever the order of object keys. */
function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, i) => sameValue(item, b[i]))
    );
  }
  if (isPlainObject(a) || isPlainObject(b)) {
    if (!isPlainObject(a) || !isPlainObject(b)) return false;
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((key) => key in b && sameValue(a[key], b[key]))
    );
  }
  return Object.is(a, b);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !ArrayBuffer.isView(value) &&
    !(value instanceof ArrayBuffer)
  );
}

/** One page of `table` for the legacy-field cleanup (page size checked against the limits). */
async function legacyPage(
  ctx: QueryCtx,
  table: LegacyTable,
  cursor: string | null,
  numItems: number | undefined,
) {
  const pageSize = numItems ?? CLEANUP_PAGE;
  checkPageSize(pageSize);
  return await ctx.db.query(table).paginate({ cursor, numItems: pageSize });
}

/** The legacy fields `doc` still carries. */
function legacyFieldsOf(table: LegacyTable, doc: object): string[] {
  return LEGACY_FIELDS[table].filter((field) => (doc as Record<string, unknown>)[field] !== undefined);
}

/**
 * The patch that removes the legacy fields `doc` still carries, or `null` when it carries none
 * (so a repeated cleanup writes nothing). Shared by `clearLegacyFields` and `migrations.ts`.
 */
export function legacyFieldsPatch(table: LegacyTable, doc: object): Record<string, undefined> | null {
  const present = legacyFieldsOf(table, doc);
  return present.length === 0 ? null : Object.fromEntries(present.map((field) => [field, undefined]));
}

/**
 * Remove the legacy fields from one page of `table` (ARCHITECTURE §2 step 7, after sign-off).
 * Call with `cursor: null`, then with `continueCursor` until `isDone`. Re-running is harmless:
 * a document without legacy fields is left untouched and not counted.
 */
export const clearLegacyFields = internalMutation({
  args: {
    table: legacyTable,
    cursor: v.union(v.string(), v.null()),
    numItems: v.optional(v.number()),
  },
  handler: async (ctx, { table, cursor, numItems }) => {
    const page = await legacyPage(ctx, table, cursor, numItems);
    let cleared = 0;
    for (const doc of page.page) {
      const patch = legacyFieldsPatch(table, doc);
      if (patch === null) continue;
      await ctx.db.patch(doc._id, patch);
      cleared += 1;
    }
    return { continueCursor: page.continueCursor, isDone: page.isDone, cleared };
  },
});

/** Count documents of one page that still carry legacy fields (to confirm a cleanup). */
export const countLegacyFields = internalQuery({
  args: {
    table: legacyTable,
    cursor: v.union(v.string(), v.null()),
    numItems: v.optional(v.number()),
  },
  handler: async (ctx, { table, cursor, numItems }) => {
    const page = await legacyPage(ctx, table, cursor, numItems);
    const remaining = page.page.filter((doc) => legacyFieldsOf(table, doc).length > 0).length;
    return { continueCursor: page.continueCursor, isDone: page.isDone, remaining };
  },
});

/**
 * Delete documents of `table` by id (rollback of what a run created). Ids already gone are
 * counted as `missing`, so a repeated call is harmless. An id of another table is an error.
 */
export const deleteByIds = internalMutation({
  args: { table: migratedTable, ids: v.array(v.string()) },
  handler: async (ctx, { table, ids }) => {
    checkBatch("ids", ids.length);
    const targets: Id<typeof table>[] = [];
    for (const raw of ids) {
      const id = ctx.db.normalizeId(table, raw);
      if (id === null) throw new ConvexError({ code: "NotAnId", table, id: raw });
      targets.push(id);
    }
    let deleted = 0;
    for (const id of targets) {
      if ((await ctx.db.get(id)) === null) continue;
      await ctx.db.delete(id);
      deleted += 1;
    }
    return { deleted, missing: targets.length - deleted };
  },
});
