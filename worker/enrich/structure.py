"""The layout of a feed article: title, lead, paragraphs, subheadings, teasers, credits.

Newsroom feeds deliver stories as plain text with a lead before the first sentence
(``India News (इंडिया न्यूज), Russia North Korea Treaty: ``, ``New Delhi: ``,
``नई दिल्ली। ``, ``Mumbai (PTI) – ``), short subheading lines between paragraphs,
"related story" teaser headlines injected by the CMS (``ये भी पढ़ें: …``, ``Check Also: …``,
or a bare headline line), wire credits (``PTI``, ``(इनपुट: एजेंसी भाषा)``) and time stamps
(``Updated: July 2, 2018, 9:03 AM IST``). Teasers, credits and stamps are not part of the
story, so they leave the body; the lead becomes ``source``/``dateline``.

Body text is never dropped on a guess: a block leaves the body only on evidence (a label,
a credit or stamp shape, a headline shape prose lacks). Teaser labels and shapes are in
:mod:`worker.enrich.teasers`, sentence ends in :mod:`worker.enrich.sentences` (re-exported
here for the pipeline).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from worker.enrich import lexicon as lx
from worker.enrich.dates import extract_dates
from worker.enrich.lexicon import STOPWORDS
from worker.enrich.sentences import (
    CLOSERS,
    FULL_STOPS,
    INNER_STOP,
    MARKS,
    SENTENCE_END,
    TITLE_MAX_CHARS,
    ends_like_prose,
    ends_sentence,
    first_sentence,
)
from worker.enrich.teasers import (
    alternation,
    has_label,
    is_bare_teaser,
    is_label,
    is_label_only,
    nfc_phrases,
    strip_label,
    take_labelled,
)

__all__ = [
    "CLOSERS",
    "FULL_STOPS",
    "MARKS",
    "SENTENCE_END",
    "TITLE_MAX_CHARS",
    "Structure",
    "ends_sentence",
    "first_sentence",
    "parse_structure",
]

SUBHEADING_MAX_WORDS = 9
SUBHEADING_MAX_CHARS = 80
_HEADLINE_MAX_CHARS = 200  # a first line longer than this is no headline


# --- credits and stamps -----------------------------------------------------------------
_AGENCIES = nfc_phrases(lx.AGENCIES)
_AGENCY = alternation(_AGENCIES)
_AGENCY_LIST = rf"(?:{_AGENCY})(?:\s*(?:[,/&|]|and|और)\s*(?:{_AGENCY}))*"
_AGENCY_ONLY = re.compile(_AGENCY_LIST, re.IGNORECASE)
_INPUT_PHRASES, _INPUT_LABELS = nfc_phrases(lx.INPUT_PHRASES), nfc_phrases(lx.INPUT_LABELS)
_CREDIT = re.compile(
    # `PTI`, `(PTI)`, `— IANS`, `By Reuters`, `PTI/ANI`
    rf"[\s(\[\-–—]*(?:by\s+)?{_AGENCY_LIST}[\s)\].\-–—]*"
    # `With inputs from Reuters`; `(इनपुट: एजेंसी भाषा)`, `Courtesy: ANI`, `(Courtesy ANI)`: a
    # bare label is also a prose word, so a separator or an opening bracket must follow it.
    rf"|(?P<open>[(\[])?\s*(?:(?:{alternation(_INPUT_PHRASES)})\s*[:：\-–—]?"
    rf"|(?P<label>{alternation(_INPUT_LABELS)})(?:\s*[:：\-–—]+|(?(open)\s)))"
    r"\s*(?P<name>[^()\[\]\n]{1,80}?)\s*(?(open)[)\]])\.?"
    # NDTV's `(This story has not been edited by … staff and is … from a syndicated feed.)`
    r"|\([^()\n]{0,200}syndicated feed[^()\n]{0,20}\)",
    re.IGNORECASE,
)
# Credit and stamp lines start with a capital (or a bracket or dash): the first-character
# check rules out most prose lines before any regex runs.
_CREDIT_FIRSTS = frozenset(p[0].upper() for p in _AGENCIES + _INPUT_PHRASES + _INPUT_LABELS)
_CREDIT_FIRSTS |= frozenset("([-–—B")
_CREDIT_MAX_WORDS = 6  # the name after an input label: `Reuters`, `Ministry of Health`
_CONNECTORS = frozenset(nfc_phrases(lx.CREDIT_CONNECTORS))
_STAMP_LABELS = nfc_phrases(lx.STAMP_LABELS)
_STAMP = re.compile(
    rf"(?P<label>{alternation(_STAMP_LABELS)})\s*[:：\-–—|]\s*(?P<rest>[^|\n]*\d[^|\n]*?)\s*",
    re.IGNORECASE,
)
_STAMP_FIRSTS = frozenset(p[0].upper() for p in _STAMP_LABELS)
# What a stamp's date may have beside it: a time, a zone, brackets and punctuation (one
# character per step: `(?:[…]+)*` would backtrack exponentially on a failing line).
_ZONE = alternation(nfc_phrases(lx.STAMP_ZONES))
_CLOCK = re.compile(r"\d[:.]\d\d")
_STAMP_REST = re.compile(
    rf"(?:[\s,.;:|/()\[\]\-–—]|\d{{1,2}}[:.]\d{{2}}(?::\d{{2}})?|(?:{_ZONE})(?!\w))*", re.IGNORECASE
)
_UPDATE_LABELS = tuple(nfc_phrases(lx.UPDATE_LABELS))
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


# Each lead shape needs its bracket or mark near the start (the widths above bound where):
# a test of the first characters spares the regex, which backtracks over them otherwise.
def _lead(block: str) -> re.Match[str] | None:
    return _LEAD.match(block) if "(" in block[:61] else None


def _agency_lead(block: str) -> re.Match[str] | None:
    return _AGENCY_LEAD.match(block) if "(" in block[:43] else None


def _dateline_only(block: str) -> re.Match[str] | None:
    head = block[:43]
    return _DATELINE_ONLY.match(block) if ":" in head or "|" in head or "।" in head else None


# Kicker labels in front of a lead: dropped, they are no part of the story.
_KICKER = re.compile("(?:" + alternation(nfc_phrases(lx.KICKERS)) + r")\s*[:：|\-–—]+\s*", re.I)
# Labels that read like `Place: ` but are not datelines.
_NOT_PLACES = frozenset(nfc_phrases(lx.NOT_PLACES))
# Verbs of saying: `X said: ` opens a quotation, not a dateline.
_SPEECH = frozenset(nfc_phrases(lx.SPEECH_VERBS))
_FIRST_PERSON = frozenset(nfc_phrases(lx.FIRST_PERSON))
_QUOTES = "\"'“‘«"


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


def _blocks(text: str) -> list[str]:
    """Paragraph blocks: blank-line separated, or one per line when there are no blank lines."""
    if "\n\n" in text:
        return [b for b in text.split("\n\n") if b]
    return [b for b in text.split("\n") if b]


def _stamps(line: str) -> list[tuple[str, str]] | None:
    """``Updated: …`` / ``Published: … | Updated: …`` as (label, rest) pairs, else None."""
    found = []
    for part in line.split("|"):
        match = _STAMP.fullmatch(part.strip())
        if match is None:
            return None
        # The rest is a date or a time and little else (`Jul 2, 2018 09:03 AM IST`, `09:03
        # IST`); `Updated: The toll rose to 12 on Tuesday` is a sentence: it stays body text.
        date = next(iter(extract_dates(rest := match["rest"])), None)
        around = rest if date is None else rest[: date.start] + rest[date.end :]
        if not (date or _CLOCK.search(rest)) or not _STAMP_REST.fullmatch(around):
            return None
        label = match["label"].lower()
        kind = "updated" if any(u in label for u in _UPDATE_LABELS) else "published"
        found.append((kind, rest))
    return found


def _is_credit(text: str) -> bool:
    """Whether ``text`` is a whole credit: an agency, or an input label and a name (a known
    agency, or at most six words with no verb of saying and no grammar word but a connector;
    after a bare label, a Latin name starts with a capital: `Source: Ministry of Health`,
    not `Source: officials said`, nor `Inputs from farmers were sought by the panel.`)."""
    match = _CREDIT.fullmatch(text)
    if match is None or match["name"] is None or _AGENCY_ONLY.fullmatch(match["name"]):
        return match is not None
    words = match["name"].split()
    if len(words) > _CREDIT_MAX_WORDS or any(
        w.lower() in _SPEECH or (w in STOPWORDS and w.lower() not in _CONNECTORS) for w in words
    ):
        return False
    return match["label"] is None or not words[0].isascii() or not words[0][:1].islower()


def _take_meta(line: str, out: Structure) -> bool:
    """Record ``line`` as a credit or stamps and return True, when it is one whole."""
    if line[:1] not in _META_FIRSTS or len(line) > _META_MAX_CHARS:
        return False
    if _is_credit(line):
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
        if ends_like_prose(head) and _is_credit(tail):
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
    label = candidate.rstrip("0123456789.) ").lower()  # `Step 1`, `Question 2` are labels
    if not words or len(words) > most_words or label in _NOT_PLACES or candidate[0] in _QUOTES:
        return False
    return not any(
        w.lower() in _SPEECH or (w[:1].islower() if w.isascii() else w in STOPWORDS) for w in words
    )


def _is_headline_line(block: str) -> bool:
    """A plain-text article's first block that is its headline: one line, no sentence end."""
    return (
        "\n" not in block
        and len(block) <= _HEADLINE_MAX_CHARS
        and len(block.split()) >= 2
        and not ends_like_prose(block)
        and INNER_STOP.search(block) is None
        and _lead(block) is None
        and _dateline_only(block) is None
        and not is_label(block)
    )


