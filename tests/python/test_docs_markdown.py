"""The operator docs render as written: every code fence is closed on a line of its own."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _unclosed_fences(text: str) -> list[int]:
    """Line numbers of fence lines that cannot close the open fence (text after the backticks)."""
    bad, open_fence = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped.startswith("```"):
            continue
        if open_fence and stripped != "```":
            bad.append(number)
            continue
        open_fence = not open_fence
    return bad


@pytest.mark.parametrize("doc", ["README.md", "docs/INTERFACES.md"])
def test_every_code_fence_closes_on_its_own_line(doc):
    text = (REPO / doc).read_text(encoding="utf-8")
    assert _unclosed_fences(text) == []
    assert text.count("\n```") % 2 == 0, "a code fence is left open"
