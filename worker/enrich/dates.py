"""Calendar dates in Hindi, Marathi, Nepali, Urdu, Bengali and English news text.

Only explicit forms are reported: a month name (alone, with a day, with a year), a day
and month led or followed by a weekday, ISO ``2025-03-03``, day-first ``03/03/2025``, and
a year next to a word that makes it one (``साल 2022``, ``2022 में``, ``in 2022``). Ordinary
words are never dates; month words that are also other words (``मार्च`` a protest march,
English ``May``, Marathi ``मे``) count only with a day or a year.

A day may carry a time of day and its zone (``July 2, 2018, 9:03 AM IST``, granularity
``minute``; see :mod:`worker.enrich.times`); a time alone is neither a date nor a number.

A yearless date takes its year from the publication date; else from a weekday, which
agrees with only some years; else from the largest explicit year in the text
(:mod:`worker.enrich.years`). With none of these it stays yearless (``--12-14``), so the
output does not depend on the clock unless a weekday is the only clue (see
:func:`extract_dates`). :func:`parse_timestamp` reads an ``Updated:`` line.

The text is scanned once by one compiled regex (see "the scanner" below for why it has
this shape), up to ``MAX_PLACES`` matches, recording where numbers may start in the
:class:`~worker.enrich.scanning.Scan` for :mod:`worker.enrich.numbers`. Word boundaries
are explicit lookarounds over letters, digits and combining marks, since ``\\b`` does not
hold for Devanagari.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from itertools import islice
from typing import Any

from worker.enrich.lexicon import fold
from worker.enrich.scanning import (
    DIGITS,
    FOLLOWS_DIGIT,
    MAX_PLACES,
    Scan,
    cased,
    gated_pattern,
    keyword_pattern,
    spellings,
)
from worker.enrich.times import AMPM, TIME, time_of_day
from worker.enrich.tokens import WORD_CHARS
from worker.enrich.years import MAX_YEAR, MIN_YEAR, Found, iso_value, resolve, valid

__all__ = ["DateMention", "extract_dates", "find_dates", "number_starts", "parse_timestamp"]


@dataclass(frozen=True, slots=True)
class DateMention:
    """One date in a text.

    Attributes:
        text: the exact span, with a leading or trailing weekday and its parentheses when
            present (``"शनिवार (9 नवंबर)"``); for a cued year, only the year's digits.
        value: ``"YYYY-MM-DD"``, ``"YYYY-MM"`` or ``"YYYY"``, as ``granularity`` says.
        granularity: ``"day"``, ``"month"`` or ``"year"``.
        start, end: ``text == source[start:end]``.
    """

    text: str
    value: str
    granularity: str
    start: int
    end: int


# --- vocabulary ----------------------------------------------------------------------------

# One line per month (then weekday): Hindi, Marathi, Nepali, Urdu, Bengali, English.
_MONTHS = tuple(
    line.split()
    for line in (
        "जनवरी जानेवारी جنوری জানুয়ারি জানুয়ারী January Jan",
        "फ़रवरी फेब्रुवारी फेब्रुअरी فروری ফেব্রুয়ারি ফেব্রুয়ারী February Feb",
        "मार्च مارچ মার্চ March Mar",
        "अप्रैल अप्रेल एप्रिल अप्रिल اپریل এপ্রিল April Apr",
        "मई मे مئی মে May",
        "जून जुन جون জুন June Jun",
        "जुलाई जुलै جولائی জুলাই July Jul",
        "अगस्त ऑगस्ट अगस्ट اگست আগস্ট আগষ্ট অগাস্ট August Aug",
        "सितंबर सितम्बर सप्टेंबर सेप्टेम्बर ستمبر সেপ্টেম্বর September Sept Sep",
        "अक्टूबर अक्तूबर ऑक्टोबर अक्टोबर اکتوبر অক্টোবর October Oct",
        "नवंबर नवम्बर नोव्हेंबर नोभेम्बर نومبر নভেম্বর November Nov",
        "दिसंबर दिसम्बर डिसेंबर डिसेम्बर دسمبر ডিসেম্বর December Dec",
    )
)
# Monday first, as datetime.date.weekday() counts.
_WEEKDAYS = tuple(
    line.split()
    for line in (
        "सोमवार सोमबार پیر سوموار সোমবার Monday Mon",
        "मंगलवार मंगळवार मङ्गलबार मंगलबार منگل মঙ্গলবার Tuesday Tues Tue",
        "बुधवार बुधबार بدھ বুধবার Wednesday Wed",
        "गुरुवार बृहस्पतिवार वीरवार बिहीबार جمعرات বৃহস্পতিবার Thursday Thurs Thur Thu",
        "शुक्रवार शुक्रबार جمعہ جمعے শুক্রবার Friday Fri",
        "शनिवार शनिबार ہفتہ ہفتے শনিবার Saturday Sat",
        "रविवार इतवार आइतबार اتوار রবিবার Sunday Sun",
    )
)
# Words before a 4-digit number that make it a year, and words after it. Not Hindi का/के
# ("2000 के नोट" are banknotes), not से ("2000 से अधिक" is "more than 2000").
_CUES_BEFORE = "साल सन् सन वर्ष سال سن সাল in In since Since year Year until Until till".split()
_CUES_AFTER = "में मध्ये साली میں সালে সালের সাল".split()
# Month words that are also ordinary words: dates only with a day or a year. English
# abbreviations are never taken alone either.
_ABBREVIATIONS = "May March Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec".split()
_NOT_ALONE = frozenset(map(fold, "मार्च مارچ মার্চ मे মে जुन".split() + _ABBREVIATIONS))
# Marathi/Nepali मे is also Hindi में with the anusvara dropped, a common slip ("5 मे से
# 3"): it counts only with a year.
_NEEDS_YEAR = frozenset({fold("मे")})
_KEYWORDS = cased(w for words in (*_MONTHS, *_WEEKDAYS) for w in words)
# folded keyword -> (is a month, month 1-12 or weekday 0-6, may stand alone, needs a year)
_Keyword = tuple[bool, int, bool, bool]
_KEYWORD_OF: dict[str, _Keyword] = {
    **{fold(w): (False, n, False, False) for n, ws in enumerate(_WEEKDAYS) for w in cased(ws)},
    **{
        k: (True, n, k not in _NOT_ALONE, k in _NEEDS_YEAR)
        for n, ws in enumerate(_MONTHS, 1)
        for k in map(fold, cased(ws))
    },
}
# The spellings as listed, so that the usual match needs no folding. An English month in
# lower case is not taken alone ("june" is a word more often than a month).
_EXACT_OF: dict[str, _Keyword] = {
    unicodedata.normalize("NFC", w): (m, n, alone and not (w.isascii() and w.islower()), y)
    for w in _KEYWORDS
    for m, n, alone, y in [_KEYWORD_OF[fold(w)]]
}

# --- the scanner -----------------------------------------------------------------------------
#
# Speed drives the shape. The engine skips fast only to a literal first character, so the
# scan runs over a copy of the text (scanning.scan_copy) with spaces around it and line
# breaks, "(" and opening quotes as spaces: every date starts right after a space. A two-class
# lookahead drops most words, and one alternation whose branches each begin with a literal
# or a class rejects the rest in a few comparisons: a digit, the first letter of a
# Devanagari keyword, or a gate for the keywords of another script. In the scan copy, "("
# is a second space: "शनिवार (9 नवंबर)" reads "शनिवार  9 नवंबर)".

_W = WORD_CHARS
_D = f"[{DIGITS}]"
_END = f"(?![{_W}])"
_NUM_END = f"(?![{_W}]|[.,]{_D})"  # no letter, mark or digit, no decimal or group goes on
_ORD = "(?:st|nd|rd|th)?"
_DOT = f"(?:(?<=[A-Za-z])\\.(?=,? {_D}))?"  # "Nov. 9": the dot only if more date follows
_MONTH = keyword_pattern(w for ws in _MONTHS for w in ws)
_WEEKDAY = keyword_pattern(w for ws in _WEEKDAYS for w in ws)
_YEAR = f"{_D}{{4}}{_NUM_END}"
# One lookbehind per cue word (each of fixed width), checked at the year's first digit.
_CUE_BEHIND = "|".join(f"(?<=(?<![{_W}]){re.escape(c)} {_D})" for c in sorted(set(_CUES_BEFORE)))
_DIGIT_LED = (  # the first digit is outside the groups, so that the branch starts with a class
    f"{_D}(?:(?P<iy>{_D}{{3}})-(?P<im>{_D}{_D})-(?P<id>{_D}{_D})(?:(?=T{_D})|(?![{_W}]|[-/.]{_D}))"
    f"|(?P<nd>{_D}?)(?P<ns>[-/.])(?P<nm>{_D}{_D}?)(?P=ns)(?P<ny>{_D}{{4}})(?![{_W}]|[-/.]{_D})"
    f"|(?P<dd>{_D}?){_ORD}{_NUM_END} (?:of )?(?P<dm>{_MONTH}){_END}{_DOT}(?:[,،]? (?P<dy>{_YEAR}))?"
    f"(?:(?:(?P<twp>  ?)|[,،] )(?P<tw>{_WEEKDAY})(?(twp)\\)|{_END}))?"
    f"|(?:{_CUE_BEHIND})(?P<yb>{_D}{{3}}){_NUM_END}"
    f"|(?P<ya>{_D}{{3}}){_NUM_END}(?= {keyword_pattern(_CUES_AFTER)}{_END})(?! मे[ंँ] से)"
    # A time without a date ("9:03 AM", "9.03 am", "5 बजे"): neither a date nor a number.
    f"|(?P<tt>{_D}?)(?:[:.]{_D}{_D}(?::{_D}{_D})?)?(?: ?{AMPM}| बजे{_END})"
    # Any other digit after a space: where a number may start (Scan.number_starts).
    "|(?P<nx>))(?P<dg>)"
)
# After a weekday or month word: a weekday's date, day first ("शनिवार (9 नवंबर)", its
# parenthesis closed) or month first ("Saturday, March 3, 2025"); or a month's day or year.
_KEYWORD_REST = (
    f"(?:(?<=[A-Za-z])\\.)?(?:(?:(?P<wp>  ?)|[,،]? )(?P<d>{_D}{_D}?){_ORD}{_NUM_END} (?:of )?"
    f"(?P<m>{_MONTH}){_END}{_DOT}(?:[,،]? (?P<y>{_YEAR}))?(?(wp) ?\\))"
    f"|[,،]? (?P<m3>{_MONTH}){_END}{_DOT} (?P<d3>{_D}{_D}?){_ORD}{_NUM_END}"
    f"(?:[,،]? (?P<y3>{_YEAR}))?"
    f"| (?P<d2>{_D}{_D}?){_ORD}{_NUM_END}(?:[,،]? (?P<y2>{_YEAR}))?|[,،]? (?P<y4>{_YEAR}))"
)
# The scan filter: the first two characters of a keyword (in any spelling) ...
_FIRSTS = {c for w in _KEYWORDS for c in spellings(w[0])}
_SECONDS = {c for w in _KEYWORDS for c in spellings(fold(w)[1])}
# ... or what may follow a date's first digit: a digit (in the class), a space or
# punctuation (the same rule as for numbers), an ordinal suffix.
_SECONDS |= {c.upper() for c in _SECONDS} | set("\u093c\u09bc\u0901\u0902snrt" + FOLLOWS_DIGIT)
_FILTER = "".join(f"[{DIGITS}{re.escape(''.join(sorted(cs)))}]" for cs in (_FIRSTS, _SECONDS))
_SCAN = re.compile(
    f" (?={_FILTER})(?:{_DIGIT_LED}|{gated_pattern(_KEYWORDS)})"
    f"(?(dg)|(?P<ke>){_END}{_KEYWORD_REST}?)"
)


def _groups(names: str) -> list[int]:
    """Indexes into Match.groups() (one tuple beats one call per group in the hot path)."""
    return [_SCAN.groupindex[name] - 1 for name in names.split()]


_IY, _IM, _ID, _ND, _NM, _NY, _DD, _DM, _DY = _groups("iy im id nd nm ny dd dm dy")
_TWP, _TW, _YB, _YA, _KE, _DAY, _MON, _YR = _groups("twp tw yb ya ke d m y")
_M3, _D3, _Y3, _D2, _Y2, _Y4, _NX, _TT = _groups("m3 d3 y3 d2 y2 y4 nx tt")
# The groups that start with a digit after a space (besides a digit-led date's first).
_SPACED_DIGITS = [i + 1 for i in _groups("dy d y d3 y3 d2 y2 y4")]


def _keyword(word: str) -> _Keyword | None:
    """What a matched keyword is; None for a look-alike let through by a script gate."""
    found = _EXACT_OF.get(word)
    return found if found is not None else _KEYWORD_OF.get(fold(word))


def _day(
    span: tuple[int, int], day: str, word: str, year: str | None, weekday: int
) -> Found | None:
    """A day-month(-year) date; None when the month word is not one or the date is invalid."""
    kind = _keyword(word)
    if kind is None or not kind[0] or (year is None and kind[3]):
        return None
    y = int(year) if year is not None else 0
    if not valid(y, kind[1], int(day)):
        return None
    return [span[0], span[1], y, kind[1], int(day), weekday]


def _parse(m: re.Match[str], g: tuple[str | Any, ...], text: str) -> Found | None:
    """Turn one match on the scan copy (``g``: its groups) into a validated date in text
    offsets, or None."""
    start, end = m.start(), m.end() - 1  # the scan copy has one leading space more
    first = text[start]  # a digit-led date's first digit, outside the groups
    if g[_IY] is not None:
        iso = (int(first + g[_IY]), int(g[_IM]), int(g[_ID]))
        return [start, end, *iso, -1] if valid(*iso) else None
    if g[_NY] is not None:
        dmy = (int(g[_NY]), int(g[_NM]), int(first + g[_ND]))
        return [start, end, *dmy, -1] if valid(*dmy) else None
    if g[_DM] is not None:
        weekday, word = -1, g[_TW]
        if word is not None:
            kind = _keyword(word)
            # "(शनिवार)" needs its "(" in the text; ", शनिवार" is matched as such.
            paren = g[_TWP] is None or text[m.start("tw") - 2] == "("
            if kind is not None and not kind[0] and paren:
                weekday = kind[1]
            else:
                end = m.end("dy" if g[_DY] is not None else "dm") - 1
        return _day((start, end), first + g[_DD], g[_DM], g[_DY], weekday)
    cued = g[_YB] or g[_YA]
    if cued is not None:
        year = int(first + cued)
        return [start, end, year, 0, 0, -1] if MIN_YEAR <= year <= MAX_YEAR else None
    word = text[start : m.start("ke") - 1]
    kind = _keyword(word)
    if g[_DAY] is not None:  # a weekday's date, day first
        date_span = (m.start("d") - 1, m.end("y" if g[_YR] is not None else "m") - 1)
        if kind is not None and not kind[0]:
            if text.startswith(")", end) and text[start:end].count("(") == 1:
                end += 1  # "शनिवार(9 नवंबर)": one space in the copy, so ")" was not taken
            return _day((start, end), g[_DAY], g[_MON], g[_YR], kind[1])
        return _day(date_span, g[_DAY], g[_MON], g[_YR], -1)  # after a non-weekday: alone
    if g[_D3] is not None:  # a weekday's date, month first
        if kind is not None and not kind[0]:
            return _day((start, end), g[_D3], g[_M3], g[_Y3], kind[1])
        return _day((m.start("m3") - 1, end), g[_D3], g[_M3], g[_Y3], -1)
    if kind is None or not kind[0]:
        return None  # a weekday alone, or followed by a bare number
    if g[_D2] is not None:
        return _day((start, end), g[_D2], word, g[_Y2], -1)
    if g[_Y4] is not None:
        year = int(g[_Y4])
        return [start, end, year, kind[1], 0, -1] if MIN_YEAR <= year <= MAX_YEAR else None
    return [start, end, 0, kind[1], 0, -1] if kind[2] else None


def _scan(scan: Scan) -> tuple[list[Found], dict[int, str]]:
    """The dates of ``scan`` (years not resolved yet) and the times that follow them, by the
    date's start; records ``scan.number_starts``."""
    text, copy = scan.text, scan.copy
    found: list[Found] = []
    times: dict[int, str] = {}
    starts: list[int] = []
    skip = 0  # the end of a date's time: matches before it are inside that time
    # At most MAX_PLACES matches (dates and digits), so that a text that is all dates or
    # digits costs a bounded time; the number scan then stops at the same place.
    for m in islice(_SCAN.finditer(copy), MAX_PLACES):
        if skip and m.start() < skip:
            continue
        g = m.groups()
        if g[_NX] is not None:
            starts.append(m.start())  # a digit that starts no date
            continue
        if g[_TT] is not None:
            continue  # a time alone: no date, no number
        if m.end() != m.end("ke"):  # digits in the span, for numbers if the date is dropped
            if g[_KE] is None:
                starts.append(m.start())
            for i in _SPACED_DIGITS:
                if g[i - 1] is not None:
                    starts.append(m.start(i) - 1)
        f = _parse(m, g, text)
        if f is None:
            continue
        found.append(f)
        if f[4] and f[1] == m.end() - 1:  # a day, ending where the match does
            t = TIME.match(copy, m.end())
            if t is not None and (value := time_of_day(t)) is not None:
                times[f[0]] = value
                f[1] = skip = t.end() - 1
    scan.number_starts = tuple(starts)
    return found, times


