"""The year of a date the text leaves it out of: from the publication date, a weekday, or
the text's latest year (see :func:`resolve`), for :mod:`worker.enrich.dates`; and the
ISO 8601 value a found date is written as (:func:`iso_value`).

Years are kept to 1900-2100. Pure functions of small values, memoized where a news stream
repeats the same few dates.
"""

from __future__ import annotations

import datetime
from functools import lru_cache

__all__ = ["MAX_YEAR", "MIN_YEAR", "Found", "iso_value", "resolve", "valid"]

MIN_YEAR, MAX_YEAR = 1900, 2100
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# A found date: [start, end, year, month, day, weekday] in text offsets; 0 (-1 for the
# weekday) where unknown or absent. Plain lists: the hot path makes a few per article.
Found = list[int]


@lru_cache(maxsize=4096)
def iso_value(year: int, month: int, day: int) -> tuple[str, str]:
    """The ISO 8601 value and granularity; a missing year as in XSD's gMonthDay
    (``--12-14``) and gMonth (``--12``)."""
    if not year:
        return (f"--{month:02d}-{day:02d}", "day") if day else (f"--{month:02d}", "month")
    if not month:
        return f"{year:04d}", "year"
    if not day:
        return f"{year:04d}-{month:02d}", "month"
    return f"{year:04d}-{month:02d}-{day:02d}", "day"


def valid(year: int, month: int, day: int) -> bool:
    """Whether the day exists in the month (in any year when ``year`` is 0)."""
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month]:
        return False
    if not year:
        return True
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return MIN_YEAR <= year <= MAX_YEAR and (leap or month != 2 or day != 29)


@lru_cache(maxsize=4096)
def _nearest_year(month: int, day: int, weekday: int, ref: datetime.date) -> int:
    """The year (ref's, the one before or the one after) that puts the date nearest ``ref``,
    preferring one where a stated weekday agrees; ties go to the past. 0 if none fits."""
    best: tuple[bool, int] | None = None
    best_year = 0
    for year in (ref.year - 1, ref.year, ref.year + 1):  # the past first: ties stay there
        if not MIN_YEAR <= year <= MAX_YEAR:
            continue  # also keeps datetime.date from year 0 (published_at 0001-01-01)
        if not day:
            key = (False, abs(year * 12 + month - ref.year * 12 - ref.month))
        elif not valid(year, month, day):
            continue
        else:
            date = datetime.date(year, month, day)
            key = (weekday >= 0 and date.weekday() != weekday, abs((date - ref).days))
        if best is None or key < best:
            best, best_year = key, year
    return best_year


@lru_cache(maxsize=4096)
def _weekday_year(month: int, day: int, weekday: int, anchor: int, later: bool) -> int:
    """The year nearest ``anchor`` in which the day falls on ``weekday`` (0 if none); of two
    as near, the later one when ``later``, else the earlier one."""
    step = 1 if later else -1
    for delta in range(29):  # the calendar repeats within 28 years, 29 February included
        for year in (anchor + step * delta, anchor - step * delta) if delta else (anchor,):
            if (
                MIN_YEAR <= year <= MAX_YEAR  # _valid takes year 0 for "any year"
                and valid(year, month, day)
                and datetime.date(year, month, day).weekday() == weekday
            ):
                return year
    return 0


def resolve(
    yearless: list[Found],
    explicit: list[int],
    published: datetime.date | None,
    today: datetime.date | None,
) -> None:
    """Set the year of each date in ``yearless`` in place (left 0 when none fits)."""
    ref = published
    pending = yearless
    if ref is None:
        if explicit:
            anchor, later = max(explicit), True
        else:
            anchor, later = (today or datetime.date.today()).year, False
        anchored: list[datetime.date] = []
        pending = []
        for f in yearless:
            if f[4] and f[5] >= 0:
                f[2] = _weekday_year(f[3], f[4], f[5], anchor, later)
            if f[2]:
                anchored.append(datetime.date(f[2], f[3], f[4]))
            else:
                pending.append(f)
        if anchored:
            ref = max(anchored)  # the latest weekday-checked day stands in for publication
        elif explicit:
            top = max(explicit)  # no day to measure from: the text's latest year, as is
            for f in pending:
                f[2] = top if not f[4] or valid(top, f[3], f[4]) else 0
            return
    if ref is not None:
        for f in pending:
            f[2] = _nearest_year(f[3], f[4], f[5], ref)
