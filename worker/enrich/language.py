"""Offline language identification for Indian news text: script shares, then marker words.

The script decides the family (Devanagari, Arabic, Bengali, Latin...). Within
Devanagari, Hindi, Marathi and Nepali share most letters but not their grammar words
(Hindi ``है``/``में``, Marathi ``आहे``/``आणि``, Nepali ``छ``/``मा``/``लाई``), so counting
those words separates them reliably on article-length text. No model, no download.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from worker.enrich.lexicon import MARKERS

# Scripts by 128-code-point block: block id = code point >> 7 (U+0900 -> 0x12).
_SCRIPT_BLOCKS: dict[str, tuple[int, ...]] = {
    "Deva": (0x12,),
    "Beng": (0x13,),
    "Guru": (0x14,),
    "Gujr": (0x15,),
    "Orya": (0x16,),
    "Taml": (0x17,),
    "Telu": (0x18,),
    "Knda": (0x19,),
    "Mlym": (0x1A,),
    "Arab": (0x0C, 0x0D),
    "Cyrl": (0x08, 0x09),
}
# The punctuation of those blocks that running text is full of (sentence and clause
# marks); digits are rarer and are left in the count.
_NON_LETTERS = {
    "Deva": ("\u0964", "\u0965"),
    "Beng": ("\u0964",),
    "Arab": ("\u060c", "\u06d4", "\u061f"),
}
# High byte of a UTF-16 code unit, doubled; 0xFE for the upper half of the BMP and for
# surrogates, so that adding the low byte's top bit below never carries.
_DOUBLE_HIGH = bytes(2 * b if b < 0x80 else 0xFE for b in range(256))
_TOP_BIT = bytes(b >> 7 for b in range(256))
_NOT_ASCII_LETTER = bytes(b for b in range(256) if not chr(b).isascii() or not chr(b).isalpha())
_LATIN_EXTENDED = re.compile("[\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]")


def _block_ids(text: str) -> bytes:
    """One byte per UTF-16 code unit of ``text``: its 128-code-point block (code point >> 7).

    Computed with C-level byte operations: the high bytes doubled plus the low bytes' top
    bits, added as two big integers (no byte carries into its neighbour). Blocks from
    U+8000 up read as 0xFE/0xFF, which no script here uses.
    """
    units = text.encode("utf-16-be", "surrogatepass")
    high = units[0::2].translate(_DOUBLE_HIGH)
    low = units[1::2].translate(_TOP_BIT)
    total = int.from_bytes(high, "big") + int.from_bytes(low, "big")
    return total.to_bytes(len(high), "big")


# The one language a script implies when it is used for one language in Indian news.
_SCRIPT_LANGUAGE = {
    "Beng": "bn",
    "Guru": "pa",
    "Gujr": "gu",
    "Orya": "or",
    "Taml": "ta",
    "Telu": "te",
    "Knda": "kn",
    "Mlym": "ml",
    "Cyrl": "ru",
}

# Frequent grammar words that are specific to one language of a script, by script and
# language (worker.enrich.lexicon holds them with the other grammar words).
_MARKERS = MARKERS
_DEFAULT_FOR_SCRIPT = {"Deva": "hi", "Arab": "ur", "Latn": "en"}


@dataclass(frozen=True, slots=True)
class Language:
    """A detected language: ISO 639-1 ``code`` (``und`` if unknown) and ``confidence`` 0..1."""

    code: str
    confidence: float


def script_shares(text: str) -> dict[str, float]:
    """Share of each ISO 15924 script among the letters of ``text``, largest first.

    Letters and marks are counted; digits and punctuation of a script's block are not.
    Scripts under 0.5% are left out; the shares are rounded to 3 decimals.
    """
    blocks = _block_ids(text)
    counts: dict[str, int] = {}
    for code, ids in _SCRIPT_BLOCKS.items():
        # `in` (memchr) first: most texts use one or two scripts, and count() is slower.
        n = sum(blocks.count(i) for i in ids if i in blocks)
        if n and code in _NON_LETTERS:
            n -= sum(text.count(ch) for ch in _NON_LETTERS[code])
        if n > 0:
            counts[code] = n
    latin = len(text.encode("ascii", "ignore").translate(None, _NOT_ASCII_LETTER))
    # U+0080-U+024F: accented Latin letters.
    if 1 in blocks or 2 in blocks or 3 in blocks or 4 in blocks:
        latin += len(_LATIN_EXTENDED.findall(text))
    if latin:
        counts["Latn"] = latin
    total = sum(counts.values())
    if not total:
        return {}
    shares = {code: round(n / total, 3) for code, n in counts.items() if n / total >= 0.005}
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


def detect_language(
    counts: Mapping[str, int], scripts: dict[str, float], hint: str | None = None
) -> Language:
    """Identify the language from word ``counts`` and ``scripts`` (see :func:`script_shares`).

    ``counts`` maps each word token of the text to how often it occurs.

    ``hint`` (the producer's ``language`` field) only settles a tie or an unknown script.
    """
    if not scripts:
        return Language(hint or "und", 0.0 if not hint else 0.3)
    script, share = next(iter(scripts.items()))
    markers = _MARKERS.get(script)
    if markers is None:
        code = _SCRIPT_LANGUAGE.get(script)
        if code is None:
            return Language(hint or "und", 0.3 if hint else 0.0)
        return Language(code, round(min(1.0, 0.5 + share / 2), 2))

    hits = {
        lang: sum(map(counts.__getitem__, counts.keys() & words)) for lang, words in markers.items()
    }
    ranked = sorted(hits.items(), key=lambda kv: -kv[1])
    best, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0
    if top == 0:
        code = hint if hint and hint in markers else _DEFAULT_FOR_SCRIPT[script]
        return Language(code, round(0.3 * share, 2))
    if top == second and hint in hits and hits[hint] == top:
        best = hint
    # Margin over the runner-up, and how much evidence there is at all.
    margin = (top - second) / top
    evidence = min(1.0, top / 8)
    confidence = share * (0.5 + 0.5 * margin) * (0.6 + 0.4 * evidence)
    return Language(best, round(min(1.0, confidence), 2))
