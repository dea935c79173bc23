"""Write a synthetic v1 database: reference DDL, rows streamed with bulk COPY, then constraints.

One connection per table keeps a COPY open while the rows are generated entity by entity, so
memory stays constant whatever the size (20,000 users / 1,000,000 cases is minutes). The NOT
VALID foreign keys and CHECKs are added after the load (MAPPING_SPEC §1.1).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable

import psycopg
from psycopg import sql

from perm_rehearsal.demo_data.dirty import NEEDS_VARIANT_SCHEMA, NOT_SOURCE_ROWS, DirtyData
from perm_rehearsal.demo_data.realistic import case_rows, user_rows
from loader.reference_schema import reference_columns, reference_ddl
from loader.errors import ConfigError, SourceError
from loader.source_config import connect, one_line

APP = "app"  # row key of the app user table, whatever its configured name
TABLES = ("auth.users", "auth.identities", APP, "public.user_settings", "public.user_preferences",
          "public.cases", "public.case_rfi", "public.case_rfe")
GENERATED_COLUMNS = {"auth.identities": ("email",)}
_REMINDERS = [1, 3, 7, 14, 30]
DEFAULTS: dict[str, dict] = {
    "auth.users": {"is_anonymous": False, "is_sso_user": False},
    APP: {"user_type": "individual", "notification_sms": False, "notification_push": True,
          "urgent_deadline_days": 7, "privacy_mode_enabled": False, "calendar_sync_enabled": True,
          **{f"calendar_sync_{k}": True for k in ("pwd", "eta9089", "i140", "rfe", "rfi", "recruitment", "filing_window")},
          "google_calendar_connected": False, "gmail_connected": False, "calendar_connected": False},
    "public.user_settings": {"email_notifications_enabled": True, "email_deadline_reminders": True,
                             "email_status_updates": True, "email_rfe_alerts": True, "reminder_days_before": _REMINDERS,
                             "quiet_hours_enabled": False, "timezone": "America/New_York",
                             "preferred_notification_email": "signup", "dismissed_deadlines": "[]"},
    "public.user_preferences": {"cases_sort_by": "created_at", "cases_sort_order": "desc", "cases_per_page": 25,
                                "dismissed_deadlines": "[]"},
    "public.cases": {"case_status": "PWD", "progress_status_override": False, "priority_level": "normal",
                     "is_favorite": False, "is_professional_occupation": False, "calendar_sync_enabled": True,
                     "additional_recruitment_methods": "[]", "recruitment_applicants_count": 0, "rfi_list": "[]",
                     "rfe_list": "[]", "tags": [], "documents": "[]", "calendar_event_ids": "{}"},
    "auth.identities": {},
    "public.case_rfi": {},
    "public.case_rfe": {},
}


# Schema variants (MAPPING_SPEC §1.7): name -> (description, query listing the columns, new type).
VARIANTS = {
    "text-dates": ("every public.cases date column typed text", "date", "text"),
    "text-wage": ("public.cases.pwd_wage_amount typed text", "pwd_wage_amount", "text"),
    "unscaled-wage": ("public.cases.pwd_wage_amount typed unscaled numeric", "pwd_wage_amount", "numeric"),
    "naive-timestamps": ("every public.cases timestamptz column typed timestamp without time zone (UTC values)",
                         "timestamp with time zone", "timestamp"),
}


def _apply_variants(conn: psycopg.Connection, variants: tuple[str, ...]) -> None:
    """Change public.cases column types for the requested variants."""
    if {"text-wage", "unscaled-wage"} <= set(variants):
        raise ConfigError("variants text-wage and unscaled-wage both retype pwd_wage_amount: choose one")
    for name in variants:
        if name not in VARIANTS:
            raise ConfigError(f"unknown variant {name!r}: choose from {', '.join(VARIANTS)}")
        _, selector, new_type = VARIANTS[name]
        columns = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = 'cases' AND (data_type = %s OR column_name = %s) ORDER BY ordinal_position",
            [selector, selector])]
        for column in columns:
            conn.execute(sql.SQL("ALTER TABLE public.cases ALTER COLUMN {c} TYPE {t} USING {using}").format(
                c=sql.Identifier(column), t=sql.SQL(new_type),
                using=sql.SQL("{} AT TIME ZONE 'UTC'" if new_type == "timestamp" else "{}").format(sql.Identifier(column))))


@dataclass
class GenerationResult:
    counts: dict[str, int]
    injected: dict[str, list[dict]] = field(default_factory=dict)
    storage_forms: dict[str, list[str]] = field(default_factory=dict)

    def summary(self, seed: int, app_table: str, dirty: bool, variants: tuple[str, ...] = ()) -> dict:
        return {
            "seed": seed, "app_table": f"public.{app_table}", "dirty": dirty, "rows": self.counts,
            "variants": {name: VARIANTS[name][0] for name in variants},
            "injected_counts": {dq: len(items) for dq, items in self.injected.items()},
            "storage_forms": self.storage_forms,
            "needs_variant_schema": NEEDS_VARIANT_SCHEMA if dirty else {},
            "not_source_rows": NOT_SOURCE_ROWS if dirty else {},
        }


class _TableWriter:
    """An open `COPY <table> FROM STDIN` on its own connection."""

    def __init__(self, stack: contextlib.ExitStack, dsn: str, qualified: str, columns: tuple[str, ...], defaults: dict):
        self.conn = stack.enter_context(connect(dsn, "demo database"))
        schema, table = qualified.split(".")
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(schema, table), sql.SQL(", ").join(map(sql.Identifier, columns)))
        self.copy = stack.enter_context(self.conn.cursor().copy(statement))
        self.columns, self.defaults, self.rows = columns, defaults, 0

    def write(self, row: dict) -> None:
        merged = {**self.defaults, **row}
        self.copy.write_row(tuple(merged.get(c) for c in self.columns))
        self.rows += 1


def _qualified(key: str, app_table: str) -> str:
    return f"public.{app_table}" if key == APP else key


def _prepare(conn: psycopg.Connection, app_table: str, replace: bool, variants: tuple[str, ...]) -> None:
    existing = [t for t in TABLES if conn.execute("SELECT to_regclass(%s)", [_qualified(t, app_table)]).fetchone()[0]]
    if existing and not replace:
        names = ", ".join(_qualified(t, app_table) for t in existing)
        raise ConfigError(f"the demo database already has {names}; pass --replace to drop and regenerate them")
    for key in existing:
        schema, table = _qualified(key, app_table).split(".")
        conn.execute(sql.SQL("DROP TABLE {} CASCADE").format(sql.Identifier(schema, table)))
    conn.execute(reference_ddl(app_table)[0])
    _apply_variants(conn, variants)
    conn.commit()


def generate(
    dsn: str,
    n_users: int = 50,
    n_cases: int = 500,
    seed: int = 1,
    dirty: bool = False,
    app_table: str = "users",
    replace: bool = False,
    variants: tuple[str, ...] = (),
    progress: Callable[[str, int], None] | None = None,
) -> GenerationResult:
    """Create the reference schema (with `variants`, see VARIANTS) at `dsn` and fill it; return counts and injections."""
    if n_users < 1 or n_cases < 0:
        raise ConfigError("--users must be at least 1 and --cases at least 0")
    try:
        with connect(dsn, "demo database") as conn:
            _prepare(conn, app_table, replace, tuple(variants))
            columns = reference_columns(app_table)
            dirty_data = DirtyData(seed, app_table, tuple(variants)) if dirty else None
            if dirty_data:
                dirty_data.build()
            with contextlib.ExitStack() as stack:
                writers = {}
                for key in TABLES:
                    qualified = _qualified(key, app_table)
                    cols = tuple(c for c in columns[qualified] if c not in GENERATED_COLUMNS.get(key, ()))
                    writers[key] = _TableWriter(stack, dsn, qualified, cols, DEFAULTS[key])
                for index in range(n_users):
                    for key, rows in user_rows(seed, index, n_users, n_cases).items():
                        for row in rows:
                            writers[key].write(row)
                for index in range(n_cases):
                    for key, rows in case_rows(seed, index, n_users).items():
                        for row in rows:
                            writers[key].write(row)
                    if progress and (index + 1) % 100_000 == 0:
                        progress("cases", index + 1)
                for key, rows in (dirty_data.rows.items() if dirty_data else ()):
                    for row in rows:
                        writers[key].write(row)
                counts = {_qualified(k, app_table): w.rows for k, w in writers.items()}
            # ExitStack closed every COPY and committed each writer connection (psycopg commits on clean exit).
            conn.execute(reference_ddl(app_table)[1])
            conn.execute("ANALYZE")
            conn.commit()
    except psycopg.Error as exc:
        raise SourceError(f"demo data generation failed: {one_line(exc, dsn)}") from None
    if dirty_data:
        return GenerationResult(counts, dirty_data.report(), dict(dirty_data.storage_forms))
    return GenerationResult(counts)
