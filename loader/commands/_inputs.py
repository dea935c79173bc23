"""Strict parsing of operator inputs, done before anything connects or creates a run folder."""

from __future__ import annotations

import datetime as dt
import re

from loader.errors import ConfigError
from loader.transform import normalise_as_of

AS_OF_EXAMPLE = "2026-12-01T06:00:00Z"
# Full date and time with seconds and an explicit offset (`Z` or ±HH:MM); fractions allowed.
_AS_OF = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
EARLIEST_PLAUSIBLE_AS_OF = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
FUTURE_LIMIT = dt.timedelta(days=365)


def parse_migration_as_of(text: str, yes: bool = False, now: dt.datetime | None = None) -> str:
    """`--migration-as-of`: a full ISO-8601 timestamp with its UTC offset, as `YYYY-MM-DDTHH:MM:SSZ`.

    Date-only and naive values are refused (the day boundary would depend on a guess). A value
    before 2000 or more than a year from now is almost surely a typo: it needs `yes`.
    """
    value = text.strip()
    if not _AS_OF.fullmatch(value):
        raise ConfigError(f"--migration-as-of {text!r}: expected a full ISO-8601 UTC timestamp with time and "
                          f"offset, e.g. {AS_OF_EXAMPLE} (date-only and naive values are refused)")
    normalised = normalise_as_of(value)
    parsed = dt.datetime.fromisoformat(normalised.replace("Z", "+00:00"))
    now = now or dt.datetime.now(dt.timezone.utc)
    if not yes and not (EARLIEST_PLAUSIBLE_AS_OF <= parsed <= now + FUTURE_LIMIT):
        raise ConfigError(f"--migration-as-of {text!r} is before 2000 or more than a year from now; "
                          "check the value, or add --yes if it is meant")
    return normalised
