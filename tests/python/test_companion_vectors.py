"""The emulator's companion mirrors must behave like convex/migration.ts.

Runs every vector of convex/companion_vectors.json (the same file convex/migration.test.ts runs
with convex-test) against the real emulator over HTTP: setup through the one-shot import, calls
through the gateway, final state read back with `_system/cli/tableData`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from loader.convex.gateway import ConvexFunctionError, ConvexGateway, ConvexTarget
from perm_rehearsal.emulator import Emulator, EmulatorConfig

VECTORS_PATH = Path(__file__).resolve().parents[2] / "convex" / "companion_vectors.json"
VECTOR_FILE = json.loads(VECTORS_PATH.read_text())
DEFAULTS = VECTOR_FILE["defaults"]
TABLES = ("users", "cases", "userProfiles", "jobDescriptionTemplates")


class Refs:
    """Ref names <-> ids and the chained cursor (same rules as migration.test.ts)."""

    def __init__(self) -> None:
        self.by_name: dict[str, str] = {}
        self.by_id: dict[str, str] = {}
        self.cursor: str | None = None
        self._new = 0

    def add(self, name: str, doc_id: str) -> None:
        self.by_name[name] = doc_id
        self.by_id[doc_id] = f"@{name}"

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            if value == "$cursor":
                return self.cursor
            return self.by_name[value[1:]] if value.startswith("@") else value
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if isinstance(value, dict) and "$repeat" in value:
            return [self.resolve(value["item"]) for _ in range(value["$repeat"])]
        if isinstance(value, dict):
            rest = {k: v for k, v in value.items() if k != "$defaults"}
            base = DEFAULTS[value["$defaults"]] if "$defaults" in value else {}
            return {k: self.resolve(v) for k, v in {**base, **rest}.items()}
        return value

    def name_new_ids(self, result: Any, all_ids: list[str]) -> None:
        existing = set(all_ids)

        def visit(value: Any) -> None:
            if isinstance(value, str):
                if value in existing and value not in self.by_id:
                    self._new += 1
                    self.add(f"new{self._new}", value)
            elif isinstance(value, list):
                for item in value:
                    visit(item)
            elif isinstance(value, dict):
                for key in sorted(value):
                    visit(value[key])

        visit(result)
        for doc_id in all_ids:
            visit(doc_id)

    def normalize(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.by_id.get(value, value)
        if isinstance(value, list):
            return [self.normalize(item) for item in value]
        if isinstance(value, dict):
            return {k: "<cursor>" if k == "continueCursor" else self.normalize(v) for k, v in value.items()}
        return value


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with Emulator(EmulatorConfig(state_dir=tmp_path_factory.mktemp("companion-emulator"))) as running:
        yield running


@pytest.fixture
def gateway(emulator):
    response = httpx.post(f"{emulator.url}/_emulator/reset",
                          headers={"Authorization": f"Convex {emulator.admin_key}"}, timeout=30)
    response.raise_for_status()
    with ConvexGateway(ConvexTarget(emulator.url, emulator.admin_key), sleep=lambda _s: None) as gw:
        yield gw


def all_ids(gw: ConvexGateway) -> list[str]:
    return [doc["_id"] for table in TABLES for doc in gw.iter_documents(table)]


def setup_documents(gw: ConvexGateway, refs: Refs, setup: dict, tmp_path: Path) -> None:
    for table in TABLES:
        entries = setup.get(table, [])
        if not entries:
            continue
        path = tmp_path / f"{table}.jsonl"
        path.write_text("".join(json.dumps(refs.resolve(e["doc"])) + "\n" for e in entries))
        assert gw.import_one_shot(path, table=table, mode="append") == len(entries)
        for entry, doc in zip(entries, gw.iter_documents(table), strict=True):
            refs.add(entry["ref"], doc["_id"])


def call(gw: ConvexGateway, step: dict, args: Any) -> Any:
    if step["kind"] == "query":
        return gw.query(step["call"], args)
    return gw.mutation(step["call"], args, idempotent=False)


def run_step(gw: ConvexGateway, refs: Refs, step: dict) -> None:
    if "expect_error" in step:
        with pytest.raises(ConvexFunctionError) as info:
            call(gw, step, refs.resolve(step["args"]))
        expected = step["expect_error"]
        if "data" in expected:
            refs.name_new_ids(info.value.error_data, all_ids(gw))
            assert refs.normalize(info.value.error_data) == expected["data"]
        else:
            assert "ArgumentValidationError" in info.value.message
        return
    if not step.get("until_done"):
        result = call(gw, step, refs.resolve(step["args"]))
        if isinstance(result, dict) and "continueCursor" in result:
            refs.cursor = result["continueCursor"]
        refs.name_new_ids(result, all_ids(gw))
        assert refs.normalize(result) == step["expect"]
        return
    totals = {key: 0 for key in step["expect_total"]}
    for calls in range(1001):
        args = step["args"] if calls == 0 else {**step["args"], "cursor": "$cursor"}
        result = call(gw, step, refs.resolve(args))
        for key in totals:
            totals[key] += result[key]
        refs.cursor = result["continueCursor"]
        if result["isDone"]:
            break
    else:
        pytest.fail("until_done did not finish")
    assert totals == step["expect_total"]


@pytest.mark.parametrize("vector", VECTOR_FILE["vectors"], ids=lambda v: v["name"])
def test_vector(gateway, vector, tmp_path):
    refs = Refs()
    setup_documents(gateway, refs, vector["setup"], tmp_path)
    for step in vector["steps"]:
        run_step(gateway, refs, step)
    for table, expected in vector["state"].items():
        actual = [refs.normalize({k: v for k, v in doc.items() if k != "_creationTime"})
                  for doc in gateway.iter_documents(table)]
        assert actual == [refs.normalize(refs.resolve(doc)) for doc in expected], f"final {table}"


def test_every_companion_export_has_vectors():
    """A function added to migration.ts without vectors would not be pinned to its mirror."""
    source = (VECTORS_PATH.parent / "migration.ts").read_text()
    exported = {line.split()[2] for line in source.splitlines()
                if line.startswith("export const ") and ("internalMutation(" in line or "internalQuery(" in line)}
    called = {step["call"].split(":")[1] for v in VECTOR_FILE["vectors"] for step in v["steps"]}
    assert exported and exported <= called


def test_typescript_module_passes_its_vitest_suite():
    """The same vectors against convex/migration.ts (convex-test), so `make test` covers both sides."""
    convex_dir = VECTORS_PATH.parent
    vitest = convex_dir / "node_modules" / ".bin" / "vitest"
    if not vitest.exists():
        pytest.fail(f"{vitest} is missing: run `make npm` (npm ci in convex/)")
    done = subprocess.run([str(vitest), "run"], cwd=convex_dir, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_COLOR": "1", "CI": "1"})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"Tests\s+\d+ passed", done.stdout)


def test_typescript_module_typechecks():
    convex_dir = VECTORS_PATH.parent
    tsc = convex_dir / "node_modules" / ".bin" / "tsc"
    if not tsc.exists():
        pytest.fail(f"{tsc} is missing: run `make npm` (npm ci in convex/)")
    done = subprocess.run([str(tsc), "--noEmit", "-p", "."], cwd=convex_dir, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
