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
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b[^<>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
# Named, decimal and hex references; the semicolon is optional because html.unescape
# accepts the legacy forms (`&amp`, `&nbsp`) that real feeds contain.
_ENTITY = re.compile(r"&(?:#[0-9]{1,8};?|#[xX][0-9a-fA-F]{1,7};?|[A-Za-z][A-Za-z0-9]{1,31};?)")


def strip_tags(text: str) -> tuple[str, int]:
    """Remove HTML tags; paragraph-level tags become blank lines and ``<br>`` a newline.

    Returns the text and the number of tags (and comments, scripts, styles) removed.
    """
    total = 0
    text, n = _SCRIPT_OR_STYLE.subn("", text)
    total += n
    text, n = _COMMENT.subn("", text)
    total += n
    text, n = _BLOCK_TAG.subn("\n\n", text)
    total += n
    text, n = _LINE_TAG.subn("\n", text)
    total += n
    text, n = _ANY_TAG.subn("", text)
    return text, total + n


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
