// The legacy-field cleanup as migrations of @convex-dev/migrations (migrations.ts), run the way a
// v2 operator runs it (`npx convex run migrations:run ...`), with the real component in convex-test.
import migrationsComponent from "@convex-dev/migrations/test";
import { convexTest, type TestConvex } from "convex-test";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { components, internal } from "./_generated/api";
import type { Doc } from "./_generated/dataModel";
import vectorFile from "./companion_vectors.json";
import schema from "./schema";

const modules = import.meta.glob(["./*.ts", "!./*.test.ts", "./_generated/*.js"]);
const DOCUMENTS = 250; // three batches of 100
const CASE_MIGRATION = "migrations:clearLegacyCaseFields";
const PROFILE_MIGRATION = "migrations:clearLegacyProfileFields";

type Harness = TestConvex<typeof schema>;
type SeedFields<T extends "cases" | "userProfiles"> = Omit<Doc<T>, "_id" | "_creationTime" | "userId">;
const caseDefaults = vectorFile.defaults.cases as SeedFields<"cases">;
const profileDefaults = vectorFile.defaults.userProfiles as SeedFields<"userProfiles">;

function withComponent(): Harness {
  const t = convexTest(schema, modules);
  migrationsComponent.register(t);
  return t;
}

/** 250 users, each with a case and a profile carrying legacy ids; every tenth already half cleared. */
async function seed(t: Harness) {
  await t.run(async (ctx) => {
    for (let i = 0; i < DOCUMENTS; i++) {
      const userId = await ctx.db.insert("users", { email: `user${i}@example.com` });
      const halfCleared = i % 10 === 0;
      await ctx.db.insert("cases", {
        ...caseDefaults,
        userId,
        employerName: `Employer ${i}`,
        legacyId: `case-${i}`,
        ...(halfCleared ? {} : { legacyUserId: `auth-${i}` }),
      });
      await ctx.db.insert("userProfiles", {
        ...profileDefaults,
        userId,
        fullName: `User ${i}`,
        legacyAuthId: `auth-${i}`,
        ...(halfCleared ? {} : { legacyId: `profile-${i}` }),
      });
    }
  });
}

async function snapshot(t: Harness) {
  return await t.run(async (ctx) => ({
    users: await ctx.db.query("users").collect(),
    cases: await ctx.db.query("cases").collect(),
    userProfiles: await ctx.db.query("userProfiles").collect(),
  }));
}

/** Each document of `docs` without the given fields (what the cleanup must leave). */
function without<T extends object>(docs: T[], fields: string[]) {
  return docs.map((doc) => Object.fromEntries(Object.entries(doc).filter(([key]) => !fields.includes(key))));
}

async function status(t: Harness, name: string) {
  const [state] = await t.query(components.migrations.lib.getStatus, { names: [name] });
  return state;
}

type Page = { continueCursor: string; isDone: boolean };

/** Call `fetchPage` with `null`, then with each `continueCursor` until `isDone`; all pages. */
async function allPages<P extends Page>(fetchPage: (cursor: string | null) => Promise<P>) {
  const pages: P[] = [];
  let cursor: string | null = null;
  for (;;) {
    const page = await fetchPage(cursor);
    pages.push(page);
    if (page.isDone) return pages;
    cursor = page.continueCursor;
  }
}

/** What `perm-migrate cleanup-legacy` checks afterwards: the companion's count over all pages. */
async function companionRemaining(t: Harness, table: "cases" | "userProfiles") {
  const pages = await allPages(
    async (cursor) => await t.query(internal.migration.countLegacyFields, { table, cursor }),
  );
  return pages.reduce((sum, page) => sum + page.remaining, 0);
}

describe("legacy-field cleanup with @convex-dev/migrations", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test("migrations:run clears the case legacy fields in batches of 100 and nothing else", async () => {
    const t = withComponent();
    await seed(t);
    const before = await snapshot(t);

    await t.mutation(internal.migrations.run, { fn: CASE_MIGRATION });
    // The first batch runs in the starting transaction; the rest are scheduled, one per batch.
    expect(await companionRemaining(t, "cases")).toBe(DOCUMENTS - 100);
    await t.finishAllScheduledFunctions(vi.runAllTimers);

    const after = await snapshot(t);
    expect(after.cases).toEqual(without(before.cases, ["legacyId", "legacyUserId"]));
    expect(after.userProfiles).toEqual(before.userProfiles);
    expect(after.users).toEqual(before.users);
    expect(await companionRemaining(t, "cases")).toBe(0);
    expect(await companionRemaining(t, "userProfiles")).toBe(DOCUMENTS);
    expect(await status(t, CASE_MIGRATION)).toMatchObject({
      name: CASE_MIGRATION,
      state: "success",
      isDone: true,
      processed: DOCUMENTS,
    });
  });

  test("migrations:runLegacyCleanup clears cases then profiles", async () => {
    const t = withComponent();
    await seed(t);
    const before = await snapshot(t);

    await t.mutation(internal.migrations.runLegacyCleanup, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);

    const after = await snapshot(t);
    expect(after.cases).toEqual(without(before.cases, ["legacyId", "legacyUserId"]));
    expect(after.userProfiles).toEqual(without(before.userProfiles, ["legacyId", "legacyAuthId"]));
    expect(after.users).toEqual(before.users);
    expect(await companionRemaining(t, "cases")).toBe(0);
    expect(await companionRemaining(t, "userProfiles")).toBe(0);
    for (const name of [CASE_MIGRATION, PROFILE_MIGRATION]) {
      expect(await status(t, name)).toMatchObject({ state: "success", isDone: true, processed: DOCUMENTS });
    }
  });

  test("running the cleanup again, resumed or reset, changes nothing", async () => {
    const t = withComponent();
    await seed(t);
    await t.mutation(internal.migrations.runLegacyCleanup, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const cleared = await snapshot(t);

    await t.mutation(internal.migrations.runLegacyCleanup, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await snapshot(t)).toEqual(cleared);

    // reset: every document is visited again; the ones without legacy fields are left as they are.
    await t.mutation(internal.migrations.runLegacyCleanup, { reset: true });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await snapshot(t)).toEqual(cleared);
    for (const name of [CASE_MIGRATION, PROFILE_MIGRATION]) {
      expect(await status(t, name)).toMatchObject({ state: "success", isDone: true, processed: DOCUMENTS });
    }
  });

  test("after perm-migrate's own cleanup (migration:clearLegacyFields) the migration finds nothing to do", async () => {
    const t = withComponent();
    await seed(t);
    for (const table of ["cases", "userProfiles"] as const) {
      await allPages(
        async (cursor) => await t.mutation(internal.migration.clearLegacyFields, { table, cursor }),
      );
    }
    const cleared = await snapshot(t);

    await t.mutation(internal.migrations.runLegacyCleanup, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await snapshot(t)).toEqual(cleared);
  });
});
