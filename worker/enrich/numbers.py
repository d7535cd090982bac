"""Quantities in Hindi, Marathi, Nepali, Urdu, Bengali and English news text.

A number is digits in any script (``11,000``, ``११,०००``, ``২৫``), with Western
(``1,250,000``) or Indian (``1,25,000``) grouping and decimals, optionally followed by
multiplier words (``2.5 करोड़``, ``1 lakh crore``), a percent sign or word, or a currency
word, and optionally led by a currency sign (``₹5 लाख``, ``Rs 3 crore``). Its unit is the
currency, ``percent``, or the noun right after it (``11,000 सैनिक``) unless that word is a
postposition or other function word.

A number glued to a word or to another number (``COVID-19``, ``G20``, ``5G``, ``2022-23``,
``10:30``, URL paths, ISO dates) is part of a token, not a quantity, and is not reported;
neither are ranges such as ``5-6``.

This module also holds what both extractors share, so that :mod:`worker.enrich.dates`
imports from here and never the other way: spelling-tolerant keyword patterns, and the
scan copy of the text. Both scanners start a match only after a space of that copy, which
gives the regex engine a literal to skip to and the left word boundary for free. The date
scan meets every digit after a space anyway and records them, so that the number scan on
the same text (the pipeline runs dates first) tries those places only.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate
from typing import Any

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


# --- shared with worker.enrich.dates: spelling-tolerant keyword patterns ---------------

# In NFC text a nukta follows only these consonants: the precomposed ऩ ऱ ऴ stay composed,
# and the other nukta letters (क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़, Bengali ড় ঢ় য়) are decomposed.
_NUKTA_AFTER = {**dict.fromkeys("कखगजडढफय", "\u093c"), **dict.fromkeys("ডঢয", "\u09bc")}
# Urdu is typed with Arabic keyboard letters as often as with the Urdu ones.
_ARABIC_VARIANTS = {"ی": "ییى", "ک": "کك", "ہ": "ہه"}
_FOLD = str.maketrans(
    {
        "\u093c": None,
        "\u09bc": None,
        "\u0901": "\u0902",
        "\u200c": None,
        "\u200d": None,
        "ي": "ی",
        "ى": "ی",
        "ك": "ک",
        "ه": "ہ",
    }
)


def spellings(ch: str) -> str:
    """``ch`` and the letters typed for it (Arabic keyboard letters for Urdu ones)."""
    return _ARABIC_VARIANTS.get(ch, ch)


def fold(word: str) -> str:
    """The lookup key of a matched word: no nukta or joiners, chandrabindu as anusvara,
    Arabic letter variants as the Urdu ones, lower case."""
    return word.translate(_FOLD).lower()


def _units(word: str) -> list[str]:
    """Split ``word`` into regex atoms that also match its variant spellings."""
    units: list[str] = []
    for ch in unicodedata.normalize("NFC", word):
        if ch in "\u093c\u09bc":
            continue  # written or not, the consonant's unit makes it optional
        if ch in _NUKTA_AFTER:
            units.append(ch + _NUKTA_AFTER[ch] + "?")
        elif ch in "\u0901\u0902":
            units.append("[\u0901\u0902]")
        elif ch in "\u094d\u09cd":
            units.append(ch + "[\u200c\u200d]?")  # a virama may carry a joiner
        elif ch in _ARABIC_VARIANTS:
            units.append(f"[{_ARABIC_VARIANTS[ch]}]")
        else:
            units.append(re.escape(ch))
    return units


def _trie(words: Iterable[list[str]]) -> dict[str, Any]:
    trie: dict[str, Any] = {}
    for units in words:
        node = trie
        for unit in units:
            node = node.setdefault(unit, {})
        node[""] = {}  # end of a word
    return trie


def _emit(node: dict[str, Any]) -> str:
    alternatives = [unit + _emit(child) for unit, child in sorted(node.items()) if unit]
    if not alternatives:
        return ""
    body = "|".join(alternatives)
    if "" in node:
        return f"(?:{body})?"
    return body if len(alternatives) == 1 else f"(?:{body})"


def _latin(words: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split ``words`` into others and Latin ones, the latter lower-cased and deduplicated:
    Latin words are matched case-insensitively, which keeps the pattern small."""
    others: list[str] = []
    latin: set[str] = set()
    for word in words:
        if word.isascii():
            latin.add(word.lower())
        else:
            others.append(word)
    return others, sorted(latin)


def keyword_pattern(words: Iterable[str]) -> str:
    """Compile ``words`` into one regex alternation shaped as a trie, in a group.

    A nukta is optional after the consonants that take one, chandrabindu and anusvara are
    interchangeable, a virama may carry a joiner, Arabic and Urdu letter variants match
    each other, and Latin letters match in any case. The result has no boundaries and no
    capturing groups; with a boundary after it, the longest word wins.
    """
    others, latin = _latin(words)
    branches = [_emit(_trie(_units(w) for w in others))] if others else []
    if latin:
        branches.append(f"(?i:{_emit(_trie(_units(w) for w in latin))})")
    return f"(?:{'|'.join(branches)})"


