// The legacy-field cleanup (ARCHITECTURE §2 step 7, after sign-off) as migrations of the Convex
// migrations component (`@convex-dev/migrations`, installed by convex.config.ts): the component
// pages through each table in batches of 100, records progress and resumes after a failure.
// The v2 operator runs it from the Convex CLI or dashboard (README "Legacy-field cleanup");
// `perm-migrate cleanup-legacy` does the same work through `migration:clearLegacyFields`.
import { Migrations } from "@convex-dev/migrations";
import { components, internal } from "./_generated/api";
import type { DataModel } from "./_generated/dataModel";
import { internalMutation } from "./_generated/server";
import { CLEANUP_PAGE, legacyFieldsPatch } from "./migration";

export const migrations = new Migrations<DataModel>(components.migrations, { internalMutation });

/** Any migration by name: `npx convex run migrations:run '{fn: "migrations:clearLegacyCaseFields"}'`. */
export const run = migrations.runner();

/** Remove `legacyId` / `legacyUserId` from every case that still carries them. */
export const clearLegacyCaseFields = migrations.define({
  table: "cases",
  batchSize: CLEANUP_PAGE,
  migrateOne: (_ctx, doc) => legacyFieldsPatch("cases", doc) ?? undefined,
});

/** Remove `legacyId` / `legacyAuthId` from every profile that still carries them. */
export const clearLegacyProfileFields = migrations.define({
  table: "userProfiles",
  batchSize: CLEANUP_PAGE,
  migrateOne: (_ctx, doc) => legacyFieldsPatch("userProfiles", doc) ?? undefined,
});

/** The whole cleanup, cases then profiles: `npx convex run migrations:runLegacyCleanup`. */
export const runLegacyCleanup = migrations.runner([
  internal.migrations.clearLegacyCaseFields,
  internal.migrations.clearLegacyProfileFields,
]);
