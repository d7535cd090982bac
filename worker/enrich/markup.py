"""HTML left in feed text: tags dropped (block tags become paragraph breaks), entities decoded."""

from __future__ import annotations

import html
import re

_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|h[1-6]|li|ul|ol|blockquote|section|article|header|footer|figure|figcaption|"
    r"table|tr)\b[^<>]*>",
    re.IGNORECASE,
)
_LINE_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)
# Only things that look like real tags: a letter after `<`, so `a < b` and `<3` survive.
_ANY_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
# A script or style element, found as an opening tag and then its closing tag. One regex
# (`<(script|style)...>.*?</\1>`) rescans the rest of the text from every opening tag
# that is never closed: `"<script>" * 20000` took 11 s. Here each closing-tag search
# either consumes what it scans or, failing, is remembered for the rest of the text.
_SCRIPT_OR_STYLE_OPEN = re.compile(r"<(script|style)\b[^<>]*>", re.IGNORECASE)
_CLOSING = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("script", "style")}
# Named, decimal and hex references; the semicolon is optional because html.unescape
# accepts the legacy forms (`&amp`, `&nbsp`) that real feeds contain.
_ENTITY = re.compile(r"&(?:#[0-9]{1,8};?|#[xX][0-9a-fA-F]{1,7};?|[A-Za-z][A-Za-z0-9]{1,31};?)")


def strip_tags(text: str) -> tuple[str, int]:
    """Remove HTML tags; paragraph-level tags become blank lines and ``<br>`` a newline.

    Returns the text and the number of tags (and comments, scripts, styles) removed.
    """
    # Every pattern but the comment's ends with ">": text with "<" but no ">" ("<3",
    # "a < b", or a message of 300,000 "<a ") costs no scans.
    total = 0
    if ">" in text:
        text, total = _drop_scripts_and_styles(text)
    if "<!--" in text:
        text, n = _COMMENT.subn("", text)
        total += n
    if ">" not in text:
        return text, total
    text, n = _BLOCK_TAG.subn("\n\n", text)
    total += n
    text, n = _LINE_TAG.subn("\n", text)
    total += n
    text, n = _ANY_TAG.subn("", text)
    return text, total + n


def _drop_scripts_and_styles(text: str) -> tuple[str, int]:
    """Remove ``<script>``/``<style>`` elements with their content, in one pass.

    An opening tag without a closing tag after it is left alone (the tag alone goes with
    the other tags later). Returns the text and the number of elements removed.
    """
    pieces: list[str] = []
    unclosed: set[str] = set()  # no closing tag of this name after the current position
    last = pos = removed = 0
    while (opening := _SCRIPT_OR_STYLE_OPEN.search(text, pos)) is not None:
        name = opening.group(1).lower()
        closing = None if name in unclosed else _CLOSING[name].search(text, opening.end())
        if closing is None:
            unclosed.add(name)  # nor after any later position: never search again
            pos = opening.end()
            continue
        pieces.append(text[last : opening.start()])
        last = pos = closing.end()
        removed += 1
    if not removed:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), removed


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
