"""Sentence ends: the one home of the core's terminators.

:data:`SENTENCE_END`, :func:`ends_sentence` and :func:`first_sentence` for the pipeline
(which imports them through :mod:`worker.enrich.structure`), and the shapes
:mod:`worker.enrich.structure` and :mod:`worker.enrich.teasers` tell prose from headlines by.
"""

from __future__ import annotations

import re

__all__ = [
    "CLOSERS",
    "FULL_STOPS",
    "INNER_STOP",
    "MARKS",
    "SENTENCE_END",
    "TITLE_MAX_CHARS",
    "ends_like_prose",
    "ends_sentence",
    "first_sentence",
]

FULL_STOPS = "।॥.۔"  # a statement ends
MARKS = "?!؟"  # a question or exclamation ends
CLOSERS = "\"'”’)]»"  # may follow either
# A terminator (and any closing quotes or brackets) before white space or the end.
SENTENCE_END = re.compile(f"[{FULL_STOPS}{MARKS}][{re.escape(CLOSERS)}]*(?:\\s|$)")
# A full stop followed by more text: a complete sentence inside a block. A stop after a
# capital letter is an initial or abbreviation (`R. Ashwin`, `U.S. aid`), not an end.
INNER_STOP = re.compile(f"(?<![A-Z])[{FULL_STOPS}][{re.escape(CLOSERS)}]*\\s+\\S")
_SPACE = re.compile(r"\s+")
TITLE_MAX_CHARS = 140


def ends_sentence(block: str) -> bool:
    """Whether ``block`` ends in a sentence terminator, closing quotes or brackets aside."""
    last = block.rstrip().rstrip(CLOSERS)[-1:]
    return last != "" and last in FULL_STOPS + MARKS


def ends_like_prose(block: str) -> bool:
    r"""Whether ``block`` ends in a full stop (or ``…``) and closing quotes or brackets only
    (the regex ``[।॥.۔…]["'”’)\]]*$``, read from the end instead of tried at every position)."""
    last = block.rstrip().rstrip(CLOSERS)[-1:]
    return last != "" and last in FULL_STOPS + "…"


def first_sentence(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    """The first sentence of ``text``, cut at a word boundary to at most ``limit`` characters."""
    match = SENTENCE_END.search(text)
    sentence = text[: match.end()] if match else text.split("\n", 1)[0]
    sentence = _SPACE.sub(" ", sentence).strip()
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"
