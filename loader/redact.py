"""Keep secrets out of everything the tool prints, logs or writes."""

from __future__ import annotations

import os
import re

# Environment variables whose values are secrets wherever they appear.
SECRET_ENV_VARS = (
    "CONVEX_DEPLOY_KEY",
    "CONVEX_SELF_HOSTED_ADMIN_KEY",
    "SUPABASE_DB_URL",
    "PGPASSWORD",
)

_DSN_PASSWORD = re.compile(r"(?P<pre>://[^:/@\s]+:)(?P<pw>[^@\s]+)(?P<post>@)")
_KV_PASSWORD = re.compile(r"(?P<pre>\bpassword\s*=\s*)(?P<pw>'[^']*'|\S+)", re.IGNORECASE)
_CONVEX_KEY = re.compile(r"(?P<pre>\b[\w:.-]*\|)(?P<pw>[0-9A-Za-z+/=_-]{8,})")


def redact_key(key: str) -> str:
    """Show a Convex key as its prefix only: `prod:name|***`."""
    prefix, sep, _ = key.partition("|")
    return f"{prefix}|***" if sep else "***"


def redact(text: str, extra_secrets: tuple[str, ...] = ()) -> str:
    """Remove passwords in DSNs, `password=` pairs, Convex keys and known secret values."""
    secrets = [os.environ.get(name, "") for name in SECRET_ENV_VARS] + list(extra_secrets)
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _DSN_PASSWORD.sub(r"\g<pre>***\g<post>", text)
    text = _KV_PASSWORD.sub(r"\g<pre>***", text)
    return _CONVEX_KEY.sub(r"\g<pre>***", text)
