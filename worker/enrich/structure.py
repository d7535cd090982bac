"""The layout of a feed article: title, lead, paragraphs, subheadings, teasers, credits.

Newsroom feeds deliver stories as plain text with a lead before the first sentence
(``India News (इंडिया न्यूज), Russia North Korea Treaty: ``, ``New Delhi: ``,
``नई दिल्ली। ``, ``Mumbai (PTI) – ``), short subheading lines between paragraphs,
"related story" teaser headlines injected by the CMS (``ये भी पढ़ें: …``, ``Check Also: …``,
or a bare headline line), wire credits (``PTI``, ``(इनपुट: एजेंसी भाषा)``) and time stamps
(``Updated: July 2, 2018, 9:03 AM IST``). Teasers, credits and stamps are not part of the
story, so they leave the body; the lead becomes ``source``/``dateline``.

Body text is never dropped on a guess: a block leaves the body only on evidence (a label,
a credit or stamp shape, or a headline shape that prose does not have). The sentence-end
characters of the whole core live here (:data:`SENTENCE_END`, :func:`ends_sentence`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from worker.enrich.lexicon import (
    AGENCIES,
    INPUT_LABELS,
    KICKERS,
    NOT_PLACES,
    SPEECH_VERBS,
    STAMP_LABELS,
    STOPWORDS,
    TEASER_CUES,
    TEASER_LABELS,
)

# --- sentence ends: the one home of the core's terminators -----------------------------
FULL_STOPS = "।॥.۔"  # a statement ends
MARKS = "?!؟"  # a question or exclamation ends
CLOSERS = "\"'”’)]»"  # may follow either
# A terminator (and any closing quotes or brackets) before white space or the end.
SENTENCE_END = re.compile(f"[{FULL_STOPS}{MARKS}][{re.escape(CLOSERS)}]*(?:\\s|$)")
# A full stop followed by more text: a complete sentence inside a block. A stop after a
# capital letter is an initial or abbreviation (`R. Ashwin`, `U.S. aid`), not an end.
_INNER_STOP = re.compile(f"(?<![A-Z])[{FULL_STOPS}][{re.escape(CLOSERS)}]*\\s+\\S")
_SPACE = re.compile(r"\s+")

SUBHEADING_MAX_WORDS = 9
SUBHEADING_MAX_CHARS = 80
TITLE_MAX_CHARS = 140
_HEADLINE_MAX_CHARS = 200  # a first line longer than this is no headline
_TEASER_MIN_WORDS = 8


def _nfc(words: str) -> list[str]:
    """``|``-separated phrases in NFC (the text they are matched against is NFC)."""
    return [unicodedata.normalize("NFC", w.strip()) for w in words.split("|") if w.strip()]


def _alternation(phrases: list[str]) -> str:
    return "|".join(
        re.escape(p).replace(r"\ ", r"\s+") for p in sorted(phrases, key=len, reverse=True)
    )


def _firsts(phrases: list[str]) -> frozenset[str]:
    return frozenset(c for p in phrases for c in (p[0], p[0].upper(), p[0].lower()))


# --- teaser labels ----------------------------------------------------------------------
_TEASER_LABELS = _nfc(TEASER_LABELS)
# A label is whole words followed by a separator: a colon (`:`, `ঃ`, `:-`), a bar, or a
# dash with white space beside it, so `Related-party` is no label but `Read More – ` is.
_SEPARATOR = r"(?:\s*[:：ঃ|»]+[-–—>]*|\s+[-–—>]+|[-–—]+(?=\s))\s*"
_TEASER_PREFIX = re.compile(rf"(?:{_alternation(_TEASER_LABELS)}){_SEPARATOR}", re.IGNORECASE)
_TEASER_LABEL_ONLY = re.compile(
    rf"(?:{_alternation(_TEASER_LABELS)})\s*[:：ঃ|»\-–—>]*\s*", re.IGNORECASE
)
_LABEL_FIRSTS = _firsts(_TEASER_LABELS)

# --- credits and stamps -----------------------------------------------------------------
_AGENCIES = _nfc(AGENCIES)
_AGENCY = _alternation(_AGENCIES)
_INPUT_LABELS = _nfc(INPUT_LABELS)
_CREDIT = re.compile(
    # `PTI`, `(PTI)`, `— IANS`, `By Reuters`, `PTI/ANI`
    rf"[\s(\[\-–—]*(?:by\s+)?(?:{_AGENCY})(?:\s*(?:[,/&|]|and|और)\s*(?:{_AGENCY}))*[\s)\].\-–—]*"
    # `(इनपुट: एजेंसी भाषा)`, `With inputs from Reuters`
    rf"|[(\[]?\s*(?:{_alternation(_INPUT_LABELS)})(?=[\s:：\-–—)])\s*[:：\-–—]?\s*[^()\[\]\n]{{1,80}}[)\]]?\.?"
    # NDTV's `(This story has not been edited by … staff and is … from a syndicated feed.)`
    r"|\([^()\n]{0,200}syndicated feed[^()\n]{0,20}\)",
    re.IGNORECASE,
)
# Credit and stamp lines start with a capital (or a bracket or dash): the first-character
# check rules out most prose lines before any regex runs.
_CREDIT_FIRSTS = frozenset(p[0].upper() for p in _AGENCIES + _INPUT_LABELS) | frozenset("([-–—B")
_STAMP_LABELS = _nfc(STAMP_LABELS)
_STAMP = re.compile(
    rf"(?P<label>{_alternation(_STAMP_LABELS)})\s*[:：\-–—|]\s*(?P<rest>[^|\n]*\d[^|\n]*?)\s*",
    re.IGNORECASE,
)
_STAMP_FIRSTS = frozenset(p[0].upper() for p in _STAMP_LABELS)
_UPDATE_LABELS = ("updat", "modif", "अपडेट", "अद्यतन", "আপডেট", "اپ ڈیٹ")
_META_FIRSTS = _CREDIT_FIRSTS | _STAMP_FIRSTS
_META_MAX_CHARS = 160  # credit and stamp lines are short; paragraphs skip the regexes

# --- leads ------------------------------------------------------------------------------
# `Source (Source in another script), Topic-or-place: ` at the very start.
_LEAD = re.compile(
    r"(?P<source>[^\s():,\n][^():,\n]{0,58}?) ?\((?P<alias>[^()\n]{1,60})\), "
    r"(?P<dateline>[^:\n]{2,80}?) ?: "
)
# `Place (Agency) – ` (a wire dateline: `WASHINGTON (Reuters) - `, `नई दिल्ली (एजेंसी): `).
_AGENCY_LEAD = re.compile(
    r"(?P<dateline>[^\s():.।\n][^():.।\n]{1,40}?) ?\((?P<agency>[^()\n]{1,30})\) ?[-–—:]+ "
)
# `Place: `, `Place, date: ` or `Place। ` at the start, when short (a classic dateline).
_DATELINE_ONLY = re.compile(r"(?P<dateline>[^\s:.।\n][^:.।\n]{1,40}?) ?(?P<mark>[:|।]) ")
# Kicker labels in front of a lead: dropped, they are no part of the story.
_KICKER = re.compile(
    "(?:" + _alternation(_nfc(KICKERS)) + r")\s*[:：|\-–—]+\s*",
    re.IGNORECASE,
)
# Labels that read like `Place: ` but are not datelines.
_NOT_PLACES = frozenset(_nfc(NOT_PLACES))
# Verbs of saying: `X said: ` opens a quotation, not a dateline.
_SPEECH = frozenset(_nfc(SPEECH_VERBS))
_CUES = frozenset(_nfc(TEASER_CUES))


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
    title: str | None = None  # a plain-text article's headline line
    credits: list[str] = field(default_factory=list)  # `PTI`, `(इनपुट: एजेंसी भाषा)`
    stamps: list[tuple[str, str]] = field(default_factory=list)  # ("updated", "July 2, …")


def ends_sentence(block: str) -> bool:
    """Whether ``block`` ends in a sentence terminator, closing quotes or brackets aside."""
    last = block.rstrip().rstrip(CLOSERS)[-1:]
    return last != "" and last in FULL_STOPS + MARKS


def _ends_like_prose(block: str) -> bool:
    r"""Whether ``block`` ends in a full stop (or ``…``) and closing quotes or brackets only
    (the regex ``[।॥.۔…]["'”’)\]]*$``, read from the end instead of tried at every position)."""
    last = block.rstrip().rstrip(CLOSERS)[-1:]
    return last != "" and last in FULL_STOPS + "…"


def _blocks(text: str) -> list[str]:
    """Paragraph blocks: blank-line separated, or one per line when there are no blank lines."""
    if "\n\n" in text:
        return [b for b in text.split("\n\n") if b]
    return [b for b in text.split("\n") if b]


def _is_label(line: str) -> bool:
    return line[:1] in _LABEL_FIRSTS and _TEASER_PREFIX.match(line) is not None


def _has_label(line: str) -> bool:
    """A teaser label with its headline, or a label on a line of its own."""
    if line[:1] not in _LABEL_FIRSTS:
        return False
    return _TEASER_PREFIX.match(line) is not None or _TEASER_LABEL_ONLY.fullmatch(line) is not None


def _words(line: str) -> int:
    return len(line.split())


def _stamps(line: str) -> list[tuple[str, str]] | None:
    """``Updated: …`` / ``Published: … | Updated: …`` as (label, rest) pairs, else None."""
    found = []
    for part in line.split("|"):
        match = _STAMP.fullmatch(part.strip())
        if match is None:
            return None
        label = match["label"].lower()
        kind = "updated" if any(u in label for u in _UPDATE_LABELS) else "published"
        found.append((kind, match["rest"]))
    return found


def _take_meta(line: str, out: Structure) -> bool:
    """Record ``line`` as a credit or stamps and return True, when it is one whole."""
    if line[:1] not in _META_FIRSTS or len(line) > _META_MAX_CHARS:
        return False
    if _CREDIT.fullmatch(line):
        out.credits.append(line.strip())
        return True
    stamps = _stamps(line) if line[:1] in _STAMP_FIRSTS else None
    if stamps:
        out.stamps += stamps
        return True
    return False


def _strip_meta(block: str, out: Structure) -> str:
    """``block`` without its credit and stamp lines, and without a trailing ``(… PTI)``."""
    if "\n" not in block:
        if block[:1] in _META_FIRSTS and _take_meta(block, out):
            return ""
    else:
        lines = block.split("\n")
        if any(line[:1] in _META_FIRSTS for line in lines):
            block = "\n".join(line for line in lines if not _take_meta(line, out))
    start = block.rfind("(", max(0, len(block) - _META_MAX_CHARS)) if block.endswith(")") else -1
    if start > 0:
        head, tail = block[:start].rstrip(), block[start:]
        if _ends_like_prose(head) and _CREDIT.fullmatch(tail):
            out.credits.append(tail)
            block = head
    return block


def _may_hold_meta(block: str) -> bool:
    """A cheap test that :func:`_strip_meta` may find something in ``block``."""
    return block[:1] in _META_FIRSTS or block[-1:] == ")" or "\n" in block


def _is_place(candidate: str, most_words: int) -> bool:
    """Whether a lead's ``candidate`` names a place or topic rather than opening a sentence.

    No gazetteer here: the shape decides. Short; no label (``Note``); no verb of saying
    (``मोदी ने कहा``, ``Trump said``); no grammar word in Indic or Arabic script; Latin
    words capitalised (``New Delhi``, ``Mumbai, Nov 9``, not ``the minister said``).
    """
    words = candidate.replace(",", " ").split()
    if not words or len(words) > most_words or candidate.strip().lower() in _NOT_PLACES:
        return False
    for word in words:
        if word.lower() in _SPEECH:
            return False
        if word.isascii():
            if word[:1].islower():
                return False
        elif word in STOPWORDS:
            return False
    return True


def _is_headline_line(block: str) -> bool:
    """A plain-text article's first block that is its headline: one line, no sentence end."""
    return (
        "\n" not in block
        and len(block) <= _HEADLINE_MAX_CHARS
        and _words(block) >= 2
        and not _ends_like_prose(block)
        and _INNER_STOP.search(block) is None
        and _LEAD.match(block) is None
        and _DATELINE_ONLY.match(block) is None
        and not _is_label(block)
    )


def _take_front(blocks: list[str], out: Structure, title: str | None) -> list[str]:
    """Take stamps, credits, the headline line and the lead from the front of ``blocks``."""
    start = _skip_meta(blocks, 0, out)
    if len(blocks) - start > 1:
        first = blocks[start].strip()
        if title is not None and _SPACE.sub(" ", first).casefold() == title.casefold():
            start = _skip_meta(blocks, start + 1, out)  # the body repeats the given title
        elif title is None and _is_headline_line(first):
            out.title = first
            start = _skip_meta(blocks, start + 1, out)
    blocks = blocks[start:]
    if blocks:
        blocks[0] = _take_lead(blocks[0], out)
    return blocks


def _skip_meta(blocks: list[str], start: int, out: Structure) -> int:
    """The index of the first block from ``start`` on that is not only credits and stamps."""
    while start < len(blocks):
        blocks[start] = _strip_meta(blocks[start], out)
        if blocks[start].strip():
            break
        start += 1
    return start


def _take_lead(block: str, out: Structure) -> str:
    kicker = _KICKER.match(block)
    if kicker:
        block = block[kicker.end() :]
    match = _LEAD.match(block)
    if match:
        out.source = match["source"].strip()
        out.source_alias = match["alias"].strip()
        out.dateline = match["dateline"].strip()
        out.lead = block[: match.end()]
        return block[match.end() :]
    match = _AGENCY_LEAD.match(block)
    if match and _words(match["agency"]) <= 4 and _is_place(match["dateline"], 5):
        out.dateline = match["dateline"].strip()
        out.credits.append(match["agency"].strip())
        out.lead = block[: match.end()]
        return block[match.end() :]
    match = _DATELINE_ONLY.match(block)
    if match and _is_place(match["dateline"], 3 if match["mark"] == "।" else 5):
        out.dateline = match["dateline"].strip()
        out.lead = block[: match.end()]
        return block[match.end() :]
    return block


def _is_bare_teaser(block: str) -> bool:
    """Whether a one-line block without a label has a teaser headline's shape.

    Never when it holds a complete sentence followed by more text, or ends in a full stop
    or a quotation. Otherwise a clickbait cue (``जानें``) is evidence; so is, in Indic or
    Arabic script, a headline of two clauses (``X, Y``) that ends, with a mark or none, on
    a content word (``…, क्या अब विदेश नहीं जा पाएंगे इजराइली पीएम?``, ``…, बातचीत के दिए
    संकेत``) where prose ends on a grammar word (``… माहौल है!``). A Latin-script line
    has no such tell (English prose ends on any word), so without a cue it stays.
    """
    if _INNER_STOP.search(block) or block[-1:] in CLOSERS or _ends_like_prose(block):
        return False
    words = block.split()
    if any(w.strip(",?!؟") in _CUES for w in words):
        return True
    final = words[-1].rstrip(MARKS)
    return (
        ("," in block or "،" in block)
        and len(words) >= _TEASER_MIN_WORDS
        and not final.isascii()
        and final not in STOPWORDS
    )


def parse_structure(text: str, title: str | None = None) -> Structure:
    """Split normalized ``text`` into lead, paragraphs, subheadings and teaser headlines.

    ``title`` is the article's given title, if any: a first line that repeats it leaves
    the body; without one, a plain-text article's one-line first block followed by a blank
    line is its headline (:attr:`Structure.title`). Per block: credit and stamp lines are
    metadata; a teaser label (``ये भी पढ़ें:``, ``Check Also:`` ...) makes its lines
    related headlines; a one-line block after the first that does not end in a full stop
    is a subheading when short and followed by more text (and not ending in ``?``/``!``),
    a related headline when it has a teaser's shape (:func:`_is_bare_teaser`) or is short
    and last, and otherwise stays a paragraph.
    """
    out = Structure(body="")
    blocks = _take_front(_blocks(text), out, title)
    kept: list[str] = []
    blocks = [
        stripped
        for b in blocks
        if (stripped := _strip_meta(b, out) if _may_hold_meta(b) else b).strip()
    ]
    last = len(blocks) - 1
    pending_label = False
    for index, block in enumerate(blocks):
        if pending_label:
            # A label on a line of its own ("ये भी पढ़ें:") applies to the next block.
            pending_label = False
            lines = block.split("\n")
            if not any(map(_ends_like_prose, lines)):
                out.related_headlines += lines
                continue
        if block[:1] in _LABEL_FIRSTS and _TEASER_LABEL_ONLY.fullmatch(block):
            pending_label = True
            continue
        one_line = "\n" not in block
        if one_line:
            if _is_label(block):
                out.related_headlines.append(_TEASER_PREFIX.sub("", block, count=1))
                continue
        elif any(map(_has_label, lines := block.split("\n"))):
            block = _take_labelled(lines, out)  # noqa: PLW2901 - the block without its teasers
            if not block:
                continue
            one_line = "\n" not in block
        if index > 0 and one_line and not _ends_like_prose(block):
            short = _words(block) <= SUBHEADING_MAX_WORDS and len(block) <= SUBHEADING_MAX_CHARS
            marked = block[-1:] in MARKS
            if short and index < last and not marked and not _INNER_STOP.search(block):
                out.subheadings.append(block)
                kept.append(block)
                continue
            if _is_bare_teaser(block) or (short and index == last and not marked):
                out.related_headlines.append(block)
                continue
        out.paragraphs.append(block)
        kept.append(block)
    out.body = "\n\n".join(kept)
    return out


def _take_labelled(lines: list[str], out: Structure) -> str:
    """The story lines of a block with teaser lines; the teasers go to ``out``."""
    story: list[str] = []
    after_label = False  # a label line of its own: the lines after it are headlines
    for line in lines:
        if line[:1] in _LABEL_FIRSTS and _TEASER_LABEL_ONLY.fullmatch(line):
            after_label = True
            continue
        stripped = _TEASER_PREFIX.sub("", line, count=1) if _is_label(line) else line
        if stripped != line or (after_label and not _ends_like_prose(line)):
            if stripped:
                out.related_headlines.append(stripped)
            continue
        after_label = False
        story.append(line)
    return "\n".join(story)


def first_sentence(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    """The first sentence of ``text``, cut at a word boundary to at most ``limit`` characters."""
    match = SENTENCE_END.search(text)
    sentence = text[: match.end()] if match else text.split("\n", 1)[0]
    sentence = _SPACE.sub(" ", sentence).strip()
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"
