"""The specification copies in docs/spec/ equal the shared originals, where those are present."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "spec"
NAMES = ["ARCHITECTURE.md", "CONVEX_HTTP.md", "MAPPING_SPEC.md"]


@pytest.mark.parametrize("name", NAMES)
def test_spec_copy_is_present(name):
    assert (REPO / "docs" / "spec" / name).read_text().startswith("# ")


@pytest.mark.parametrize("name", NAMES)
def test_spec_copy_equals_shared_original(name):
    original = SHARED / name
    if not original.exists():
        pytest.skip("no shared/spec beside this checkout (fresh CI clone): nothing to compare")
    assert (REPO / "docs" / "spec" / name).read_bytes() == original.read_bytes(), \
        f"docs/spec/{name} differs from {original}: copy the new version"
