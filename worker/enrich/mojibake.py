"""Repair of mojibake: UTF-8 bytes that were decoded as cp1252 or Latin-1 on the way.

Devanagari in UTF-8 is E0 A4 xx / E0 A5 xx, which cp1252 shows as ``à¤•`` and friends.
cp1252 has no character for the bytes 81, 8D, 8F, 90 and 9D. Tools that pass them through
as C1 controls (as browsers and Latin-1 do) lose nothing, and the repair is exact. Tools
that drop them or write U+FFFD lose a byte: for Devanagari, ``ु`` (E0 A5 81), ``्``
(E0 A5 8D) and ``ए`` (E0 A4 8F) are among the casualties. Such a byte is guessed from
its neighbours and the repair is reported as lossy.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

_CP1252_EXTRA = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_CP1252_TO_BYTE: dict[str, int] = {
    ch: b for b in range(0x80, 0xA0) if (ch := bytes([b]).decode("cp1252", errors="ignore"))
}
# A character that stands for one byte 0x80-0xBF (a UTF-8 continuation byte).
_CONT = f"[\u0080-\u00bf{_CP1252_EXTRA}\ufffd]"
# One sequence: a lead byte (Â-ô) followed by its continuation bytes. A Devanagari lead
# pair (à¤ / à¥) may have lost its third byte. A run of mojibake is one or more of them.
_SEQUENCE_PATTERN = (
    f"[\u00c2-\u00df]{_CONT}"
    f"|\u00e0[\u00a4\u00a5]{_CONT}?"
    f"|\u00e2\u20ac{_CONT}?"
    f"|[\u00e0-\u00ef]{_CONT}{{2}}"
    f"|[\u00f0-\u00f4]{_CONT}{{3}}"
)
_RUN = re.compile(f"(?:{_SEQUENCE_PATTERN})+")
_SEQUENCE = re.compile(_SEQUENCE_PATTERN)
MOJIBAKE_HINT = re.compile(f"[\u00c2-\u00f4]{_CONT}")

_DEVANAGARI_CONSONANTS = frozenset(chr(c) for c in range(0x0915, 0x093A))
_DEVANAGARI_SIGNS = frozenset(chr(c) for c in range(0x093E, 0x094D))
# Lead pairs whose lost third byte can be guessed: Devanagari (E0 A4, E0 A5) and general
# punctuation (E2 80, where the lost byte is almost always 9D, the closing quote ”).
_GUESSABLE = frozenset({(0xE0, 0xA4), (0xE0, 0xA5), (0xE2, 0x80)})


def _to_bytes(run: str) -> list[int | None]:
    out: list[int | None] = []
    for ch in run:
        if ch == "\ufffd":
            out.append(None)
        elif ch in _CP1252_TO_BYTE:
            out.append(_CP1252_TO_BYTE[ch])
        else:
            out.append(ord(ch))
    return out


def _guess(lead: int, second: int, before: str, after: str) -> int:
    """Pick the lost third byte of a Devanagari sequence E0 A4/A5 ?? from its neighbours."""
    if lead == 0xE2:
        return 0x9D
    if second == 0xA5:
        # U+0941 (ु) or U+094D (्): a virama is followed by a consonant it joins.
        return 0x8D if after in _DEVANAGARI_CONSONANTS else 0x81
    # U+0901 (ँ) follows a consonant or vowel sign; U+090F (ए) starts a syllable.
    if before in _DEVANAGARI_CONSONANTS or before in _DEVANAGARI_SIGNS:
        return 0x81
    return 0x8F


def _decode_run(run: str, before: str, after: str) -> tuple[str, int] | None:
    """Decode one run; return the text and the number of guessed bytes, or None if not UTF-8.

    The run is split into its sequences by :data:`_SEQUENCE` (the alternatives of
    :data:`_RUN`) and each complete sequence is decoded once per process (memoized): a
    byte-by-byte loop cost 5 us a character, and a run can be a whole 1 MiB message.
    """
    sequences = _SEQUENCE.findall(run)
    pieces: list[str] = []
    guessed = 0
    last = len(sequences) - 1
    for k, seq in enumerate(sequences):
        char = _decoded(seq)
        if char is None:
            prev = pieces[-1][-1:] if pieces else before
            # The next character, when the next sequence is a whole three-byte one (no
            # guess is made from a character that is itself a guess).
            if k == last:
                nxt = after
            elif len(sequences[k + 1]) == 3:
                nxt = _decoded(sequences[k + 1]) or ""
            else:
                nxt = ""
            char = _guessed(seq, prev, nxt)
            if char is None:
                return None
            guessed += 1
        pieces.append(char)
    return "".join(pieces), guessed


@lru_cache(maxsize=4096)
def _guessed(seq: str, before: str, after: str) -> str | None:
    """The character an incomplete sequence stands for, its lost byte guessed from the
    characters before and after it; None when its bytes cannot be guessed."""
    raw = _to_bytes(seq)
    lead, first = raw[0], raw[1]
    if (
        lead is None
        or first is None
        or (lead, first) not in _GUESSABLE
        or (len(raw) == 3 and raw[2] is not None)
    ):
        return None
    return bytes([lead, first, _guess(lead, first, before, after)]).decode("utf-8", "replace")


_DECODED: dict[str, str | None] = {}
_DECODED_LIMIT = 100_000


def _decoded(seq: str) -> str | None:
    """The character one complete sequence stands for, or None (memoized, bounded)."""
    try:
        return _DECODED[seq]
    except KeyError:
        pass
    char = _decode_fast(seq)
    if len(_DECODED) >= _DECODED_LIMIT:
        _DECODED.clear()  # bounded memory in a long-running worker
    _DECODED[seq] = char
    return char


# cp1252 as browsers apply it: its 27 extra characters, and the C1 control for each of
# the five bytes it leaves undefined. A C-level charmap codec recovers the bytes.
_BROWSER_CP1252 = codecs.charmap_build(
    "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256))
)


def _decode_fast(run: str) -> str | None:
    """Decode a run whose every byte survived (the common, lossless case), or None."""
    try:
        return codecs.charmap_encode(run, "strict", _BROWSER_CP1252)[0].decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None


def _non_ascii(text: str) -> int:
    return len(text) - len(text.encode("ascii", "ignore"))


def repair_mojibake(text: str) -> tuple[str, int, int]:
    """Repair UTF-8-as-cp1252/Latin-1 runs in ``text``.

    Returns the text, the number of characters repaired, and the number of lost bytes
    guessed (non-zero means the repair is lossy and must be flagged).
    """
    whole = _decode_fast(text)  # a wholly mis-decoded article, in one step
    if whole is not None and whole != text:
        return whole, _non_ascii(whole), 0
    repaired = 0
    guessed = 0

    def fix(match: re.Match[str]) -> str:
        nonlocal repaired, guessed
        start, end = match.span()
        fast = _decode_fast(match.group())
        if fast is not None:
            repaired += _non_ascii(fast)
            return fast
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        decoded = _decode_run(match.group(), before, after)
        if decoded is None:
            return match.group()
        repaired += _non_ascii(decoded[0])
        guessed += decoded[1]
        return decoded[0]

    return _RUN.sub(fix, text), repaired, guessed