def extract_dates(
    text: str | Scan,
    published: datetime.date | None = None,
    *,
    today: datetime.date | None = None,
) -> list[DateMention]:
    """Find the dates in ``text``, in text order and non-overlapping.

    Args:
        text: normalized text (NFC, spaces collapsed, paragraphs split by blank lines), or
            its :class:`~worker.enrich.scanning.Scan`, which then also records where
            numbers may start for :func:`~worker.enrich.numbers.extract_numbers`.
        published: the publication date. A day or month without a year is placed in the
            year (published's, the one before or the one after) that puts it nearest to
            this date, preferring a year in which a stated weekday agrees; ties go to the
            past.
        today: used only when ``published`` is None and weekday-led dates are the only
            clue to the year (no explicit year in the text): the agreeing year nearest to
            ``today`` (default: the system date) is taken, the earlier one on a tie.

    Without ``published``, a yearless date with a weekday takes the year, among those in
    which the weekday agrees, nearest the largest explicit year in the text (the later one
    on a tie), else nearest ``today``; the latest such date then stands in for
    ``published`` for the other yearless dates. With no weekday-checked date, yearless
    dates take the largest explicit year in the text. With no year at all a date stays
    yearless: ``--MM-DD`` (granularity ``day``) or ``--MM`` (``month``), as XSD's
    gMonthDay and gMonth write it. An explicit year wins over a weekday that disagrees.

    A day followed by a time of day (``July 2, 2018, 9:03 AM IST``, ``2018-07-02T09:03``,
    ``2 जुलाई को सुबह 9:03 बजे``) is one date, its span taking in the time, with
    granularity ``minute`` and value ``YYYY-MM-DDTHH:MM`` plus the offset when a zone is
    given (IST ``+05:30``, GMT/UTC/Z ``+00:00``, PKT, NPT or a numeric ``+05:30``); without
    a zone the time is local and has no offset. Seconds are dropped. A yearless day keeps
    its ``--MM-DD`` value without the time.
    """
    scan = text if isinstance(text, Scan) else Scan(text)
    return [DateMention(*d) for d in find_dates(scan, published, today=today)]


