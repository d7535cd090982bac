"""Related-story teasers: the headlines a CMS injects between a story's paragraphs.

A teaser is labelled (``ये भी पढ़ें: …``, ``Check Also: …``, or a label on a line of its
own before the headlines) or bare: a one-line block with a headline's shape that prose
lacks (:func:`is_bare_teaser`). :mod:`worker.enrich.structure` decides per block; the
label and shape rules live here, with the phrase helpers both modules build patterns with.
"""

from __future__ import annotations

import re
import unicodedata

from worker.enrich import lexicon as lx
from worker.enrich.lexicon import STOPWORDS
from worker.enrich.sentences import CLOSERS, INNER_STOP, MARKS, ends_like_prose

__all__ = [
    "LABEL_FIRSTS",
    "alternation",
    "has_label",
    "is_bare_teaser",
    "is_label",
    "is_label_only",
    "nfc_phrases",
    "strip_label",
    "take_labelled",
]

_TEASER_MIN_WORDS = 8


def nfc_phrases(words: str) -> list[str]:
    """``|``-separated phrases in NFC (the text they are matched against is NFC)."""
    return [unicodedata.normalize("NFC", w.strip()) for w in words.split("|") if w.strip()]


def alternation(phrases: list[str]) -> str:
    """A regex alternation of ``phrases``, the longest first, any white space for a space."""
    ordered = sorted(phrases, key=len, reverse=True)  # the longest phrase first
    return "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in ordered)


def _firsts(phrases: list[str]) -> frozenset[str]:
    return frozenset(c for p in phrases for c in (p[0], p[0].upper(), p[0].lower()))


_TEASER_LABELS = nfc_phrases(lx.TEASER_LABELS)
# A label is whole words followed by a separator: a colon (`:`, `ঃ`, `:-`), a bar, or a
# dash with white space beside it, so `Related-party` is no label but `Read More – ` is.
_SEPARATOR = r"(?:\s*[:：ঃ|»]+[-–—>]*|\s+[-–—>]+|[-–—]+(?=\s))\s*"
_TEASER_PREFIX = re.compile(rf"(?:{alternation(_TEASER_LABELS)}){_SEPARATOR}", re.IGNORECASE)
_TEASER_LABEL_ONLY = re.compile(
    rf"(?:{alternation(_TEASER_LABELS)})\s*[:：ঃ|»\-–—>]*\s*", re.IGNORECASE
)
# The first characters a label may start with: a cheap test before any regex runs.
LABEL_FIRSTS = _firsts(_TEASER_LABELS)
_CUES = frozenset(nfc_phrases(lx.TEASER_CUES))
_JOINS = frozenset(nfc_phrases(lx.CLAUSE_JOINS))


def is_label(line: str) -> bool:
    """Whether ``line`` starts with a teaser label and its separator (``Read More: …``)."""
    return line[:1] in LABEL_FIRSTS and _TEASER_PREFIX.match(line) is not None


def is_label_only(line: str) -> bool:
    """Whether ``line`` is a teaser label alone (``ये भी पढ़ें:``): headlines follow it."""
    return line[:1] in LABEL_FIRSTS and _TEASER_LABEL_ONLY.fullmatch(line) is not None


def has_label(line: str) -> bool:
    """A teaser label with its headline, or a label on a line of its own."""
    return line[:1] in LABEL_FIRSTS and (
        _TEASER_PREFIX.match(line) is not None or _TEASER_LABEL_ONLY.fullmatch(line) is not None
    )


def strip_label(line: str) -> str:
    """``line`` without its leading teaser label and separator: the headline."""
    return _TEASER_PREFIX.sub("", line, count=1)


def is_bare_teaser(block: str) -> bool:
    """Whether a one-line block without a label has a teaser headline's shape.

    Never when it holds a complete sentence and more, or ends in a full stop or a quote.
    Evidence: a clickbait cue opening a clause (``…, जानें क्यों …?``, not ``क्या आप जानें
    कि …?``) unless a grammar word and a mark end it as prose (``… क्या होता है!``); or, in
    Indic or Arabic script, two clauses (``X, Y``) ending on a content word (``…, बातचीत के
    दिए संकेत``), with no mark or with no word joining clauses of one sentence (``…, क्या अब
    विदेश नहीं जा पाएंगे इजराइली पीएम?``, not ``… यह है कि …, और सरकार … उठाएगी?``). English
    prose ends on any word, so a Latin-script line without a cue stays.
    """
    if INNER_STOP.search(block) or block[-1:] in CLOSERS or ends_like_prose(block):
        return False
    words = block.split()
    final, marked = words[-1].rstrip(MARKS), block[-1:] in MARKS
    if not (marked and final in STOPWORDS) and any(
        w.strip(",?!؟") in _CUES for i, w in enumerate(words) if i == 0 or words[i - 1][-1:] in ",،"
    ):
        return True
    return (
        ("," in block or "،" in block)
        and len(words) >= _TEASER_MIN_WORDS
        and not final.isascii()
        and final not in STOPWORDS
        and not (marked and any(w.strip(",?!؟،") in _JOINS for w in words))
    )


def take_labelled(lines: list[str], headlines: list[str]) -> str:
    """The story lines of a block with teaser lines; the teasers go to ``headlines``."""
    story: list[str] = []
    after_label = False  # a label line of its own: the lines after it are headlines
    for line in lines:
        if is_label_only(line):
            after_label = True
            continue
        stripped = strip_label(line) if is_label(line) else line
        if stripped != line or (after_label and not ends_like_prose(line)):
            if stripped:
                headlines.append(stripped)
            continue
        after_label = False
        story.append(line)
    return "\n".join(story)
