"""Emulator settings (all overridable at construction; the tuning knobs also at runtime via /_emulator/config)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from loader.convex.schema import CONTRACT_PATH

MIB = 1 << 20

# Numbers of the system tables the emulator exposes (below 10001; arbitrary but stable).
SYSTEM_TABLE_NUMBERS = {"_scheduled_functions": 21, "_snapshot_imports": 22, "_exports": 23, "_storage": 24}
FIRST_USER_TABLE_NUMBER = 10001


def new_admin_key() -> str:
    """A self-hosted style admin key: `convex-self-hosted|<hex>` (no `:` after the prefix)."""
    return "convex-self-hosted|" + secrets.token_hex(32)


@dataclass
class EmulatorConfig:
    state_dir: Path
    admin_key: str = field(default_factory=new_admin_key)
    schema_path: Path | None = CONTRACT_PATH
    pinned_table_numbers: dict[str, int] = field(default_factory=dict)
    noop_store: bool = False  # accept, count and validate documents, keep none (upload-path benchmark)
    # Tuning knobs (runtime adjustable):
    polls_per_state: int = 0  # each import state stays visible for this many queryImport polls
    min_part_size: int = 5 * MIB  # non-final upload parts must be at least this large
    max_parts: int = 9999  # fewer than 10 000 parts
    batch_max_docs: int = 8000  # flush a write batch after MORE than this many documents
    batch_max_bytes: int = 8 * MIB  # ... or more than this many bytes of Convex value size
    max_request_body: int = 16 * MIB + 2000
    max_writes_per_function: int = 16000

    TUNABLE = ("polls_per_state", "min_part_size", "max_parts", "batch_max_docs", "batch_max_bytes")

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir)
        if self.schema_path is not None:
            self.schema_path = Path(self.schema_path)
