"""What the date and number scanners share: spelling-tolerant keyword patterns, and the
scan copy of a text with the places where numbers may start.

Both scanners (:mod:`worker.enrich.dates`, :mod:`worker.enrich.numbers`) start a match
only after a space of the scan copy, which gives the regex engine a literal to skip to and
the left word boundary for free. The date scan meets every digit after a space anyway and
records them in a :class:`Scan`, so that the number scan of the same :class:`Scan` (the
pipeline makes one per text and runs dates first) tries those places only. There is no
module state: a :class:`Scan` is the only thing the two scans share.

Folding and the spelling tables come from :mod:`worker.enrich.lexicon`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from worker.enrich.lexicon import ARABIC_VARIANTS, NUKTA_AFTER, fold
from worker.enrich.tokens import WORD_MARKS

__all__ = [
    "DIGITS",
    "FOLLOWS_DIGIT",
    "MAX_PLACES",
    "Scan",
    "cased",
    "fold",
    "gated_pattern",
    "keyword_pattern",
    "scan_copy",
    "spellings",
]

# The most places (dates, and digits where a number may start) looked at in one text,
# in text order. No article comes near (a long budget story has a few hundred), a record
# with more would be over any message size limit, and the scanners spend microseconds on
# each: a 1 MiB message of "1 1 1 ..." held 500,000 and took 3 s.
MAX_PLACES = 10_000

# --- shared with worker.enrich.dates: spelling-tolerant keyword patterns ---------------


def spellings(ch: str) -> str:
    """``ch`` and the letters typed for it (Arabic keyboard letters for Urdu ones)."""
    return ARABIC_VARIANTS.get(ch, ch)


def _units(word: str) -> list[str]:
    """Split ``word`` into regex atoms that also match its variant spellings."""
    units: list[str] = []
    for ch in unicodedata.normalize("NFC", word):
        if ch in "\u093c\u09bc":
            continue  # written or not, the consonant's unit makes it optional
        if ch in NUKTA_AFTER:
            units.append(ch + NUKTA_AFTER[ch] + "?")
        elif ch in "\u0901\u0902":
            units.append("[\u0901\u0902]")
        elif ch in "\u094d\u09cd":
            units.append(ch + "[\u200c\u200d]?")  # a virama may carry a joiner
        elif ch in ARABIC_VARIANTS:
            units.append(f"[{ARABIC_VARIANTS[ch]}]")
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
_AS_SPACE = ("\n", "(", "“", "‘", '"', "'", "₹", "$", "€", "£")


# A colon between letters ("Updated:July"): the colon ends a word like a space. Between
# digits ("10:30") it glues a token and stays. Led by the literal ":" so that the engine
# skips from colon to colon; the letter before is checked by a lookbehind from there.
_LETTER = f"[^\\W\\d_]|(?!\\d)[{WORD_MARKS}]"  # a letter or a mark (a matra), no digit
_LETTER_COLON = re.compile(f":(?<=(?:{_LETTER}):)(?={_LETTER})")


def scan_copy(text: str) -> str:
    """The text as the scanners read it, with offsets the text's plus one: a space at each
    end; line breaks, "(", opening quotes, currency signs and a colon between letters as
    spaces; "Rs." as "Rs "."""
    scan = f" {text} "  # the space after the end gives a final digit a follower
    for old in _AS_SPACE:
        if old in scan:
            scan = scan.replace(old, " ")
    if ":" in scan:
        scan = _LETTER_COLON.sub(" ", scan)
    # One C-level pass: rebuilding the string at each "Rs." was quadratic (a message of
    # 80,000 "Rs.5 " took 20 s).
    return scan.replace("Rs.", "Rs ")


class Scan:
    """One text as both scanners read it: the pipeline makes one per text and passes it to
    :func:`~worker.enrich.dates.extract_dates`, then to
    :func:`~worker.enrich.numbers.extract_numbers`.

    Attributes:
        text: the text itself.
        copy: its :func:`scan_copy`.
        number_starts: the offsets, in ``copy``, of every space followed by a digit that
            may start a number (not those of a time): filled in by the date scan, which
            meets every such digit anyway, so that the number scan tries these places
            only. None until the date scan has run.
    """

    __slots__ = ("copy", "number_starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.copy = scan_copy(text)
        self.number_starts: tuple[int, ...] | None = None
