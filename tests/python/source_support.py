"""Helpers for tests that edit a generated v1 source before running the pipeline on it."""

from __future__ import annotations

import psycopg


def quiet(_line: str) -> None:
    """Swallow progress lines."""


def loaded_case_ids(conn: psycopg.Connection, limit: int) -> list[str]:
    """The first `limit` case ids (by id) that load: neither the case nor its owner is soft-deleted."""
    return [str(row[0]) for row in conn.execute(
        "SELECT c.id FROM public.cases c JOIN public.users u ON u.id = c.user_id "
        "WHERE c.deleted_at IS NULL AND u.deleted_at IS NULL ORDER BY c.id LIMIT %s", [limit])]
