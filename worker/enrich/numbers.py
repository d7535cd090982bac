"""Quantities in Hindi, Marathi, Nepali, Urdu, Bengali and English news text.

A number is digits in any script (``11,000``, ``११,०००``, ``২৫``), with Western
(``1,250,000``) or Indian (``1,25,000``) grouping and decimals, optionally followed by
multiplier words (``2.5 करोड़``, ``1 lakh crore``), a percent sign or word, or a currency
word, and optionally led by a currency sign (``₹5 लाख``, ``Rs 3 crore``). Its unit is the
currency, ``percent``, or the noun right after it (``11,000 सैनिक``) unless that word is a
postposition or other function word.

A number glued to a word or to another number (``COVID-19``, ``G20``, ``5G``, ``2022-23``,
``10:30``, URL paths, ISO dates) is part of a token, not a quantity, and is not reported;
so are ranges such as ``5-6``. Like :mod:`worker.enrich.dates`, the scan starts only after
a space of a copy of the text, which gives the engine a literal to skip to and gives the
left word boundary for free.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate

from worker.enrich.dates import (
    DIGITS,
    FOLLOWS_DIGIT,
    fold,
    keyword_pattern,
    number_starts,
    scan_copy,
)
from worker.enrich.tokens import WORD_CHARS

__all__ = ["NumberMention", "extract_numbers"]


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


def _cased(words: str) -> list[str]:
    out: list[str] = []
    for word in words.split():
        out.extend({word, word.capitalize(), word.upper()} if word.isascii() else {word})
    return out


_MULTIPLIER_WORDS = {
    1000: "thousand हजार हज़ार ہزار হাজার",
    100_000: "lakh lakhs lac lacs लाख لاکھ লাখ লক্ষ",
    1_000_000: "million millions mn मिलियन ملین মিলিয়ন",
    10_000_000: "crore crores cr करोड़ करोड कोटी کروڑ কোটি",
    1_000_000_000: "billion billions bn बिलियन अरब अब्ज अर्ब ارب বিলিয়ন",
    100_000_000_000: "खरब",
    1_000_000_000_000: "trillion trillions ट्रिलियन",
}
_MULTIPLIER = {fold(w): n for n, words in _MULTIPLIER_WORDS.items() for w in _cased(words)}
# Rupees are INR: the worker's sources are Indian (Urdu روپے and Bengali টাকা included).
_CURRENCY_WORDS = {
    "INR": "rupee rupees INR रुपये रुपए रुपया रुपयों रुपयांचा روپے روپیہ روپئے টাকা রুপি",
    "USD": "dollar dollars USD डॉलर डालर ڈالر ডলার",
    "NPR": "रुपैयाँ रुपैंया",
}
_CURRENCY = {fold(w): code for code, words in _CURRENCY_WORDS.items() for w in _cased(words)}
_CURRENCY_SIGNS = {"₹": "INR", "rs": "INR", "rs.": "INR", "inr": "INR", "रु": "INR",
                   "रु.": "INR", "रू": "INR", "रू.": "INR", "$": "USD", "us$": "USD"}
_PERCENT_WORDS = [*_cased("percent प्रतिशत फ़ीसदी फ़ीसद टक्के टक्का শতাংশ فیصد"), "per cent",
                  "Per cent", "PER CENT"]
# Words after a number that are grammar, not what is counted; with their case and
# chandrabindu variants, so that the usual word needs no folding.
_FUNCTION_WORDS = frozenset(v for w in (
    "में से को का की के ने और तक पर है हैं था थी थे भी ही या व एवं तथा लिए प्रति "
    "मध्ये ला चा ची चे च्या आणि ते वर पर्यंत हून "
    "मा ले र देखि सम्म लाई "
    "میں سے کو کا کی کے نے اور تک پر ہے ہیں یا "
    "এবং ও থেকে পর্যন্ত এর "
    "in of to and the a an at on for from by or is are was were with as than per into "
    "over since till until between this that be has have had will would after before "
    "it its"
).split() for v in (w, w.capitalize(), w.upper(), w.replace("\u0902", "\u0901")))

_W = WORD_CHARS
_D = f"[{DIGITS}]"
_NUMBER = (
    # Western 1,250,000 | Indian 1,25,000 and 11,00,000 | plain; then decimals.
    # The first digit must be followed as extract_dates expects (see number_starts).
    f"{_D}(?=[{DIGITS}{re.escape(FOLLOWS_DIGIT)}])"
    f"(?:{_D}?{_D}?(?:,{_D}{{3}})+|{_D}?(?:,{_D}{_D})+,{_D}{{3}}|{_D}*)(?:\\.{_D}+)?"
    # Not glued to a letter, a digit group, a range, a time or a path.
    f"(?![{_W}]|[.,]{_D}|[-/:][{_W}])"
)
_MULTIPLIER_RE = keyword_pattern(_cased(" ".join(_MULTIPLIER_WORDS.values())))
# Every number starts at a digit after a space of the scan copy (currency signs are spaces
# there), so the engine skips from space to space with one class test at each.
_SCAN = re.compile(
    f" (?P<num>{_NUMBER})"
    # "1.5 lakh crore" is 1.5e12: up to two multiplier words.
    f"(?: (?P<x1>{_MULTIPLIER_RE})(?![{_W}])(?: (?P<x2>{_MULTIPLIER_RE})(?![{_W}]))?)?"
    f"(?: ?(?P<pc>%)| (?P<pw>{keyword_pattern(_PERCENT_WORDS)})(?![{_W}])"
    f"| (?P<cw>{keyword_pattern(_cased(' '.join(_CURRENCY_WORDS.values())))})(?![{_W}]))?"
)
# A currency sign or abbreviation right before the number, read back from the text.
_SIGN_BEFORE = re.compile(f"(?<![{_W}])(?:₹|US\\$|\\$|R[Ss]\\.?|INR|रु\\.?|रू\\.?) ?$")
_NEXT_WORD = re.compile(f" ((?:(?![\\d_])[{_W}])+)(?![{_W}])")


def _value(number: str, x1: str | None, x2: str | None) -> int | float:
    """The number's value times its multiplier words (int() reads digits of any script)."""
    digits = number.replace(",", "") if "," in number else number
    if x1 is None and "." not in digits:
        return int(digits)
    whole, _, fraction = digits.partition(".")
    scale = 1
    for word in (x1, x2):
        if word is not None:
            scale *= _MULTIPLIER.get(fold(word), 1)
    if not fraction:
        return int(whole) * scale
    # Decimal keeps 2.3 crore at 23000000 where float arithmetic gives 22999999.999999996.
    exact = (Decimal(int(whole)) + Decimal(int(fraction)).scaleb(-len(fraction))) * scale
    return int(exact) if exact == exact.to_integral_value() else float(exact)


