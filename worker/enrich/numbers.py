"""Quantities in Hindi, Marathi, Nepali, Urdu, Bengali and English news text.

A number is digits in any script (``11,000``, ``११,०००``, ``২৫``), with Western
(``1,250,000``) or Indian (``1,25,000``) grouping and decimals, optionally followed by
multiplier words (``2.5 करोड़``, ``1 lakh crore``), a percent sign or word, or a currency
word, and optionally led by a currency sign (``₹5 लाख``, ``Rs 3 crore``). Its unit is the
currency, ``percent``, or the noun right after it (``11,000 सैनिक``) unless that word is a
postposition or other function word.

A number glued to a word or to another number (``COVID-19``, ``G20``, ``5G``, ``2022-23``,
``10:30``, URL paths, ISO dates) is part of a token, not a quantity, and is not reported;
neither are ranges such as ``5-6``. Nor is a number of more than 18 digits before the
point: that is an identifier, a phone list or a digit string, never a count in news, and
its value would not fit the 64-bit integers JSON consumers read. Digits after the 30th
decimal place are not read (a float keeps 17 significant digits anyway).

What this scanner shares with :mod:`worker.enrich.dates` (keyword patterns, the scan
copy, the places where numbers may start) is in :mod:`worker.enrich.scanning`; the names
are also importable from here. At most :data:`~worker.enrich.scanning.MAX_PLACES` places
of a text are looked at.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate, islice

from worker.enrich.scanning import (
    DIGITS,
    FOLLOWS_DIGIT,
    MAX_PLACES,
    cased,
    fold,
    gated_pattern,
    keyword_pattern,
    number_starts,
    remember_number_starts,
    scan_copy,
    spellings,
)
from worker.enrich.tokens import WORD_CHARS

__all__ = [
    "DIGITS",
    "FOLLOWS_DIGIT",
    "NumberMention",
    "cased",
    "extract_numbers",
    "fold",
    "gated_pattern",
    "keyword_pattern",
    "remember_number_starts",
    "scan_copy",
    "spellings",
]


@dataclass(frozen=True, slots=True)
class NumberMention:
    """One quantity in a text.

    Attributes:
        text: the exact span: currency sign, digits, multiplier words and a percent or
            currency word when present (``"₹5 लाख"``, ``"2.5 करोड़"``, ``"5%"``); not the
            unit noun.
        value: the number times its multipliers; an ``int`` when integral.
        unit: ``"INR"``, ``"USD"`` or ``"NPR"`` for a currency sign or word, ``"percent"``,
            else the word right after the number (``"सैनिक"``); None when punctuation, the
            end of the text or a function word (``में``, ``of``) follows.
        start, end: ``text == source[start:end]``.
    """

    text: str
    value: int | float
    unit: str | None
    start: int
    end: int


_MULTIPLIER_WORDS = {
    1000: "thousand हजार हज़ार ہزار হাজার",
    100_000: "lakh lakhs lac lacs लाख لاکھ লাখ লক্ষ",
    1_000_000: "million millions mn मिलियन ملین মিলিয়ন",
    10_000_000: "crore crores cr करोड़ करोड कोटी کروڑ কোটি",
    1_000_000_000: "billion billions bn बिलियन अरब अब्ज अर्ब ارب বিলিয়ন",
    100_000_000_000: "खरब",
    1_000_000_000_000: "trillion trillions ट्रिलियन",
}
_MULTIPLIER = {fold(w): n for n, words in _MULTIPLIER_WORDS.items() for w in words.split()}
# Rupees are INR: the worker's sources are Indian (Urdu روپے and Bengali টাকা included).
_CURRENCY_WORDS = {
    "INR": "rupee rupees INR रुपये रुपए रुपया रुपयों रुपयांचा روپے روپیہ روپئے টাকা রুপি",
    "USD": "dollar dollars USD डॉलर डालर ڈالر ডলার",
    "NPR": "रुपैयाँ रुपैंया",
}
_CURRENCY = {fold(w): code for code, words in _CURRENCY_WORDS.items() for w in words.split()}
# Signs read back from before the number, lower-cased, with their currency.
_CURRENCY_SIGNS = dict.fromkeys("₹ rs rs. inr रु रु. रू रू.".split(), "INR") | {
    "$": "USD",
    "us$": "USD",
}
_PERCENT_WORDS = [*"percent प्रतिशत फ़ीसदी फ़ीसद टक्के टक्का শতাংশ فیصد".split(), "per cent"]
# Words after a number that are grammar, not what is counted; with their case and
# chandrabindu variants, so that the usual word needs no folding.
_FUNCTION_WORDS = frozenset(
    v
    for w in (
        "में से को का की के ने और तक पर है हैं था थी थे भी ही या व एवं तथा लिए प्रति "
        "मध्ये ला चा ची चे च्या आणि ते वर पर्यंत हून "
        "मा ले र देखि सम्म लाई "
        "میں سے کو کا کی کے نے اور تک پر ہے ہیں یا "
        "এবং ও থেকে পর্যন্ত এর "
        "in of to and the a an at on for from by or is are was were with as than per into "
        "over since till until between this that be has have had will would after before "
        "it its"
    ).split()
    for v in (w, w.capitalize(), w.upper(), w.replace("\u0902", "\u0901"))
)

_W = WORD_CHARS
_D = f"[{DIGITS}]"
_NUMBER = (
    # Digit groups are checked afterwards (_grouped): a loose pattern backtracks less.
    # The first digit must be followed as extract_dates expects (remember_number_starts).
    f"{_D}(?=[{DIGITS}{re.escape(FOLLOWS_DIGIT)}]){_D}*(?:,{_D}{{2,3}})*(?:\\.{_D}+)?"
    # Not glued to a letter, a digit group, a range, a time or a path.
    f"(?![{_W}]|[.,]{_D}|[-/:][{_W}])"
)
_MULTIPLIER_RE = keyword_pattern(" ".join(_MULTIPLIER_WORDS.values()).split())
# The unit word: a run of anything but spaces, digits and punctuation (one class, which
# the engine runs through fast), then the end of a word.
_LETTERS = f"[^\\s\\d_{re.escape(FOLLOWS_DIGIT)}]+"
# Every number starts at a digit after a space of the scan copy (currency signs are spaces
# there), so the engine skips from space to space with one class test at each.
_SCAN = re.compile(
    f" (?P<num>{_NUMBER})"
    # "1.5 lakh crore" is 1.5e12: up to two multiplier words.
    f"(?: (?P<x1>{_MULTIPLIER_RE})(?![{_W}])(?: (?P<x2>{_MULTIPLIER_RE})(?![{_W}]))?)?"
    f"(?: ?(?P<pc>%)| (?P<pw>{keyword_pattern(_PERCENT_WORDS)})(?![{_W}])"
    f"| (?P<cw>{keyword_pattern(' '.join(_CURRENCY_WORDS.values()).split())})(?![{_W}])"
    # else the next word, looked at but not taken: the unit noun
    f"|(?= (?P<unit>{_LETTERS})(?![{_W}])))?"
)
# A currency sign or abbreviation right before the number, read back from the text.
_SIGN_BEFORE = re.compile(f"(?<![{_W}])(?:₹|US\\$|\\$|R[Ss]\\.?|INR|रु\\.?|रू\\.?) ?$")


def _grouped(number: str) -> bool:
    """Whether the digit groups are Western (1,250,000) or Indian (1,25,000, 11,00,000)."""
    groups = number.partition(".")[0].split(",")
    if len(groups[-1]) != 3 or len(groups[0]) > 3:
        return False
    inner = {len(g) for g in groups[1:-1]}
    return inner <= {3} or (inner == {2} and len(groups[0]) <= 2)


# The most digits a reported number has before its point (10**18 - 1 fits in 64 bits),
# and the most decimals read. Longer digit strings also cost int() quadratic time, and
# int() refuses more than 4,300 digits.
MAX_WHOLE_DIGITS = 18
_MAX_DECIMALS = 30
_INT64_MAX = 2**63 - 1


def _too_long(number: str) -> bool:
    whole = number.partition(".")[0]
    return len(whole) - whole.count(",") > MAX_WHOLE_DIGITS


def _value(number: str, x1: str | None, x2: str | None) -> int | float:
    """The number's value times its multiplier words (int() reads digits of any script).

    An integer beyond 64 bits (only multiplier words get there) is given as a float, which
    every JSON consumer can read.
    """
    value = _exact_value(number, x1, x2)
    return float(value) if isinstance(value, int) and abs(value) > _INT64_MAX else value


def _exact_value(number: str, x1: str | None, x2: str | None) -> int | float:
    digits = number.replace(",", "") if "," in number else number
    if x1 is None and "." not in digits:
        return int(digits)
    whole, _, fraction = digits.partition(".")
    fraction = fraction[:_MAX_DECIMALS]
    scale = 1
    for word in (x1, x2):
        if word is not None:
            scale *= _MULTIPLIER.get(fold(word), 1)
    if not fraction:
        return int(whole) * scale
    # Decimal keeps 2.3 crore at 23000000 where float arithmetic gives 22999999.999999996.
    exact = (Decimal(int(whole)) + Decimal(int(fraction)).scaleb(-len(fraction))) * scale
    return int(exact) if exact == exact.to_integral_value() else float(exact)


def extract_numbers(text: str, exclude: Sequence[tuple[int, int]] = ()) -> list[NumberMention]:
    """Find the quantities in ``text``, in text order and non-overlapping.

    Args:
        text: normalized text (NFC, spaces collapsed).
        exclude: ``(start, end)`` spans, such as the dates found in the same text; a
            number overlapping any of them is not reported.
    """
    spans = sorted(exclude)
    starts = [s for s, _ in spans]
    reach = list(accumulate((e for _, e in spans), max))  # furthest end among spans so far
    out: list[NumberMention] = []
    scan = scan_copy(text)
    places = number_starts(text)
    if places is None:  # not scanned for dates: as many places as that scan would take
        matches: Iterable[re.Match[str] | None] = islice(_SCAN.finditer(scan), MAX_PLACES)
    else:  # extract_dates already met every digit after a space: try those outside spans
        matches = (
            _SCAN.match(scan, p)
            for p in places
            if (i := bisect_right(starts, p) - 1) < 0 or reach[i] <= p
        )
    for m in matches:
        if m is None:
            continue
        start, end = m.start(), m.end() - 1  # the scan copy has one leading space more
        number, x1, x2, pc, pw, cw, unit = m.groups()
        if ("," in number and not _grouped(number)) or _too_long(number):
            continue
        sign = None
        # A sign ends right before the digits or one space before them; test cheaply first.
        before = text[start - 2 : start] if start > 1 else text[:start]
        if before and (before[-1] in "₹$." or (before[-1] == " " and before[:1] in "sSR$.₹ुू")):
            sign = _SIGN_BEFORE.search(text, max(0, start - 5), start)
            if sign is not None:
                start = sign.start()
        i = bisect_left(starts, end) - 1  # the last excluded span starting before the end
        if i >= 0 and reach[i] > start:
            continue
        if pc is not None or pw is not None:
            unit = "percent"
        elif sign is not None:
            unit = _CURRENCY_SIGNS[sign.group().rstrip(" ").lower()]
        elif cw is not None:
            unit = _CURRENCY[fold(cw)]
        elif unit is not None and (unit in _FUNCTION_WORDS or text[end] != " "):
            unit = None  # a function word, or not right after a space in the text itself
        out.append(NumberMention(text[start:end], _value(number, x1, x2), unit, start, end))
    return out
