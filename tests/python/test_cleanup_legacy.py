"""cleanup-legacy: clears the legacy fields page by page through the companion module; re-runnable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from loader.legacy_cleanup import clear_legacy_fields, remaining_legacy_fields
from operator_fixture import migrated_run

LEGACY = ("legacyId", "legacyUserId", "legacyAuthId")


def _legacy_count(gateway, table):
    return sum(1 for doc in gateway.iter_documents(table) if any(f in doc for f in LEGACY))


def _cli(args, m):
    env = {**os.environ, "CONVEX_SELF_HOSTED_URL": m.emulator.url,
           "CONVEX_SELF_HOSTED_ADMIN_KEY": m.emulator.admin_key}
    env.pop("CONVEX_DEPLOY_KEY", None)
    return subprocess.run([str(Path(sys.executable).with_name("perm-migrate")), "cleanup-legacy", *args], env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_clear_pages_until_done_and_is_safe_to_rerun(tmp_path):
    with migrated_run(tmp_path) as m:
        assert _legacy_count(m.gateway, "cases") == 4 and _legacy_count(m.gateway, "userProfiles") == 3
        before = {d["_id"]: d for d in m.gateway.iter_documents("cases")}
        pages = []
        assert clear_legacy_fields(m.gateway, "cases", on_page=pages.append) == 4
        assert pages[-1]["isDone"] is True
        assert clear_legacy_fields(m.gateway, "userProfiles") == 3
        assert remaining_legacy_fields(m.gateway, "cases") == 0
        assert _legacy_count(m.gateway, "cases") == 0 and _legacy_count(m.gateway, "userProfiles") == 0
        for doc in m.gateway.iter_documents("cases"):  # nothing else changed
            expected = {k: v for k, v in before[doc["_id"]].items() if k not in LEGACY}
            assert doc == expected
        assert clear_legacy_fields(m.gateway, "cases") == 0  # re-run: nothing to do
        # the durable mapping table still maps every case
        assert all(m.mapping.lookup("cases", d["legacyId"], "cases") for d in before.values())


def test_command_refuses_without_terminal_then_clears_with_yes(tmp_path):
    with migrated_run(tmp_path) as m:
        refused = _cli([], m)
        assert refused.returncode == 2 and "pass --yes" in refused.stderr
        assert _legacy_count(m.gateway, "cases") == 4
        done = _cli(["--yes"], m)
        assert done.returncode == 0, done.stderr
        assert "cases: cleared legacy fields on 4 of 4 documents; 0 remaining" in done.stdout
        assert "userProfiles: cleared legacy fields on 3 of 3 documents; 0 remaining" in done.stdout
        again = _cli(["--yes"], m)
        assert again.returncode == 0
        assert "cases: cleared legacy fields on 0 of 4 documents; 0 remaining" in again.stdout
