// Runs companion_vectors.json against the real TypeScript module with convex-test.
// tests/python/test_companion_vectors.py runs the same file against the emulator's mirror.
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import { ConvexError } from "convex/values";
import { describe, expect, test } from "vitest";
import schema from "./schema";
import vectorFile from "./companion_vectors.json";

const modules = import.meta.glob(["./*.ts", "!./*.test.ts", "./_generated/*.js"]);
const TABLES = ["users", "cases", "userProfiles", "jobDescriptionTemplates"] as const;
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Step = {
  call: string;
  kind: "query" | "mutation";
  args: Json;
  expect?: Json;
  until_done?: boolean;
  expect_total?: Record<string, number>;
  expect_error?: { data?: Json; argument_validation?: boolean };
};
type Vector = {
  name: string;
  setup: Record<string, { ref: string; doc: Json }[]>;
  steps: Step[];
  state: Record<string, Json[]>;
};
const defaults = vectorFile.defaults as Record<string, Record<string, Json>>;
const vectors = vectorFile.vectors as unknown as Vector[];

/** Ref names <-> ids, and the chained cursor. */
class Refs {
  byName = new Map<string, string>();
  byId = new Map<string, string>();
  cursor: string | null = null;
  private newCount = 0;

  add(name: string, id: string) {
    this.byName.set(name, id);
    this.byId.set(id, `@${name}`);
  }

  /** Substitute refs, `$cursor`, `$repeat` and `$defaults` objects in vector input. */
  resolve(value: Json): Json {
    if (typeof value === "string") {
      if (value === "$cursor") return this.cursor;
      if (!value.startsWith("@")) return value;
      const id = this.byName.get(value.slice(1));
      if (id === undefined) throw new Error(`unknown ref ${value}`);
      return id;
    }
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value !== null && typeof value === "object" && "$repeat" in value) {
      return Array.from({ length: value.$repeat as number }, () => this.resolve(value.item));
    }
    if (value !== null && typeof value === "object") {
      const { $defaults, ...rest } = value as Record<string, Json>;
      const base = typeof $defaults === "string" ? defaults[$defaults] : {};
      return Object.fromEntries(Object.entries({ ...base, ...rest }).map(([k, v]) => [k, this.resolve(v)]));
    }
    return value;
  }

  /** Name ids that are new (first in result walk order, sorted keys), then the rest. */
  nameNewIds(result: unknown, allIds: string[]) {
    const existing = new Set(allIds);
    const visit = (value: unknown): void => {
      if (typeof value === "string") {
        if (existing.has(value) && !this.byId.has(value)) this.add(`new${++this.newCount}`, value);
      } else if (Array.isArray(value)) value.forEach(visit);
      else if (value !== null && typeof value === "object") {
        for (const key of Object.keys(value).sort()) visit((value as Record<string, unknown>)[key]);
      }
    };
    visit(result);
    allIds.forEach(visit);
  }

  /** Replace ids by their ref names and every continueCursor by "<cursor>". */
  normalize(value: unknown): unknown {
    if (typeof value === "string") return this.byId.get(value) ?? value;
    if (Array.isArray(value)) return value.map((item) => this.normalize(item));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, k === "continueCursor" ? "<cursor>" : this.normalize(v)]),
      );
    }
    return value;
  }
}

async function listDocuments(t: ReturnType<typeof convexTest>, table: string) {
  return await t.run(async (ctx) => await ctx.db.query(table as never).collect());
}

async function allIds(t: ReturnType<typeof convexTest>) {
  const ids: string[] = [];
  for (const table of TABLES) ids.push(...(await listDocuments(t, table)).map((doc) => doc._id as string));
  return ids;
}

async function runStep(t: ReturnType<typeof convexTest>, refs: Refs, step: Step) {
  const ref = makeFunctionReference(step.call);
  const call = (step.kind === "query" ? t.query : t.mutation) as unknown as (
    ref: unknown,
    args: unknown,
  ) => Promise<Record<string, unknown>>;
  const invoke = async (args: Json) => await call(ref, args);
  if (step.expect_error) {
    let caught: unknown = undefined;
    try {
      await invoke(refs.resolve(step.args));
    } catch (error) {
      caught = error;
    }
    expect(caught, `${step.call} should fail`).toBeInstanceOf(Error);
    if (step.expect_error.data !== undefined) {
      expect(caught).toBeInstanceOf(ConvexError);
      refs.nameNewIds((caught as ConvexError<Json>).data, await allIds(t));
      expect(refs.normalize((caught as ConvexError<Json>).data)).toEqual(step.expect_error.data);
    } else {
      expect(String(caught)).toMatch(/ArgumentValidationError|Validator error/);
    }
    return;
  }
  if (!step.until_done) {
    const result = await invoke(refs.resolve(step.args));
    refs.cursor = (result?.continueCursor as string | undefined) ?? refs.cursor;
    refs.nameNewIds(result, await allIds(t));
    expect(refs.normalize(result)).toEqual(step.expect);
    return;
  }
  const totals: Record<string, number> = Object.fromEntries(
    Object.keys(step.expect_total ?? {}).map((k) => [k, 0]),
  );
  for (let calls = 0; ; calls++) {
    if (calls > 1000) throw new Error("until_done did not finish");
    const args = calls === 0 ? step.args : { ...(step.args as Record<string, Json>), cursor: "$cursor" };
    const result = await invoke(refs.resolve(args));
    for (const key of Object.keys(totals)) totals[key] += result[key] as number;
    refs.cursor = result.continueCursor as string;
    if (result.isDone) break;
  }
  expect(totals).toEqual(step.expect_total);
}

describe("companion vectors (convex-test)", () => {
  for (const vector of vectors) {
    test(vector.name, async () => {
      const t = convexTest(schema, modules);
      const refs = new Refs();
      for (const table of TABLES) {
        for (const { ref, doc } of vector.setup[table] ?? []) {
          const id = await t.run(
            async (ctx) => await ctx.db.insert(table as never, refs.resolve(doc) as never),
          );
          refs.add(ref, id as string);
        }
      }
      for (const step of vector.steps) await runStep(t, refs, step);
      for (const [table, expected] of Object.entries(vector.state)) {
        const actual = (await listDocuments(t, table)).map(({ _creationTime, ...doc }) =>
          refs.normalize(doc),
        );
        expect(actual, `final ${table}`).toEqual(expected.map((doc) => refs.normalize(refs.resolve(doc))));
      }
    });
  }
});
