// schema.ts must be exactly the v2 contract (contract/v2_schema.json), the single source of truth.
import { expect, test } from "vitest";
import schema from "./schema";
import contract from "../contract/v2_schema.json";

test("schema.ts exports the v2 contract", () => {
  const exported = (schema as unknown as { export(): string }).export();
  expect(JSON.parse(exported)).toEqual(contract);
});
