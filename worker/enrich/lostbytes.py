"""The bytes that cp1252 cannot carry, guessed back into mojibake before ftfy decodes it.

cp1252 has no character for 81, 8D, 8F, 90 and 9D; tools that drop them or write U+FFFD
(or "?") lose a byte of every UTF-8 sequence that held one. Such a byte is guessed from the
neighbouring characters and put back where it was, as the C1 character a browser would
show, so that :mod:`worker.enrich.mojibake` (ftfy) decodes the run whole and consistently.
Only runs that are unmistakably mojibake are touched: Devanagari and Bengali lead pairs
(``à¤``, ``à¥``, ``à¦``, ``à§``), Arabic-script leads (``Ø``-``Û``) beside other Arabic
sequences, and a lone ``â€`` (a closing quote that lost its 9D) between clean characters.
Also here: the characters that make text suspicious (the repair's cheap check), and the
last touches after ftfy (runs it left, Arabic leads left alone).
"""

from __future__ import annotations

import codecs
import heapq
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import ftfy.chardata

_CP1252_EXTRA = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_CP1252_TO_BYTE: dict[str, int] = {
    ch: b for b in range(0x80, 0xA0) if (ch := bytes([b]).decode("cp1252", errors="ignore"))
}
# A character that stands for one byte 0x80-0xBF (a UTF-8 continuation byte).
_CONT = f"[\u0080-\u00bf{_CP1252_EXTRA}\ufffd]"
# The units of a run, in the order tried: a Devanagari/Bengali lead pair (à¤ à¥ à¦ à§) or
# a punctuation pair (â€) whose third byte may be lost (or written as "?"), an Arabic-script
# lead (Ø-Û) whose second may be lost, and whole two-, three- and four-byte sequences.
_SEQUENCE_PATTERN = (
    f"\u00e0[\u00a4-\u00a7]{_CONT}?"
    f"|\u00e2\u20ac(?:{_CONT}|\\?)?"
    f"|[\u00d8-\u00db]{_CONT}?"
    f"|[\u00c2-\u00df]{_CONT}"
    f"|[\u00e0-\u00ef]{_CONT}{{2}}"
    f"|[\u00f0-\u00f4]{_CONT}{{3}}"
)
CONTINUATION: Final = _CONT
# A run of units: ``(?:_SEQUENCE_PATTERN)+``, written so that the pattern starts with a
# class (every unit starts with a lead, C2-F4) and the first unit's alternatives, in the
# same order, look back at the lead they need: the regex engine then skips to the next
# lead in a tight loop instead of trying the alternation at every position (6 times faster
# in text with a few runs).
_RUN = re.compile(
    "[\u00c2-\u00f4]"
    f"(?:(?<=\u00e0)[\u00a4-\u00a7]{_CONT}?"
    f"|(?<=\u00e2)\u20ac(?:{_CONT}|\\?)?"
    f"|(?<=[\u00d8-\u00db]){_CONT}?"
    f"|(?<=[\u00c2-\u00df]){_CONT}"
    f"|(?<=[\u00e0-\u00ef]){_CONT}{{2}}"
    f"|(?<=[\u00f0-\u00f4]){_CONT}{{3}})"
    f"(?:{_SEQUENCE_PATTERN})*"
)
_SEQUENCE = re.compile(_SEQUENCE_PATTERN)
# Where a byte may have been lost: U+FFFD, â€?, a lead pair or Arabic lead cut short, that
# is ``\ufffd|â€\?|(?:à[¤-§]|â€|[Ø-Û])(?!CONT)``, with a class first (as _RUN).
# The same alternatives apart, each with a literal or a small class first, for the sweep,
# which needs only where gaps start: in a page of Devanagari mojibake (à every third
# character) the four scans cost half of the one.
_GAP_ALTERNATIVES = (
    re.compile("\ufffd"),
    re.compile(f"\u00e2\u20ac(?:\\?|(?!{_CONT}))"),
    re.compile(f"\u00e0[\u00a4-\u00a7](?!{_CONT})"),
    re.compile(f"[\u00d8-\u00db](?!{_CONT})"),
)
_ARABIC_LEAD = re.compile("[\u00d8-\u00db]")
_BARE_ARABIC_LEAD = re.compile(f"[\u00d8-\u00db](?!{_CONT})")
_GAP = re.compile(
    "[\ufffd\u00e0\u00e2\u00d8-\u00db]"
    "(?:(?<=\ufffd)"
    "|(?<=\u00e2)\u20ac\\?"
    f"|(?<=\u00e0)[\u00a4-\u00a7](?!{_CONT})"
    f"|(?<=\u00e2)\u20ac(?!{_CONT})"
    f"|(?<=[\u00d8-\u00db])(?!{_CONT}))"
)