def _take_front(blocks: list[str], out: Structure, title: str | None) -> list[str]:
    """Take stamps, credits, the headline line and the lead from the front of ``blocks``."""
    start = _skip_meta(blocks, 0, out)
    if len(blocks) - start > 1:
        first = blocks[start].strip()
        if title is not None and " ".join(first.split()).casefold() == title.casefold():
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
    match = _lead(block)
    if match:
        out.source = match["source"].strip()
        out.source_alias = match["alias"].strip()
        out.dateline = match["dateline"].strip()
        out.lead = block[: match.end()]
        return block[match.end() :]
    match = _agency_lead(block)
    agency = match["agency"].strip() if match else ""  # `(BJP)`, `(File Photo)` are none
    if match and _AGENCY_ONLY.fullmatch(agency) and _is_place(match["dateline"], 5):
        out.dateline = match["dateline"].strip()
        out.credits.append(agency)
        out.lead = block[: match.end()]
        return block[match.end() :]
    match = _dateline_only(block)
    if match and _is_place(match["dateline"], 3 if match["mark"] == "।" else 5):
        # `Rahul Gandhi: We will fight…` quotes a speaker; a dateline's story is reported.
        if match["mark"] == ":" and block[match.end() :].split(" ", 1)[0] in _FIRST_PERSON:
            return block
        out.dateline = match["dateline"].strip()
        out.lead = block[: match.end()]
        return block[match.end() :]
    return block