def find_dates(
    scan: Scan, published: datetime.date | None = None, *, today: datetime.date | None = None
) -> list[tuple[str, str, str, int, int]]:
    """:func:`extract_dates` as ``(text, value, granularity, start, end)`` tuples, for the
    pipeline (which needs no :class:`DateMention` objects, only their fields)."""
    found, times = _scan(scan)
    yearless = [f for f in found if not f[2]]
    if yearless:
        resolve(yearless, [f[2] for f in found if f[2]], published, today)
    source = scan.text
    out: list[tuple[str, str, str, int, int]] = []
    for start, end, year, month, day, _ in found:
        value, granularity = iso_value(year, month, day)
        if year and start in times:
            value, granularity = value + times[start], "minute"
        out.append((source[start:end], value, granularity, start, end))
    return out


def number_starts(scan: Scan) -> tuple[int, ...]:
    """Where numbers may start in ``scan`` (see :attr:`Scan.number_starts`), scanning it
    for dates first if that has not been done."""
    if scan.number_starts is None:
        _scan(scan)
    assert scan.number_starts is not None  # noqa: S101 - _scan sets it
    return scan.number_starts


def parse_timestamp(text: str, reference: datetime.date | None = None) -> str | None:
    """The moment a timestamp line gives (the rest of an ``Updated:`` or ``Published:``
    line, or the whole line), written as ``published_at`` is (``datetime.isoformat()``):
    ``"2018-07-02T09:03:00+05:30"`` for a day with a time and zone, ``"2018-07-02T09:03:00"``
    for a local time (no zone given), ``"2018-07-02"`` for a day alone. None when the first
    date of the line is no day, or its year is unknown.

    ``reference`` places a yearless day as ``published`` does in :func:`extract_dates`;
    without it a yearless day gives None, so the result never depends on the clock.
    """
    found, times = _scan(Scan(text))
    if not found or not found[0][4]:
        return None
    first = found[0]
    if not first[2] and reference is not None:
        resolve([first], [], reference, None)
    if not first[2]:
        return None
    value = iso_value(*first[2:5])[0]
    time = times.get(first[0])
    return value if time is None else f"{value}{time[:6]}:00{time[6:]}"
