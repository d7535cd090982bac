"""HTML left in feed text: tags dropped (block tags become paragraph breaks), entities decoded.

:func:`strip_tags` is a small tokenizer that follows the HTML standard's tokenizer where
feed text needs it: quoted attribute values may hold ``>`` (``<a title="x>y">``),
comments and ``<!DOCTYPE>``/``<?xml?>`` declarations go, ``<script>``/``<style>``
content goes with its element, ``<![CDATA[…]]>`` keeps its text. It departs from the
standard to keep text: only ``<`` and an ASCII tag name followed by a space, ``/`` or
``>`` opens a tag (``a < b``, ``<3``, ``f<x,y>`` stay), and a tag or raw-text element
never closed is text, not a tag that swallows the rest of the article.

The standard library's ``html.parser`` was measured first and is not used: on Python
3.11.7 it is quadratic on unclosed constructs (``"<a " * 5461``, 16 KiB, took over 20 s;
``"<!--"`` and ``x<`` grow 15x for 4x the size). Each step here either consumes the text
it scans or, failing, is not tried again, so the cost is linear in the text.
"""

from __future__ import annotations

import html
import re

_BLOCKS = frozenset(
    "p div h1 h2 h3 h4 h5 h6 li ul ol dl dt dd blockquote section article header footer "
    "figure figcaption table thead tbody tfoot tr caption aside nav main pre address hr form "
    "fieldset details summary".split()
)
_CELLS = frozenset({"td", "th"})
_RAW_TEXT = frozenset({"script", "style"})
# A tag in the standard's sense: attribute values in quotes may hold `>` and `<`; an
# unclosed quote is a literal character. Possessive, and each alternative starts with a
# different character, so a failing match never backtracks: it costs one scan.
_TAG = re.compile(
    r"</?([A-Za-z][A-Za-z0-9:._-]*+)(?=[\s/>])"
    r"(?:[^>\"'=]++|=\s*+(?:\"[^\"]*+\"|'[^']*+')?|[\"'])*+>"
)
# After a tag that no `>` closes outside quotes (every later `>` sits inside a quote of
# that scan), quotes are no longer honoured: a tag then ends at the first `>` and cannot
# hold `<`, so no later scan runs to the end of the text again.
_PLAIN_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9:._-]*+)(?=[\s/>])[^<>]*+>")
_CLOSING = {name: re.compile(rf"</{name}[\s/>]", re.IGNORECASE) for name in _RAW_TEXT}
# Named, decimal and hex references; the semicolon is optional because html.unescape
# accepts the legacy forms (`&amp`, `&nbsp`) that real feeds contain.
_ENTITY = re.compile(r"&(?:#[0-9]{1,8};?|#[xX][0-9a-fA-F]{1,7};?|[A-Za-z][A-Za-z0-9]{1,31};?)")


def strip_tags(text: str) -> tuple[str, int]:
    """Remove HTML markup; paragraph-level tags become blank lines and ``<br>`` a newline.

    Returns the text and the number of tags, comments, declarations and script or style
    elements removed.
    """
    if "<" not in text:
        return text, 0
    pieces: list[str] = []
    removed = last = 0
    quoted = True
    unclosed: set[str] = set()  # raw-text elements with no closing tag after this point
    n = len(text)
    find = _Finder(text).find
    lt = text.find("<")
    while lt >= 0:
        after = text[lt + 1 : lt + 2]
        end = -1
        keep = ""
        if after == "!":
            if text.startswith("<!--", lt):
                end = _comment_end(text, lt)
            elif text.startswith("<![CDATA[", lt):
                close = find("]]>", lt + 9)
                if close >= 0:
                    keep, end = text[lt + 9 : close], close + 3
            elif (close := find(">", lt)) >= 0:
                end = close + 1  # a declaration or bogus comment
        elif after == "?":
            if (close := find(">", lt)) >= 0:
                end = close + 1
        elif after.isascii() and (after.isalpha() or after == "/"):
            match = (_TAG if quoted else _PLAIN_TAG).match(text, lt)
            if match is None and quoted:
                quoted = False
                match = _PLAIN_TAG.match(text, lt)
            if match is not None:
                name = match.group(1).lower()
                end = match.end()
                if after == "/":
                    keep = _break(name)
                elif name in _RAW_TEXT:
                    end = _raw_text_end(text, end, name, unclosed)
                else:
                    keep = _break(name)
        if end < 0:
            lt = text.find("<", lt + 1)
            continue
        pieces += (text[last:lt], keep)
        removed += 1
        last = end
        lt = text.find("<", end) if end < n else -1
    if not removed:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), removed


class _Finder:
    """``str.find`` that remembers failures: a string not found after a position is not
    after any later one, so repeated openings without a close (``"<!" * n``) cost one scan."""

    __slots__ = ("_none_after", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._none_after: dict[str, int] = {}

    def find(self, sub: str, start: int) -> int:
        if start >= self._none_after.get(sub, len(self._text) + 1):
            return -1
        found = self._text.find(sub, start)
        if found < 0:
            self._none_after[sub] = start
        return found


def _break(name: str) -> str:
    if name in _BLOCKS:
        return "\n\n"
    if name == "br":
        return "\n"
    return " " if name in _CELLS else ""


def _comment_end(text: str, lt: int) -> int:
    """Where the comment opened at ``lt`` ends; an unclosed one runs to the end (as HTML)."""
    if text.startswith("<!-->", lt):
        return lt + 5
    if text.startswith("<!--->", lt):
        return lt + 6
    close = text.find("-->", lt + 4)
    return len(text) if close < 0 else close + 3


def _raw_text_end(text: str, start: int, name: str, unclosed: set[str]) -> int:
    """The end of a script or style element whose opening tag ends at ``start``.

    Without a closing tag the opening tag alone goes and its content stays text (and no
    later opening tag of that name searches again: there is no closing tag after it).
    """
    if name in unclosed:
        return start
    closing = _CLOSING[name].search(text, start)
    if closing is None:
        unclosed.add(name)
        return start
    gt = text.find(">", closing.end() - 1)
    return len(text) if gt < 0 else gt + 1


def unescape_entities(text: str) -> tuple[str, int]:
    """Decode HTML character references until none is left (``&amp;amp;`` is ``&``).

    Returns the text and how many references were decoded.
    """
    count = 0

    def decode(match: re.Match[str]) -> str:
        nonlocal count
        decoded = html.unescape(match.group())
        if decoded != match.group():
            count += 1
        return decoded

    # Bounded: each round removes at least one `&...;`, and double escaping deeper than
    # a few levels does not occur in real feeds.
    for _ in range(8):
        before = count
        text = _ENTITY.sub(decode, text)
        if count == before:
            break
    return text, count