def extract_numbers(
    text: str, exclude: Sequence[tuple[int, int]] = ()
) -> list[NumberMention]:
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
    if places is None:
        matches: Iterable[re.Match[str] | None] = _SCAN.finditer(scan)
    else:  # extract_dates already met every digit after a space: try only those
        matches = (_SCAN.match(scan, p) for p in places)
    for m in matches:
        if m is None:
            continue
        start, end = m.start(), m.end() - 1  # the scan copy has one leading space more
        number, x1, x2, pc, pw, cw = m.groups()
        sign = None
        # A sign ends right before the digits or one space before them; test cheaply first.
        before = text[start - 2:start] if start > 1 else text[:start]
        if before and (before[-1] in "₹$." or (before[-1] == " " and before[:1] in "sSR$.₹ुू")):
            sign = _SIGN_BEFORE.search(text, max(0, start - 5), start)
            if sign is not None:
                start = sign.start()
        i = bisect_left(starts, end) - 1  # the last excluded span starting before the end
        if i >= 0 and reach[i] > start:
            continue
        unit: str | None
        if pc is not None or pw is not None:
            unit = "percent"
        elif sign is not None:
            unit = _CURRENCY_SIGNS[sign.group().rstrip(" ").lower()]
        elif cw is not None:
            unit = _CURRENCY[fold(cw)]
        else:
            after = _NEXT_WORD.match(text, end)
            unit = after.group(1) if after is not None else None
            if unit in _FUNCTION_WORDS:
                unit = None
        out.append(NumberMention(text[start:end], _value(number, x1, x2), unit, start, end))
    return out