def gated_pattern(words: Iterable[str]) -> str:
    """Like :func:`keyword_pattern`, but bare alternatives shaped for a scanning regex.

    The engine tries every alternative at every candidate position, so their number is
    what costs. Devanagari words form an exact trie, one alternative per first letter.
    Each other script gets one alternative: a class of its first letters followed by the
    trie of all its words' tails. That alternative also matches look-alikes (the first
    letter of one word with the tail of another): callers must look matches up.
    """
    others, latin = _latin(words)
    deva: list[str] = []
    scripts: dict[str, list[str]] = {}
    for word in others:
        first = unicodedata.normalize("NFC", word)[0]
        if "\u0900" <= first <= "\u097f":
            deva.append(word)
        else:
            scripts.setdefault("bn" if first <= "\u09ff" else "ar", []).append(word)
    trie = _trie(_units(w) for w in deva)
    branches = [unit + _emit(child) for unit, child in sorted(trie.items())]
    for group in scripts.values():
        firsts = "".join(sorted({c for w in group for c in spellings(w[0])}))
        branches.append(f"[{re.escape(firsts)}]{_emit(_trie(_units(w)[1:] for w in group))}")
    if latin:
        firsts = "".join(sorted({c for w in latin for c in (w[0], w[0].upper())}))
        branches.append(f"[{firsts}](?i:{_emit(_trie(_units(w)[1:] for w in latin))})")
    return "|".join(branches)


def cased(words: Iterable[str]) -> list[str]:
    """Latin words as written, in lower case and in upper case; others unchanged."""
    return [v for w in words for v in ({w, w.lower(), w.upper()} if w.isascii() else (w,))]


# --- shared with worker.enrich.dates: the scan copy ---------------------------------------

# Decimal digits of ASCII, Arabic-Indic, Urdu and the Indic scripts (Devanagari through
# Malayalam): an explicit class is faster for the engine than \d, and int() reads them all.
DIGITS = "0-9\u0660-\u0669\u06f0-\u06f9" + "".join(
    f"{chr(base)}-{chr(base + 9)}" for base in range(0x0966, 0x0D67, 0x80)
)
# What may follow the first digit of a number (or a date) besides a digit. A digit followed
# by anything else ("5→") starts neither, in both scanners alike.
FOLLOWS_DIGIT = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~।॥،؛؟۔“”‘’«»–—…·•"
# Line breaks, "(", opening quotes and currency signs ("₹5") end words like a space (other
# spaces are already " " in normalized text); each replacement keeps the length.
_AS_SPACE = ("\n", "(", "“", "‘", '"', "'", "₹", "$")
# (text, its scan copy, where numbers may start or None if not scanned yet); one entry.
_memo: tuple[str, str, tuple[int, ...] | None] = ("", "  ", ())


def scan_copy(text: str) -> str:
    """The text as the scanners read it, with offsets the text's plus one: a space at each
    end; line breaks, "(", opening quotes and currency signs as spaces; "Rs." as "Rs "."""
    global _memo  # noqa: PLW0603 - a one-entry memo: dates, then numbers, scan one text
    memo = _memo  # read once: another thread may swap the tuple, never part of it
    if memo[0] is text:
        return memo[1]
    scan = f" {text} "  # the space after the end gives a final digit a follower
    for old in _AS_SPACE:
        if old in scan:
            scan = scan.replace(old, " ")
    at = scan.find("R")  # "Rs.": one-character searches cost far less than a 3-character one
    while at >= 0:
        if scan.startswith("s.", at + 1):
            scan = scan[:at] + "Rs " + scan[at + 3 :]
        at = scan.find("R", at + 1)
    _memo = (text, scan, None)
    return scan


def remember_number_starts(text: str, scan: str, starts: tuple[int, ...]) -> None:
    """Record where numbers may start in ``text``: the offsets, in ``scan`` (its scan
    copy), of every space followed by a digit that may start a number.

    The date scan meets every such digit anyway; :func:`extract_numbers` on this very
    string then tries these places only instead of scanning again, with the same result.
    """
    global _memo  # noqa: PLW0603 - see scan_copy
    _memo = (text, scan, starts)


def _number_starts(text: str) -> tuple[int, ...] | None:
    memo = _memo
    return memo[2] if memo[0] is text else None


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
    places = _number_starts(text)
    if places is None:
        matches: Iterable[re.Match[str] | None] = _SCAN.finditer(scan)
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
        if "," in number and not _grouped(number):
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
