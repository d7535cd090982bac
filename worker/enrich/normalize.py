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
from dataclasses import dataclass, field

from worker.enrich.lexicon import fold
from worker.enrich.markup import strip_tags, unescape_entities
from worker.enrich.mojibake import SUSPECT_CLASS, repair_mojibake, unrepaired_runs
from worker.enrich.streamsafe import limit_combining_marks

NUKTA = "\u093c"
VIRAMAS = "\u094d\u09cd\u0a4d\u0acd\u0b4d\u0bcd\u0c4d\u0ccd\u0d4d\u0dca"
ZWNJ, ZWJ = "\u200c", "\u200d"

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"


def _category_class(categories: frozenset[str], keep: str) -> str:
    """Build a regex character class of every code point in ``categories``, minus ``keep``."""
    ranges: list[tuple[int, int]] = []
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp)) in categories and chr(cp) not in keep:
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    parts = [
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    ]
    return "[" + "".join(parts) + "]"


# Controls (Cc) except newline and tab, lone surrogates (Cs: they cannot be encoded as
# UTF-8, so a record containing one could not be published), and format characters (Cf:
# BOM, ZWSP, soft hyphen, word joiner, invisible operators...) except the bidi controls and
# joiners, which get their own counters and rules below. U+FFFD is counted separately: its
# presence means text was lost before it reached us.
_CONTROL = re.compile(_category_class(frozenset({"Cc"}), "\n\t"))
_SURROGATE = re.compile("[\ud800-\udfff]")
_FORMAT = re.compile(
    _category_class(
        frozenset({"Cf"}),
        "\u200c\u200d" + "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    )
)
_BIDI_RE = re.compile(f"[{_BIDI}]")
# Everything the removal steps act on, for one cheap scan before them.
_INVISIBLE_CLASS = (
    _category_class(frozenset({"Cc", "Cf"}), "\n\t\r\u200c\u200d")[:-1] + "\ud800-\udfff\ufffd]"
)
_INVISIBLE = re.compile(_INVISIBLE_CLASS)
# What an identifier (the producer's `id`) must not contain: every control and format
# character (joiners and line breaks too: an id is no text to shape or wrap), line and
# paragraph separators, lone surrogates and U+FFFD. A U+202E in an id displays it reversed.
NOT_IN_IDENTIFIERS = re.compile(_INVISIBLE_CLASS[:-1] + "\n\t\r\u200c\u200d\u2028\u2029]")
# Anything at all for a pass to do after the mojibake repair (which runs first, with its
# own cheap check): invisibles, joiners, odd spaces and line breaks, markup, entities.
_NEEDS_WORK = re.compile(
    _INVISIBLE_CLASS[:-1] + "\t\r\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000<&]"
)
# The same, or a character the mojibake repair looks at: clean text pays one scan.
_NEEDS_ANY_WORK = re.compile(_NEEDS_WORK.pattern[:-1] + SUSPECT_CLASS + "]")
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


_NEWLINES = re.compile("\r\n?|[\u0085\u2028]")
_PARAGRAPH_SEPARATOR = re.compile("\u2029")
# Only what needs changing: a run of two or more, or any space that is not U+0020.
_SPACES = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
_LINE_EDGES = re.compile(r" *\n *")
_BLANK_LINES = re.compile(r"\n{3,}")

# Devanagari letters after which a nukta composes (U+0929, U+0931, U+0934 are not
# composition exclusions), and the nukta's canonical combining class.
_NUKTA_COMPOSES_AFTER = frozenset("\u0928\u0930\u0933")
_NUKTA_CCC = 7

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
    with न, र or ळ, or being reordered against a neighbouring mark.
    """
    if NUKTA not in text:
        return unicodedata.normalize("NFC", text)
    if not unicodedata.is_normalized("NFC", text.replace(NUKTA, "")):
        return unicodedata.normalize("NFC", text)
    i = text.find(NUKTA)
    while i != -1:
        before = text[i - 1] if i else ""
        j = i
        while j < len(text) and text[j] == NUKTA:
            j += 1
        after = text[j] if j < len(text) else ""
        if (
            before in _NUKTA_COMPOSES_AFTER
            or (before and unicodedata.combining(before) > _NUKTA_CCC)
            or (after and 0 < unicodedata.combining(after) < _NUKTA_CCC)
        ):
            return unicodedata.normalize("NFC", text)
        i = text.find(NUKTA, j)
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


def _normalize_pass(text: str, report: NormalizationReport, seen: set[str]) -> tuple[str, bool]:
    """One pass of every step; returns the text and whether it was already clean.

    The mojibake repair comes first, before the text is trimmed and before any line-break
    or control handling: U+0085 (the last byte of अ, E0 A4 85, read as Latin-1), U+00A0 and
    U+00AD are bytes of mojibake until the repair has had its say.
    """
    text = _nfc(text, report)
    suspicious = _NEEDS_ANY_WORK.search(text) is not None
    clean = True
    if suspicious:
        repaired = _repair(text, report, seen)
        if repaired != text:
            text, clean = _nfc(repaired, report), False
    text = text.strip()
    if (
        clean
        and not (suspicious and _NEEDS_WORK.search(text))
        and "  " not in text
        and " \n" not in text
        and "\n " not in text
        and "\n\n\n" not in text
        and ((ZWJ not in text and ZWNJ not in text) or not _stray_joiners(text))
    ):
        return text, True  # the common case for clean feed text: one scan, no copies
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
    if _INVISIBLE.search(text):
        text, n = _CONTROL.subn("", text)
        report.add("control_chars_removed", n)
        text, n = _SURROGATE.subn("", text)
        report.add("surrogates_removed", n)
        text, n = _FORMAT.subn("", text)
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
    if " \n" in text or "\n " in text:
        text = _LINE_EDGES.sub("\n", text)
    if "\n\n\n" in text:
        text, n = _BLANK_LINES.subn("\n\n", text)
        report.add("blank_lines_collapsed", n)
    text = text.strip()

    return (text if text == original else _nfc(text, report)), False


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
    for _ in range(_MAX_PASSES):
        changes = sum(report.changes.values())
        new, clean = _normalize_pass(text, report, seen)
        # Stable when the fast check found nothing to do, or a full pass changed nothing
        # (legitimate joiners keep text off the fast path).
        stable = clean or (new == text and sum(report.changes.values()) == changes)
        text = new
        if stable:
            break
    if "mojibake_repaired" in report.changes or _NEEDS_ANY_WORK.search(text):
        # Mojibake that lost a byte in a script no guesser knows is left as it came: say so.
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
