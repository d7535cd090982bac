"""The layout of a feed article: publisher-and-topic lead, paragraphs, subheadings, teasers.

Newsroom feeds deliver stories as plain text with a lead such as
``India News (इंडिया न्यूज), Russia North Korea Treaty: `` before the first sentence,
short subheading lines between paragraphs, and "related story" teaser headlines injected
by the CMS (``ये भी पढ़ें: …``, ``Also Read: …``, or a bare headline line). Teasers are
not part of the story, so they leave the body; the lead becomes ``source``/``dateline``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# `Source (Source in another script), Topic-or-place: ` at the very start.
_LEAD = re.compile(
    r"(?P<source>[^\s():,\n][^():,\n]{0,58}?) ?\((?P<alias>[^()\n]{1,60})\), "
    r"(?P<dateline>[^:\n]{2,80}?) ?: "
)
# `Place: ` or `Place, date: ` at the start, when short (a classic dateline).
_DATELINE_ONLY = re.compile(r"(?P<dateline>[^\s:.।\n][^:.।\n]{1,40}?) ?[:|] ")

# Labels the CMS puts in front of injected links to other stories.
_TEASER_LABEL = re.compile(
    r"(?:ये|यह|इसे|इन्हें|और|यहां|यहाँ) भी पढ़ें|और पढ़ें|यह भी पढ़ें|ज़रूर पढ़ें|जरूर पढ़ें|"
    r"हे (?:पण|ही) वाचा|अधिक वाचा|यो पनि पढ्नुहोस्|यो पनि पढ्नुस्|یہ بھی پڑھیں|مزید پڑھیں|আরও পড়ুন|"
    r"also read|read also|read more|must read|related|recommended stories|watch"
)
_TEASER_PREFIX = re.compile(rf"^(?:{_TEASER_LABEL.pattern})\s*[:：\-–—|]\s*", re.IGNORECASE)
_TEASER_LABEL_ONLY = re.compile(rf"^(?:{_TEASER_LABEL.pattern})\s*[:：\-–—|]?$", re.IGNORECASE)
# The characters a label can start with (every alternative's first, over-inclusive), so
# that most lines are ruled out with a set lookup: the label regexes cost microseconds,
# and a message can be 350,000 one-word lines.
_LABEL_FIRSTS = frozenset(
    c
    for first in re.findall(r"(?:^|\||\(\?:)([^|()?:])", _TEASER_LABEL.pattern)
    for c in (first, first.upper())
)
# Prose sentences end with a danda, full stop, Urdu full stop, or a quote after one.
_PROSE_TERMINATORS = "।॥.۔…"
_CLOSERS = "\"'”’)]"
_HEADLINE_END = re.compile(r"[?!؟][\"'”’)\]]*$")
_SPACE = re.compile(r"\s+")

SUBHEADING_MAX_WORDS = 9
SUBHEADING_MAX_CHARS = 80
TITLE_MAX_CHARS = 140


@dataclass(slots=True)
class Structure:
    """What :func:`parse_structure` found in a normalized text."""

    body: str
    paragraphs: list[str] = field(default_factory=list)
    subheadings: list[str] = field(default_factory=list)
    related_headlines: list[str] = field(default_factory=list)
    lead: str = ""  # the text the lead took from the first block
    source: str | None = None
    source_alias: str | None = None
    dateline: str | None = None


def _blocks(text: str) -> list[str]:
    """Paragraph blocks: blank-line separated, or one per line when there are no blank lines."""
    if "\n\n" in text:
        return [b for b in text.split("\n\n") if b]
    return [b for b in text.split("\n") if b]


def _ends_like_prose(block: str) -> bool:
    r"""Whether ``block`` ends in a terminator and closing quotes or brackets only (the
    regex ``[।॥.۔…]["'”’)\]]*$``, read from the end instead of tried at every position)."""
    if block.endswith("\n"):  # `$` also matches before a final newline
        block = block[:-1]
    last = block.rstrip(_CLOSERS)[-1:]
    return last != "" and last in _PROSE_TERMINATORS


def _is_label(line: str) -> bool:
    return line[:1] in _LABEL_FIRSTS and _TEASER_PREFIX.match(line) is not None


def _words(line: str) -> int:
    return len(line.split())


def parse_structure(text: str) -> Structure:
    """Split normalized ``text`` into lead, paragraphs, subheadings and teaser headlines.

    Rules, per block: a teaser label (``ये भी पढ़ें:``, ``Also Read:`` ...) makes its lines
    related headlines; otherwise a one-line block after the first that does not end like
    prose is a subheading when short (at most nine words, not ending in ``?``/``!`` and
    followed by more text) and a related headline when longer.
    """
    out = Structure(body="")
    blocks = _blocks(text)
    if blocks:
        blocks[0] = _take_lead(blocks[0], out)

    kept: list[str] = []
    last = len(blocks) - 1
    pending_label = False
    for index, block in enumerate(blocks):
        if pending_label:
            # A label on a line of its own ("ये भी पढ़ें:") applies to the next block.
            pending_label = False
            if "\n" not in block and not _ends_like_prose(block):
                out.related_headlines.append(block)
                continue
        if block[:1] in _LABEL_FIRSTS and _TEASER_LABEL_ONLY.match(block):
            pending_label = True
            continue
        lines = block.split("\n")
        if any(map(_is_label, lines)):
            story_lines = []
            for line in lines:
                stripped = _TEASER_PREFIX.sub("", line, count=1)
                if stripped != line:
                    if stripped:
                        out.related_headlines.append(stripped)
                else:
                    story_lines.append(line)
            if not story_lines:
                continue
            block = "\n".join(story_lines)  # noqa: PLW2901 - the block without its teasers
        if index > 0 and "\n" not in block and not _ends_like_prose(block):
            short = _words(block) <= SUBHEADING_MAX_WORDS and len(block) <= SUBHEADING_MAX_CHARS
            if short and index < last and not _HEADLINE_END.search(block):
                out.subheadings.append(block)
                kept.append(block)
                continue
            if not short or _HEADLINE_END.search(block) or index == last:
                out.related_headlines.append(block)
                continue
        out.paragraphs.append(block)
        kept.append(block)
    out.body = "\n\n".join(kept)
    return out


def _take_lead(block: str, out: Structure) -> str:
    match = _LEAD.match(block)
    if match:
        out.source = match["source"].strip()
        out.source_alias = match["alias"].strip()
        out.dateline = match["dateline"].strip()
        out.lead = block[: match.end()]
        return block[match.end() :]
    match = _DATELINE_ONLY.match(block)
    if match and _words(match["dateline"]) <= 5:
        out.dateline = match["dateline"].strip()
        out.lead = block[: match.end()]
        return block[match.end() :]
    return block


def first_sentence(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    """The first sentence of ``text``, cut at a word boundary to at most ``limit`` characters."""
    match = re.search(r"[।॥.?!۔؟](?=\s|$)", text)
    sentence = text[: match.end()] if match else text.split("\n", 1)[0]
    sentence = _SPACE.sub(" ", sentence).strip()
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"