def parse_structure(text: str, title: str | None = None) -> Structure:
    """Split normalized ``text`` into lead, paragraphs, subheadings and teaser headlines.

    ``title`` is the article's given title, if any: a first line that repeats it leaves
    the body; without one, a plain-text article's one-line first block followed by a blank
    line is its headline (:attr:`Structure.title`). Per block: credit and stamp lines are
    metadata; a teaser label (``ये भी पढ़ें:``, ``Check Also:`` ...) makes its lines
    related headlines; a one-line block after the first that does not end in a full stop
    is a subheading when short and followed by more text (and not ending in ``?``/``!``),
    a related headline when it has a teaser's shape (:func:`_is_bare_teaser`), and
    otherwise stays a paragraph.
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
            if not any(map(ends_like_prose, lines)):
                out.related_headlines += lines
                continue
        if is_label_only(block):
            pending_label = True
            continue
        one_line = "\n" not in block
        if one_line:
            if is_label(block):
                out.related_headlines.append(strip_label(block))
                continue
        elif any(map(has_label, lines := block.split("\n"))):
            block = take_labelled(lines, out.related_headlines)  # noqa: PLW2901 - the block without its teasers
            if not block:
                continue
            one_line = "\n" not in block
        if index > 0 and one_line and not ends_like_prose(block):
            short = (
                len(block.split()) <= SUBHEADING_MAX_WORDS and len(block) <= SUBHEADING_MAX_CHARS
            )
            marked = block[-1:] in MARKS
            if short and index < last and not marked and not INNER_STOP.search(block):
                out.subheadings.append(block)
                kept.append(block)
                continue
            # A short unterminated last block is no teaser by itself (`The work is
            # expected to finish by December`): it needs a teaser's shape.
            if is_bare_teaser(block):
                out.related_headlines.append(block)
                continue
        out.paragraphs.append(block)
        kept.append(block)
    out.body = "\n\n".join(kept)
    return out
