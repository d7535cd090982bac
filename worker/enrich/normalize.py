"""Unicode normalization for news text, and the matching key used for lookups.

:func:`normalize_text` produces the canonical text that every later step (and the
enriched record's ``body``) uses. It is idempotent and gives identical output for
canonically equivalent inputs, because it starts and ends with NFC and repeats its
pass until nothing changes. Every step is linear in the length of the text, and the
passes are bounded, so the cost of a message is linear in its size.

:func:`matching_key` folds spelling variation that Hindi writers treat as the same word
(nukta, chandrabindu/anusvara, case, joiners). It is for comparison only: the text
itself keeps the writer's spelling.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from worker.enrich.lexicon import fold
from worker.enrich.markup import strip_tags, unescape_entities
from worker.enrich.mojibake import SUSPECT_CODE_POINTS, repair_mojibake, unrepaired_runs
from worker.enrich.streamsafe import class_ranges, has_supplementary, limit_combining_marks

NUKTA = "\u093c"
VIRAMAS = "\u094d\u09cd\u0a4d\u0acd\u0b4d\u0bcd\u0c4d\u0ccd\u0d4d\u0dca"
ZWNJ, ZWJ = "\u200c", "\u200d"


def _code_points(categories: tuple[str, ...]) -> dict[str, frozenset[int]]:
    """Every code point of each of ``categories`` (one pass over the code space)."""
    found: dict[str, list[int]] = {name: [] for name in categories}
    for cp in range(sys.maxunicode + 1):
        bucket = found.get(unicodedata.category(chr(cp)))
        if bucket is not None:
            bucket.append(cp)
    return {name: frozenset(cps) for name, cps in found.items()}


def _chars(text: str) -> frozenset[int]:
    return frozenset(map(ord, text))


def _class(code_points: Iterable[int]) -> str:
    """A regex character class of ``code_points``."""
    return f"[{class_ranges(sorted(code_points))}]"


class _Scan:
    """Whether a text holds any character of a set, as fast as CPython allows.

    The regex engine tests a class of BMP code points with one bitmap lookup, but a class
    that also holds supplementary ones range by range: 4 times slower (20 ns a character
    for the classes below). So the supplementary members get a class of their own, read
    only when the text has a supplementary character at all; ASCII text is read as bytes
    (``bytes.translate`` deleting the members is 5 times faster than the regex).
    """

    __slots__ = ("_ascii", "_bmp", "_wide")

    def __init__(self, code_points: Iterable[int]) -> None:
        members = sorted(set(code_points))
        self._ascii = bytes(cp for cp in members if cp < 0x80)
        self._bmp = re.compile(_class(cp for cp in members if cp <= 0xFFFF))
        wide = [cp for cp in members if cp > 0xFFFF]
        self._wide = re.compile(_class(wide)) if wide else None

    def found_in(self, text: str) -> bool:
        """True when ``text`` holds at least one member."""
        if text.isascii():
            return len(text.encode("ascii").translate(None, self._ascii)) != len(text)
        if self._bmp.search(text) is not None:
            return True
        return (
            self._wide is not None
            and has_supplementary(text)
            and self._wide.search(text) is not None
        )


_CATEGORY = _code_points(("Cc", "Cf"))
_JOINERS = _chars(ZWNJ + ZWJ)
_BIDI = _chars("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SURROGATES = frozenset(range(0xD800, 0xE000))

# Controls (Cc) except newline and tab, lone surrogates (Cs: they cannot be encoded as
# UTF-8, so a record containing one could not be published), and format characters (Cf:
# BOM, ZWSP, soft hyphen, word joiner, invisible operators...) except the bidi controls and
# joiners, which get their own counters and rules below. U+FFFD is counted separately: its
# presence means text was lost before it reached us.
_CONTROL = re.compile(_class(_CATEGORY["Cc"] - _chars("\n\t")))
_SURROGATE = re.compile("[\ud800-\udfff]")
# In two classes, BMP and beyond (see _Scan): one pattern with both is 4 times slower.
_FORMAT_POINTS = _CATEGORY["Cf"] - _JOINERS - _BIDI
_FORMAT = re.compile(_class(cp for cp in _FORMAT_POINTS if cp <= 0xFFFF))
_FORMAT_WIDE = re.compile(_class(cp for cp in _FORMAT_POINTS if cp > 0xFFFF))
_BIDI_RE = re.compile(_class(_BIDI))
# Everything the removal steps act on, for one cheap scan before them.
_INVISIBLE_POINTS = (
    (_CATEGORY["Cc"] | _CATEGORY["Cf"]) - _chars("\n\t\r") - _JOINERS | _SURROGATES | {0xFFFD}
)
_INVISIBLE = _Scan(_INVISIBLE_POINTS)
# What an identifier (the producer's `id`) must not contain: every control and format
# character (joiners and line breaks too: an id is no text to shape or wrap), line and
# paragraph separators, lone surrogates and U+FFFD. A U+202E in an id displays it reversed.
NOT_IN_IDENTIFIERS = re.compile(_class(_INVISIBLE_POINTS | _chars("\n\t\r\u2028\u2029") | _JOINERS))
# Anything at all for a pass to do after the mojibake repair (which runs first, with its
# own cheap check): invisibles, joiners, odd spaces and line breaks, markup, entities.
_NEEDS_WORK_POINTS = (
    _INVISIBLE_POINTS
    | _chars("\t\r\u0085\u00a0\u1680\u2028\u2029\u202f\u205f\u3000<&")
    | frozenset(range(0x2000, 0x200B))
)
_NEEDS_WORK = _Scan(_NEEDS_WORK_POINTS)
# The same, or a character the mojibake repair looks at: clean text pays one scan.
_NEEDS_ANY_WORK = _Scan(_NEEDS_WORK_POINTS | SUSPECT_CODE_POINTS)
_REPLACEMENT = re.compile("\ufffd")
# ZWJ/ZWNJ shape Indic conjuncts only next to a virama (क्‍ष); ZWNJ also separates
# Arabic-script letters in Urdu/Persian spellings. Anywhere else they are invisible noise.
_ARABIC_LETTERS = frozenset(
    chr(c) for c in [*range(0x0620, 0x064B), *range(0x066E, 0x06D4), *range(0x06FA, 0x0700)]
)


def _stray_joiners(text: str) -> list[int]:
    """Positions of ZWJ/ZWNJ that shape nothing (found with ``str.find``: they are rare).

    A joiner stays next to a virama (क्‍ष); a ZWNJ also stays between two Arabic-script
    letters. Neighbours are read in the original text, so a run of joiners is judged
    as a whole.
    """
    out: list[int] = []
    for joiner in (ZWJ, ZWNJ):
        i = text.find(joiner)
        while i != -1:
            before = text[i - 1] if i else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            keep = (before and before in VIRAMAS) or (after and after in VIRAMAS)
            if not keep and joiner == ZWNJ:
                keep = before in _ARABIC_LETTERS and after in _ARABIC_LETTERS
            if not keep:
                out.append(i)
            i = text.find(joiner, i + 1)
    return sorted(out)


def _remove_at(text: str, positions: list[int]) -> str:
    pieces, last = [], 0
    for i in positions:
        pieces.append(text[last:i])
        last = i + 1
    pieces.append(text[last:])
    return "".join(pieces)


# The patterns of this section start with a class or a literal, so that the regex engine
# skips to a candidate in a tight loop: written as alternations (``\r\n?|[\u0085\u2028]``,
# ``[^\S\n]{2,}|[^\S\n ]``, `` *\n *``) they were tried at every position, 40-150 ns a
# character.
_NEWLINES = re.compile("[\r\u0085\u2028](?:(?<=\r)\n)?")
_PARAGRAPH_SEPARATOR = re.compile("\u2029")
# Only what needs changing: a run of two or more, or any space that is not U+0020. The
# spaces are those of ``\s`` (str.isspace), listed: the engine tests a category per
# character, a list with a bitmap.
# (All of them are in the BMP.)
_SPACE_POINTS = [cp for cp in range(0x10000) if chr(cp).isspace() and chr(cp) != "\n"]
_SPACE, _ODD_SPACE = _class(_SPACE_POINTS), _class(cp for cp in _SPACE_POINTS if cp != 0x20)
_SPACES = re.compile(f"{_SPACE}(?:{_SPACE}+|(?<={_ODD_SPACE}))")
_BLANK_LINES = re.compile("\n\n\n+")

# Devanagari letters after which a nukta composes (U+0929, U+0931, U+0934 are not
# composition exclusions), and the nukta's canonical combining class.
_NUKTA_COMPOSES_AFTER = "\u0928\u0930\u0933"
_NUKTA_CCC = 7


# No code point above this has a combining class (as in worker.enrich.streamsafe).
_LAST_MARK = 0x2FFFF


def _nukta_changes() -> re.Pattern[str]:
    """A nukta that NFC may change (see fast_nfc): after one of those letters or after a
    mark that sorts after it (the first nukta of a run), before a mark that sorts before it
    (the last), or after one of those: it does not block a letter's composition with the
    nukta (ळ, U+0334, nukta is ऴ, U+0334 in NFC). They (classes 1-6: overlays, some Vedic
    marks) are rare, so a nukta after one gets the full NFC, without a look back to the
    letter (a lookbehind has a fixed width). One scan that stops only at nuktas."""
    before, after = list(map(ord, _NUKTA_COMPOSES_AFTER)), []
    for cp in range(_LAST_MARK + 1):
        ccc = unicodedata.combining(chr(cp))
        if ccc > _NUKTA_CCC:
            before.append(cp)
        elif 0 < ccc < _NUKTA_CCC:
            after.append(cp)
    return re.compile(f"{NUKTA}(?:(?<={_class(before + after)}{NUKTA})|(?={_class(after)}))")


_NUKTA_CHANGES = _nukta_changes()

_MAX_PASSES = 6
# The change name for combining marks cut beyond 30 in a row (see worker.enrich.streamsafe).
MARKS_CUT = "combining_marks_removed"


@dataclass(slots=True)
class NormalizationReport:
    """What :func:`normalize_text` changed, and how often.

    ``lossy`` is true when text had been lost before it reached us (U+FFFD in the input),
    a mojibake repair had to guess or give up a byte (one that cp1252 cannot carry, or a
    byte A0 turned into a space), in any script, left a run of mojibake undecoded
    (``mojibake_unrepaired``: a lost byte in a script no guesser knows), or combining
    marks beyond 30 in a row were cut (:mod:`worker.enrich.streamsafe`).
    """

    changes: dict[str, int] = field(default_factory=dict)
    lossy: bool = False

    def add(self, what: str, count: int) -> None:
        if count:
            self.changes[what] = self.changes.get(what, 0) + count

    def as_dict(self) -> dict[str, object]:
        return {"changes": dict(sorted(self.changes.items())), "lossy": self.lossy}


def fast_nfc(text: str) -> str:
    """Return ``unicodedata.normalize('NFC', text)``, skipping the work when it is a no-op.

    CPython's quick check answers "maybe" for every nukta (it could compose with the
    letter before it), so ordinary Hindi text always paid for a full normalization. Here
    a nukta is checked against the only two ways it can change under NFC: composing
    with न, र or ळ (next to it, or across marks of classes 1-6), or being reordered
    against a neighbouring mark.
    """
    if NUKTA not in text:
        return unicodedata.normalize("NFC", text)
    if _NUKTA_CHANGES.search(text) or not unicodedata.is_normalized("NFC", text.replace(NUKTA, "")):
        return unicodedata.normalize("NFC", text)
    return text


def _nfc(text: str, report: NormalizationReport) -> str:
    """NFC after the Stream-Safe bound on combining marks, which keeps NFC linear."""
    text, cut = limit_combining_marks(text)
    if cut:
        report.add(MARKS_CUT, cut)
        report.lossy = True  # the marks were sent; the record no longer has them
    return fast_nfc(text)


def _repair(text: str, report: NormalizationReport, seen: set[str]) -> str:
    repair = repair_mojibake(text, seen)
    report.add("mojibake_repaired", repair.repaired)
    report.add("mojibake_bytes_guessed", repair.guessed)
    report.add("mojibake_bytes_lost", repair.lost)
    if repair.guessed or repair.lost:
        report.lossy = True
    return repair.text


def _ascii_edges(text: str, trimmed: str) -> bool:
    """Whether what ``str.strip`` took from ``text`` to give ``trimmed`` is all ASCII: such
    edges change nothing the mojibake repair decides (as the idempotence tests find), and
    the common trailing newline must not cost a second repair."""
    start = len(text) - len(text.lstrip())
    return (text[:start] + text[start + len(trimmed) :]).isascii()


def _normalize_pass(
    text: str, report: NormalizationReport, seen: set[str], first: bool
) -> tuple[str, bool, bool]:
    """One pass of every step; returns the text, whether it was already clean, and whether
    it holds no character that the mojibake repair looks at.

    The mojibake repair comes first, before the text is trimmed and before any line-break
    or control handling: U+0085 (the last byte of अ, E0 A4 85, read as Latin-1),
    U+00A0 and U+00AD are bytes of mojibake until the repair has had its say.

    Only the ``first`` pass starts with the NFC step: a later one is given what a pass
    returned, the NFC step's output (or that, trimmed), which the step leaves
    as it is: no run of marks is over the bound, and fast_nfc returns its input or its
    NFC, either of which it returns unchanged.
    """
    if first:
        text = _nfc(text, report)
    suspicious = _NEEDS_ANY_WORK.found_in(text)
    clean = True
    if suspicious:
        repaired = _repair(text, report, seen)
        if repaired != text:
            text, clean = _nfc(repaired, report), False
    trimmed = text.strip()
    if suspicious and clean and len(trimmed) != len(text) and not _ascii_edges(text, trimmed):
        # The repair judged the text with its edges, and a space that ftfy's heuristic
        # weighs (NBSP, U+0085, U+3000...) can hide mojibake from it: it leaves "\xa0à¤•"
        # as it is, and repairs "à¤•". The trimmed text is judged again in another pass,
        # or a second call would repair what this one returned.
        clean = False
    text = trimmed
    if (
        clean
        and not (suspicious and _NEEDS_WORK.found_in(text))
        and "  " not in text
        and " \n" not in text
        and "\n " not in text
        and "\n\n\n" not in text
        and ((ZWJ not in text and ZWNJ not in text) or not _stray_joiners(text))
    ):
        return text, True, not suspicious  # the common case: one scan, no copies
    original = text

    if "\r" in text or "\u0085" in text or "\u2028" in text or "\u2029" in text:
        text, n = _NEWLINES.subn("\n", text)
        report.add("line_breaks_unified", n)
        text, n = _PARAGRAPH_SEPARATOR.subn("\n\n", text)
        report.add("line_breaks_unified", n)
    if "<" in text:
        text, n = strip_tags(text)
        report.add("html_tags_removed", n)
    if "&" in text:
        text, n = unescape_entities(text)
        report.add("html_entities_unescaped", n)
    if _INVISIBLE.found_in(text):
        text, n = _CONTROL.subn("", text)
        report.add("control_chars_removed", n)
        text, n = _SURROGATE.subn("", text)
        report.add("surrogates_removed", n)
        text, n = _FORMAT.subn("", text)
        report.add("invisible_chars_removed", n)
        if has_supplementary(text):
            text, n = _FORMAT_WIDE.subn("", text)
            report.add("invisible_chars_removed", n)
        text, n = _BIDI_RE.subn("", text)
        report.add("bidi_controls_removed", n)
        text, n = _REPLACEMENT.subn("", text)
        if n:
            report.add("replacement_chars_removed", n)
            report.lossy = True
    if ZWJ in text or ZWNJ in text:
        stray = _stray_joiners(text)
        text = _remove_at(text, stray)
        report.add("joiners_removed", len(stray))

    text, n = _SPACES.subn(" ", text)
    report.add("spaces_normalized", n)
    # Spaces at line edges go. There are no two spaces in a row now, so each is removed by
    # one of two replacements, and removing one never puts another beside a line break.
    text = text.replace(" \n", "\n").replace("\n ", "\n")
    if "\n\n\n" in text:
        text, n = _BLANK_LINES.subn("\n\n", text)
        report.add("blank_lines_collapsed", n)
    text = text.strip()

    return (text if text == original else _nfc(text, report)), False, False


def normalize_text(text: str) -> tuple[str, NormalizationReport]:
    """Normalize ``text`` and report what changed.

    Steps, in order: runs of combining marks cut to 30 (Stream-Safe Text Format, see
    :mod:`worker.enrich.streamsafe`; before every NFC, which is quadratic in a run's
    length in CPython); NFC; mojibake (UTF-8 read as cp1252, Latin-1 or another code page,
    once or twice: :mod:`worker.enrich.mojibake`; C1 characters read as cp1252); line
    breaks unified (CRLF, CR, NEL, U+2028 to ``\\n``; U+2029 to a blank line); HTML tags
    and entities; controls, format characters, bidi controls, U+FFFD and stray ZWJ/ZWNJ
    removed; space characters to one space; lines trimmed, blank-line runs collapsed to
    one; NFC again. The pass repeats until the text is stable, which makes the function
    idempotent even when one step uncovers work for an earlier one (``&am\\x01p;`` becomes
    ``&amp;`` only after the control character is gone).
    """
    report = NormalizationReport()
    seen: set[str] = set()  # lines ftfy returned, hence its fixed points: not judged twice
    plain = False
    for done in range(_MAX_PASSES):
        changes = sum(report.changes.values())
        new, clean, plain = _normalize_pass(text, report, seen, first=not done)
        # Stable when the fast check found nothing to do, or a full pass changed nothing
        # (legitimate joiners keep text off the fast path).
        stable = clean or (new == text and sum(report.changes.values()) == changes)
        text = new
        if stable:
            break
    if not plain:
        # Mojibake that lost a byte in a script no guesser knows is left as it came: say so.
        # (A text the last pass found plain has none: it holds no lead byte's character.)
        left = unrepaired_runs(text)
        if left:
            report.add("mojibake_unrepaired", left)
            report.lossy = True
    return text, report


def matching_key(text: str) -> str:
    """Fold ``text`` for matching: no nukta, chandrabindu as anusvara, case folded, no joiners.

    ``matching_key("ज़ेलेंस्की") == matching_key("जेलेंस्की")``. Never use the key as text.
    The one folding rule of the core, :func:`worker.enrich.lexicon.fold`.
    """
    return fold(text)