# Typographic characters that cp1252 and MacRoman produce from bytes 80-BF but that clean
# English text is full of; mojibake always comes with a lead-byte character beside them.
# No sequence of these and ASCII is bad by ftfy's heuristic (checked to four characters;
# with € † ‡ ‰ ‹ › „ ‚ added, "€“" and thousands more would be), so a line without a
# suspicious character is one that ftfy leaves alone.
_TYPOGRAPHIC = "‘’“”–—…―•™"
# The cheap check: any character one of ftfy's code pages makes of a byte 80-FF (C1,
# Latin-1, Greek, Cyrillic, box drawing...), an escape (terminal colours) or a surrogate.
_SUSPECT_CHARS = sorted(
    {
        ch
        for encoding in ftfy.chardata.CHARMAP_ENCODINGS
        for ch in bytes(range(0x80, 0x100)).decode(encoding, "replace")
    }
    - set(_TYPOGRAPHIC)
)
SUSPECT_CLASS: Final = "".join(re.escape(c) for c in _SUSPECT_CHARS) + "\x1b\ud800-\udfff"
# The same characters as code points, for callers that build their own classes.
SUSPECT_CODE_POINTS: Final = frozenset([*map(ord, _SUSPECT_CHARS), 0x1B, *range(0xD800, 0xE000)])
SUSPECT: Final = re.compile(f"[{SUSPECT_CLASS}]")

_CONSONANTS = {
    0xA4: frozenset(chr(c) for c in range(0x0915, 0x093A)),  # Devanagari
    0xA6: frozenset(chr(c) for c in range(0x0995, 0x09BA)),  # Bengali
}
_VOWEL_SIGNS = {
    0xA4: frozenset(chr(c) for c in range(0x093E, 0x094D)),
    0xA6: frozenset(chr(c) for c in range(0x09BE, 0x09CD)),
}
# The lost second byte of an Arabic-script letter, by lead: ف (D9 81) and ہ (DB 81) are
# common Urdu letters; what D8 or DA lose (U+0601..., ځ ڍ ڏ) is no Urdu letter to guess.
_ARABIC_GUESS = {0xD9: 0x81, 0xDB: 0x81}


@dataclass(slots=True)
class Repair:
    """What :func:`repair_mojibake` did: the text, characters repaired, bytes guessed and
    bytes lost (either of the last two non-zero means the repair is lossy)."""

    text: str
    repaired: int = 0
    guessed: int = 0
    lost: int = 0


def _to_bytes(seq: str) -> list[int | None]:
    return [
        None if ch in "\ufffd?" else _CP1252_TO_BYTE.get(ch, ord(ch) if ord(ch) < 256 else 0)
        for ch in seq
    ]


def _incomplete(seq: str) -> bool:
    """True when ``seq`` lost a byte: a short lead pair or lead, or one holding U+FFFD."""
    if "\ufffd" in seq or "?" in seq:
        return True
    lead = ord(seq[0])
    if lead in {0xE0, 0xE2}:
        return len(seq) == 2
    return 0xD8 <= lead <= 0xDB and len(seq) == 1


def _script(seq: str) -> bool:
    """True for a whole Indic or Arabic-script sequence (evidence that a run is mojibake)."""
    lead = ord(seq[0])
    if lead == 0xE0:
        return len(seq) == 3 and 0xA4 <= ord(seq[1]) <= 0xA7 and seq[2] != "\ufffd"
    return 0xD8 <= lead <= 0xDB and len(seq) == 2 and seq[1] != "\ufffd"


def _guess(raw: list[int | None], before: str, after: str) -> str | None:
    """The character an incomplete sequence stands for, its lost byte guessed from its
    neighbours; "" when the byte is lost beyond guessing; None if it is no such sequence."""
    lead = raw[0]
    if lead is None:
        return None
    if 0xD8 <= lead <= 0xDB:
        if len(raw) > 2 or (len(raw) == 2 and raw[1] is not None):
            return None
        second = _ARABIC_GUESS.get(lead)
        return "" if second is None else bytes([lead, second]).decode("utf-8")
    if len(raw) < 2 or raw[1] is None or (len(raw) == 3 and raw[2] is not None):
        return None
    second = raw[1]
    if lead == 0xE2 and second == 0x80:
        third = 0x9D  # the closing quote ” is by far the commonest E2 80 9x character
    elif lead == 0xE0 and 0xA4 <= second <= 0xA7:
        block = second & 0xFE  # A4 Devanagari, A6 Bengali
        if second & 1:
            # U+0941 (ु) or U+094D (्), and their Bengali twins: a virama joins a consonant.
            third = 0x8D if after in _CONSONANTS[block] else 0x81
        elif before in _CONSONANTS[block] or before in _VOWEL_SIGNS[block]:
            third = 0x81  # candrabindu follows a consonant or vowel sign
        else:
            third = 0x8F  # ए / এ starts a syllable
    else:
        return None
    return bytes([lead, second, third]).decode("utf-8", "replace")


