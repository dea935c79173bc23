"""Helpers for the emulator tests: start a fresh emulator, speak its HTTP API with httpx."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from perm_rehearsal.emulator import Emulator, running_emulator

__all__ = ["EmuClient", "client", "emu", "jsonl", "running_emulator"]


class EmuClient:
    """A thin httpx client with the admin key and a `Convex-Client` header."""

    def __init__(self, emu: Emulator, key: str | None = "admin", client: str = "pytest-1.0.0"):
        headers = {"Convex-Client": client}
        if key == "admin":
            key = emu.admin_key
        if key is not None:
            headers["Authorization"] = f"Convex {key}"
        self.emu = emu
        self.http = httpx.Client(base_url=emu.url, headers=headers, timeout=60)

    def close(self) -> None:
        self.http.close()

    def call(self, endpoint: str, path: str, args=None, fmt: str = "json") -> dict:
        r = self.http.post(f"/api/{endpoint}", json={"path": path, "args": args or {}, "format": fmt})
        assert r.status_code == 200, r.text
        return r.json()

    def value(self, path: str, args=None, endpoint: str = "query", fmt: str = "json"):
        body = self.call(endpoint, path, args, fmt)
        assert body["status"] == "success", body
        return body["value"]

    def table(self, name: str, page_size: int = 1000) -> list[dict]:
        docs, cursor = [], None
        while True:
            page = self.value(
                "_system/cli/tableData",
                {"table": name, "order": "asc", "paginationOpts": {"numItems": page_size, "cursor": cursor}},
            )
            docs.extend(page["page"])
            if page["isDone"]:
                return docs
            cursor = page["continueCursor"]

    def size(self, name: str) -> int:
        return int(self.value("_system/cli/tableSize", {"tableName": name}))

    def mapping(self) -> dict[str, int]:
        return {name: int(n) for n, name in self.value("_system/frontend/getTableMapping").items()}

    def oneshot(self, table: str, lines: list, mode: str = "requireEmpty") -> httpx.Response:
        body = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()
        return self.http.post("/api/import", params={"tableName": table, "format": "jsonLines", "mode": mode},
                              content=body)

    def configure(self, **knobs) -> dict:
        r = self.http.post("/_emulator/config", json=knobs)
        assert r.status_code == 200, r.text
        return r.json()

    # -- multi-step import ------------------------------------------------------------------

    def upload(self, data: bytes, part_size: int) -> tuple[str, list[str]]:
        token = self.http.post("/api/import/start_upload").json()["uploadToken"]
        parts = []
        for i, start in enumerate(range(0, len(data), part_size), start=1):
            r = self.http.post("/api/import/upload_part", params={"uploadToken": token, "partNumber": i},
                               content=data[start : start + part_size],
                               headers={"Content-Type": "application/octet-stream"})
            assert r.status_code == 200, r.text
            parts.append(r.json())
        return token, parts

    def finish(self, token: str, parts: list[str], table: str | None, mode: str = "requireEmpty",
               fmt: str = "jsonLines") -> httpx.Response:
        spec = {"mode": mode, "format": fmt}
        if table is not None:
            spec["tableName"] = table
        return self.http.post("/api/import/finish_upload", json={"import": spec, "uploadToken": token,
                                                                   "partTokens": parts})

    def import_state(self, import_id: str) -> dict:
        return self.value("_system/cli/queryImport", {"importId": import_id})

    def wait_state(self, import_id: str, states: tuple[str, ...], timeout: float = 30) -> tuple[dict, list[str]]:
        """Poll until the state is in `states`; returns the doc and every state seen."""
        seen, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            doc = self.import_state(import_id)
            seen.append(doc["state"]["state"])
            if doc["state"]["state"] in states:
                return doc, seen
            time.sleep(0.01)
        raise AssertionError(f"import stuck; states seen {seen[-5:]}")

    def run_import(self, table: str | None, data: bytes, mode: str = "requireEmpty", fmt: str = "jsonLines",
                   part_size: int = 5 << 20) -> dict:
        token, parts = self.upload(data, part_size)
        r = self.finish(token, parts, table, mode, fmt)
        assert r.status_code == 200, r.text
        import_id = r.json()["importId"]
        doc, _ = self.wait_state(import_id, ("waiting_for_confirmation", "failed"))
        if doc["state"]["state"] == "failed":
            return doc
        assert self.http.post("/api/perform_import", json={"importId": import_id}).status_code == 200
        return self.wait_state(import_id, ("completed", "failed"))[0]


def jsonl(rows: list) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


@pytest.fixture
def emu(tmp_path):
    """A fresh emulator with small upload parts (multi-part uploads stay cheap)."""
    with running_emulator(tmp_path / "state", min_part_size=64) as emulator:
        yield emulator


@pytest.fixture
def client(emu):
    """An `EmuClient` with the admin key for `emu`."""
    c = EmuClient(emu)
    yield c
    c.close()
