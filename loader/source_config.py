"""PostgreSQL connections: the v1 source DSN and the Postgres warehouse, with one-line errors.

Source DSN precedence: `--source-url` flag > `SUPABASE_DB_URL` > libpq `PG*` variables.
Warehouse DSN precedence: `--warehouse-url` flag > `PG*` variables.
Secrets never reach messages: every error text goes through `loader.redact`.
"""

from __future__ import annotations

import os
import re

import psycopg

from loader.errors import ConfigError, MigrationError, SourceError
from loader.redact import redact

SOURCE_URL_ENV = "SUPABASE_DB_URL"
PG_ENV_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")
CONNECT_TIMEOUT_S = 10
ACCEPTED_DSN_FORMS = ("accepted forms: a PostgreSQL URL postgresql://user@host:5432/dbname (the password after "
                      "user and a colon, or in PGPASSWORD), or key=value pairs such as "
                      "'host=db.example.com port=5432 dbname=postgres user=postgres'")
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# What to fix, by the text libpq reports when a connection fails.
_CONNECT_HINTS = (
    ("password authentication failed", "check the user and password of the DSN"),
    ("no password supplied", "put the password in the DSN or PGPASSWORD"),
    ("does not exist", "check the database and user names of the DSN"),
    ("no pg_hba.conf entry", "the server refuses this client: allow its address, or use the direct connection"),
    ("connection refused", "check host and port (the direct connection, port 5432) and that the server runs"),
    ("timeout expired", "check host, port and network access (IP allow-lists, firewall)"),
    ("could not translate host name", "check the host name of the DSN"),
    ("ssl", "check the sslmode of the DSN"),
)


def resolve_source_dsn(source_url: str | None) -> str:
    """The source DSN; `""` means libpq reads the PG* variables."""
    if source_url:
        return source_url
    if os.environ.get(SOURCE_URL_ENV):
        return os.environ[SOURCE_URL_ENV]
    if any(os.environ.get(name) for name in PG_ENV_VARS):
        return ""
    raise ConfigError(f"no source database: pass --source-url, or set {SOURCE_URL_ENV} or the PG* variables")


def resolve_warehouse_dsn(warehouse_url: str | None) -> str:
    """The Postgres warehouse DSN; `""` means libpq reads the PG* variables."""
    if warehouse_url:
        return warehouse_url
    if any(os.environ.get(name) for name in PG_ENV_VARS):
        return ""
    raise ConfigError("no Postgres warehouse: pass --warehouse-url or set the PG* variables")


def check_dsn_form(dsn: str, role: str) -> None:
    """Refuse a DSN that is neither a PostgreSQL URL nor key=value pairs, naming the accepted forms.

    `""` (the PG* variables) is fine. The DSN itself is never echoed: it may hold a password.
    """
    if not dsn:
        return
    scheme = _URL_SCHEME.match(dsn.strip())
    if scheme and scheme.group(1).lower() not in ("postgresql", "postgres"):
        raise ConfigError(f"{role} DSN is a {scheme.group(1)}:// URL, not a PostgreSQL one; {ACCEPTED_DSN_FORMS}")
    if not scheme and "=" not in dsn:
        raise ConfigError(f"{role} DSN is neither a PostgreSQL URL nor key=value pairs; {ACCEPTED_DSN_FORMS}")
    try:
        psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(f"{role} DSN is malformed: {one_line(exc, dsn)}; {ACCEPTED_DSN_FORMS}") from None


def connect_hint(reason: str) -> str:
    """What to fix for a failed connection, from libpq's reason."""
    lowered = reason.lower()
    return next((hint for needle, hint in _CONNECT_HINTS if needle in lowered), "check the DSN and the network")


def one_line(exc: BaseException, dsn: str = "") -> str:
    """The first meaningful line of a driver error, redacted."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = lines[0] if lines else type(exc).__name__
    for line in lines[1:]:  # libpq puts the useful reason after "connection failed: ..."
        if line.upper().startswith(("FATAL", "DETAIL")) or "password" in line.lower():
            text = f"{text} {line}"
            break
    return redact(text, extra_secrets=_dsn_password(dsn))


def _dsn_password(dsn: str) -> tuple[str, ...]:
    if not dsn:
        return ()
    try:
        password = psycopg.conninfo.conninfo_to_dict(dsn).get("password")
    except psycopg.ProgrammingError:
        return ()
    return (str(password),) if password else ()


def describe_dsn(dsn: str) -> str:
    """`host:port/dbname` of a DSN (no user, no password), for messages and manifests."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparseable DSN>"
    host = info.get("host") or os.environ.get("PGHOST") or "localhost"
    port = info.get("port") or os.environ.get("PGPORT") or "5432"
    dbname = info.get("dbname") or os.environ.get("PGDATABASE") or info.get("user") or "postgres"
    return f"{host}:{port}/{dbname}"


def connect(dsn: str, role: str, error: type[MigrationError] = SourceError, **kwargs) -> psycopg.Connection:
    """Open a connection to the `role` database; failures raise `error` (ConfigError if malformed), one line
    ending with what to fix."""
    check_dsn_form(dsn, role)
    try:
        return psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S, **kwargs)
    except psycopg.Error as exc:
        reason = one_line(exc, dsn)
        raise error(f"cannot connect to the {role} database {describe_dsn(dsn)}: {reason}; "
                    f"{connect_hint(reason)}") from None