# cp1252 as browsers apply it (a C1 character for each of its five holes), as a C-level
# charmap codec: what ftfy calls sloppy-windows-1252.
BROWSER_CP1252 = codecs.charmap_build(
    "".join(bytes([b]).decode("cp1252", "ignore") or chr(b) for b in range(256))
)


def _decoded(seq: str) -> str | None:
    """The text a complete run or sequence of mojibake stands for, or None."""
    try:
        return codecs.charmap_encode(seq, "strict", BROWSER_CP1252)[0].decode("utf-8")
    except UnicodeError:
        return None


# How a browser shows each byte 80-FF read as cp1252: the C1 character for its five holes.
_BYTE_TO_CHAR = {b: bytes([b]).decode("cp1252", "ignore") or chr(b) for b in range(0x80, 0x100)}


def _as_mojibake(char: str) -> str:
    return "".join(_BYTE_TO_CHAR.get(b, chr(b)) for b in char.encode("utf-8"))


@lru_cache(maxsize=4096)
def _kind(seq: str) -> tuple[bool, bool, str]:
    """Whether ``seq`` lost a byte, whether it is a whole Indic or Arabic-script sequence,
    and what it decodes to ("" if nothing): memoized, sequences are a few characters and
    a run can hold 260,000 of them (a mebibyte of ``à¤``)."""
    return _incomplete(seq), _script(seq), _decoded(seq) or ""


@lru_cache(maxsize=4096)
def _filled(seq: str, prev: str, nxt: str) -> str | None:
    """The mojibake for ``seq`` with its lost byte guessed from the characters around it,
    "" when lost beyond guessing, None when it is no sequence to fill (memoized)."""
    char = _guess(_to_bytes(seq), prev, nxt)
    return None if char is None else _as_mojibake(char) if char else ""


def _fill_run(run: str, before: str, after: str, arabic: bool) -> Repair | None:
    """The run with its lost bytes guessed and put back, still as mojibake (as a browser
    shows it, C1 characters for cp1252's holes), so that ftfy decodes it whole and
    consistently, outer layers of double mojibake included; None when it has no gap this
    guesser may fill. Memoized for short runs (words repeat); the memo of a long one would
    hold it whole."""
    if len(run) <= _MEMO_RUN:
        return _fill_short_run(run, before, after, arabic)
    return _fill_any_run(run, before, after, arabic)


def _fill_any_run(run: str, before: str, after: str, arabic: bool) -> Repair | None:
    sequences = _SEQUENCE.findall(run)
    kinds = [_kind(s) for s in sequences]
    if not any(kind[0] for kind in kinds):
        return None
    pieces: list[str] = []
    out = Repair("")
    for k, seq in enumerate(sequences):
        if not kinds[k][0]:
            pieces.append(seq)
            continue
        lead = ord(seq[0])
        # A lone Arabic lead needs an Arabic neighbour ("Ø" alone is Danish), unless
        # ``arabic``: the text held Arabic-script mojibake with lost bytes.
        if (
            0xD8 <= lead <= 0xDB
            and not arabic
            and not ((k and kinds[k - 1][1]) or (k + 1 < len(sequences) and kinds[k + 1][1]))
        ):
            return None
        # A lone â€ stands for ” only between clean characters; next to other code-page
        # characters it is part of mojibake that ftfy reads better (â€ś is “ in cp1250).
        if lead == 0xE2 and len(sequences) == 1 and (SUSPECT.match(before) or SUSPECT.match(after)):
            return None
        prev = kinds[k - 1][2][-1:] if k else before
        nxt = kinds[k + 1][2][:1] if k + 1 < len(sequences) else after
        piece = _filled(seq, prev, nxt)
        if piece is None:
            return None
        if piece:
            out.guessed += 1
            pieces.append(piece)
        else:
            out.lost += 1  # nothing worth guessing: the letter is dropped, and flagged
    out.text = "".join(pieces)
    return out


# Runs up to this long are memoized whole (key and value: 4096 x 64 characters at most).
_MEMO_RUN = 64
_fill_short_run = lru_cache(maxsize=4096)(_fill_any_run)


