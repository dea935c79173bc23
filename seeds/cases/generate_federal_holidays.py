"""Generate cases_federal_holidays.csv: v2's federal holiday list (MAPPING_SPEC §3.9.6), 1990-2101.

Quirks reproduced on purpose: Juneteenth in every year; Inauguration Day (Jan 20, weekend-shifted)
every 4 years from 2021; an observed date that falls in the previous year is not a holiday of that
year (New Year 2022 observed 2021-12-31 is dropped). Run: python seeds/cases/generate_federal_holidays.py
"""

import csv
import datetime as dt
from pathlib import Path

FIRST_YEAR, LAST_YEAR = 1990, 2101
OUTPUT = Path(__file__).with_name("cases_federal_holidays.csv")


def observed(day: dt.date) -> dt.date:
    """Saturday → preceding Friday, Sunday → following Monday."""
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th given weekday (Monday = 0) of a month."""
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def last_weekday(year: int, month: int, weekday: int) -> dt.date:
    """The last given weekday (Monday = 0) of a month."""
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    last = following - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def holidays(year: int) -> list[tuple[dt.date, str]]:
    """Named holidays of one year, as v2 computes them (before the same-year filter)."""
    named = [
        (observed(dt.date(year, 1, 1)), "New Year's Day"),
        (nth_weekday(year, 1, 0, 3), "Martin Luther King Jr. Day"),
        (nth_weekday(year, 2, 0, 3), "Washington's Birthday"),
        (last_weekday(year, 5, 0), "Memorial Day"),
        (observed(dt.date(year, 6, 19)), "Juneteenth"),
        (observed(dt.date(year, 7, 4)), "Independence Day"),
        (nth_weekday(year, 9, 0, 1), "Labor Day"),
        (nth_weekday(year, 10, 0, 2), "Columbus Day"),
        (observed(dt.date(year, 11, 11)), "Veterans Day"),
        (nth_weekday(year, 11, 3, 4), "Thanksgiving"),
        (observed(dt.date(year, 12, 25)), "Christmas Day"),
    ]
    if year >= 2021 and (year - 2021) % 4 == 0:
        named.append((observed(dt.date(year, 1, 20)), "Inauguration Day"))
    return [(day, name) for day, name in named if day.year == year]


def main() -> None:
    rows = []
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        names_by_day: dict[dt.date, list[str]] = {}
        for day, name in holidays(year):
            names_by_day.setdefault(day, []).append(name)
        rows += [(day.isoformat(), year, " / ".join(names)) for day, names in sorted(names_by_day.items())]
    with OUTPUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["holiday_date", "holiday_year", "holiday_names"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
