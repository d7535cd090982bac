"""Offline language identification for Indian news text: script shares, then marker words.

The script decides the family (Devanagari, Arabic, Bengali, Latin...). Within
Devanagari, Hindi, Marathi and Nepali share most letters but not their grammar words
(Hindi ``है``/``में``, Marathi ``आहे``/``आणि``, Nepali ``छ``/``मा``/``लाई``), so counting
those words separates them reliably on article-length text. No model, no download.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# ISO 15924 code -> regex class of its letters and marks.
_SCRIPT_RANGES: dict[str, str] = {
    "Deva": "\u0900-\u097f\ua8e0-\ua8ff",
    "Latn": "A-Za-z\u00c0-\u024f\u1e00-\u1eff",
    "Arab": "\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff",
    "Beng": "\u0980-\u09ff",
    "Guru": "\u0a00-\u0a7f",
    "Gujr": "\u0a80-\u0aff",
    "Orya": "\u0b00-\u0b7f",
    "Taml": "\u0b80-\u0bff",
    "Telu": "\u0c00-\u0c7f",
    "Knda": "\u0c80-\u0cff",
    "Mlym": "\u0d00-\u0d7f",
    "Cyrl": "\u0400-\u04ff",
}


def _script_table() -> list[str | None]:
    """A ``str.translate`` table from each BMP code point to a one-letter script tag.

    One C-level translate and a ``count`` per script is several times faster than a
    regex scan per script; letters of unlisted scripts get the tag ``?``.
    """
    table: list[str | None] = [None] * 0x10000
    for cp in range(0x10000):
        if unicodedata.category(chr(cp)).startswith("L"):
            table[cp] = "?"
    for tag, chars in zip(_TAGS, _SCRIPT_RANGES.values(), strict=True):
        for piece in re.findall(r".-.|.", chars):
            lo, hi = (piece[0], piece[2]) if len(piece) == 3 else (piece, piece)
            for cp in range(ord(lo), ord(hi) + 1):
                table[cp] = tag
    return table


_TAGS = "abcdefghijkl"[: len(_SCRIPT_RANGES)]
_SCRIPT_TABLE = _script_table()

# The one language a script implies when it is used for one language in Indian news.
_SCRIPT_LANGUAGE = {
    "Beng": "bn", "Guru": "pa", "Gujr": "gu", "Orya": "or", "Taml": "ta", "Telu": "te",
    "Knda": "kn", "Mlym": "ml", "Cyrl": "ru",
}

# Frequent grammar words that are specific to one language of a script.
_MARKERS: dict[str, dict[str, frozenset[str]]] = {
    "Deva": {
        "hi": frozenset(
            "है हैं था थी थे में की के का को से ने और कि यह वह भी पर लिए गया गई किया कहा "
            "रहा रही रहे हुए हुआ होगा करने इस उस जो तो नहीं साथ बाद".split()
        ),
        "mr": frozenset(
            "आहे आहेत होते होता होती आणि या व की च्या मध्ये केले केली करण्यात त्यांनी "
            "यांनी झाली झाला असे अशी हे ते नाही आले आली साठी म्हणून पण तर".split()
        ),
        "ne": frozenset(
            "छ छन् हो र मा लाई पनि गरेको भएको थियो हुन्छ गर्न भने गरे गर्ने छैन "
            "रहेको बताए उनले तथा अनुसार गरेका भएका हुने यो त्यो".split()
        ),
    },
    "Arab": {
        "ur": frozenset(
            "ہے ہیں کے کی کا میں اور سے نے کو کہ یہ وہ بھی پر لیے گیا گئی تھا تھے ہو".split()
        ),
        "ar": frozenset("في من على إلى التي الذي أن عن مع هذا هذه كان".split()),
        "fa": frozenset("است این آن را با برای که شد می‌شود بود".split()),
    },
    "Latn": {
        "en": frozenset(
            "the and of to in is was for on that with by as at from has have said "
            "are be will it its an this which".split()
        ),
    },
}
_DEFAULT_FOR_SCRIPT = {"Deva": "hi", "Arab": "ur", "Latn": "en"}


@dataclass(frozen=True, slots=True)
class Language:
    """A detected language: ISO 639-1 ``code`` (``und`` if unknown) and ``confidence`` 0..1."""

    code: str
    confidence: float


def script_shares(text: str) -> dict[str, float]:
    """Share of each ISO 15924 script among the letters of ``text``, largest first.

    Scripts under 0.5% are left out; the shares are rounded to 3 decimals.
    """
    tags = text.translate(_SCRIPT_TABLE)
    counts: dict[str, int] = {}
    for tag, code in zip(_TAGS, _SCRIPT_RANGES, strict=True):
        n = tags.count(tag)
        if n:
            counts[code] = n
    other = tags.count("?")
    if other:
        counts["Zyyy"] = other  # letters of scripts not listed above
    total = sum(counts.values())
    if not total:
        return {}
    shares = {code: round(n / total, 3) for code, n in counts.items() if n / total >= 0.005}
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


def detect_language(
    tokens: list[str], scripts: dict[str, float], hint: str | None = None
) -> Language:
    """Identify the language from word ``tokens`` and ``scripts`` (see :func:`script_shares`).

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

    hits = {lang: sum(map(words.__contains__, tokens)) for lang, words in markers.items()}
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