decode_run: Final = _decoded


def fill_run_cache_clear() -> None:
    """Forget the memo of filled runs."""
    _fill_short_run.cache_clear()
    _kind.cache_clear()
    _filled.cache_clear()


def fill_lost_bytes(text: str) -> Repair:
    """Step 1: put back the bytes lost from runs of Indic, Arabic-script or quote mojibake."""
    total = Repair(text)
    if _decoded(text) is not None or not _GAP.search(text):
        return total  # the common lossless mojibake: nothing to fill, no per-run work
    total.text, filled_arabic = _sweep(text, total, arabic=False)
    if filled_arabic and _BARE_ARABIC_LEAD.search(total.text):
        # A second sweep for leads that stand alone (ځ, DA 81, as a word).
        total.text, _ = _sweep(total.text, total, arabic=True)
    return total


def _sweep(text: str, total: Repair, arabic: bool) -> tuple[str, bool]:
    """``_RUN.sub`` of every run of ``text`` with a gap by its filled version (counted in
    ``total``); and whether an Arabic-script run was filled.

    Only runs with a gap are visited (a Hindi article is a run a word, and a few have a
    gap): a gap lies in the run that a scan for runs finds from any point where the scan
    of the whole text would also start afresh, the end of a run or the character after a
    space (no run holds one). Each stretch of text is scanned once, so this is linear.
    """
    pieces: list[str] = []
    last = pos = 0  # text[:last] is in pieces; a fresh scan from pos finds _RUN's runs
    filled_arabic = False
    gaps = heapq.merge(*((m.start() for m in gap.finditer(text)) for gap in _GAP_ALTERNATIVES))
    at = next(gaps, None)
    while at is not None:
        space = text.rfind(" ", pos, at)
        run = _RUN.search(text, pos if space == -1 else space + 1)
        while run is not None and run.end() <= at:
            run = _RUN.search(text, run.end())
        if run is None:
            break
        start, end = run.span()
        while at is not None and at < start:
            at = next(gaps, None)  # gaps outside any run (a lone U+FFFD)
        if at is not None and at < end:
            before = text[start - 1] if start else ""
            after = text[end] if end < len(text) else ""
            done = _fill_run(run.group(), before, after, arabic)
            if done is not None:
                total.guessed += done.guessed
                total.lost += done.lost
                if not filled_arabic:
                    filled_arabic = _ARABIC_LEAD.search(run.group()) is not None
                pieces += (text[last:start], done.text)
                last = end
        pos = end
        while at is not None and at < end:
            at = next(gaps, None)
    if not pieces:
        return text, filled_arabic
    pieces.append(text[last:])
    return "".join(pieces), filled_arabic


C1 = re.compile("[\u0080-\u009f]")


def decode_leftovers(text: str, total: Repair) -> str:
    """Decode the runs whose lost bytes were put back but that ftfy left (it judges a line
    as a whole, and a line can hold a run cut in half, as a splice leaves it): without
    this, a later pass removes the put-back C1 byte and the next guesses it again."""

    def fix(match: re.Match[str]) -> str:
        run = match.group()
        sequences = _SEQUENCE.findall(run)
        if (
            not C1.search(run)
            or not any(map(_script, sequences))
            or any(map(_incomplete, sequences))
        ):
            return run
        decoded = _decoded(run)
        if decoded is None:
            return run
        total.repaired += len(decoded)
        return decoded

    return _RUN.sub(fix, text)


# An Arabic-script lead byte left alone beside Arabic letters once the rest is repaired:
# its second byte was lost (ځ, DA 81, as a word of its own; ہ beside a partial repair).
_LONE_ARABIC_LEAD = re.compile(
    "(?<=[\u0600-\u06ff])[\u00d8-\u00db]|[\u00d8-\u00db](?=[\u0600-\u06ff])"
    "|(?<=[\u0600-\u06ff] )[\u00d8-\u00db](?= [\u0600-\u06ff])"
)


def _lone_lead(lead: str, total: Repair) -> str:
    second = _ARABIC_GUESS.get(ord(lead))
    if second is None:
        total.lost += 1
        return ""
    total.guessed += 1
    return bytes([ord(lead), second]).decode("utf-8")


def fix_lone_arabic_leads(text: str, total: Repair) -> str:
    """Guess (or drop, and count as lost) Arabic-script leads left alone by the repair."""
    if not _ARABIC_LEAD.search(text) or not _LONE_ARABIC_LEAD.search(text):
        return text
    return _LONE_ARABIC_LEAD.sub(lambda m: _lone_lead(m.group(), total), text)
