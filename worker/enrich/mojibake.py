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

_CP1252_EXTRA = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_CP1252_TO_BYTE: dict[str, int] = {
    ch: b for b in range(0x80, 0xA0) if (ch := bytes([b]).decode("cp1252", errors="ignore"))
}
# A character that stands for one byte 0x80-0xBF (a UTF-8 continuation byte).
_CONT = f"[\u0080-\u00bf{_CP1252_EXTRA}\ufffd]"
# A run of mojibake: lead bytes (Â-ô) each followed by its continuation bytes. A
# Devanagari lead pair (à¤ / à¥) may have lost its third byte.
_RUN = re.compile(
    f"(?:[\u00c2-\u00df]{_CONT}"
    f"|\u00e0[\u00a4\u00a5]{_CONT}?"
    f"|\u00e2\u20ac{_CONT}?"
    f"|[\u00e0-\u00ef]{_CONT}{{2}}"
    f"|[\u00f0-\u00f4]{_CONT}{{3}})+"
)
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
    """Decode one run; return the text and the number of guessed bytes, or None if not UTF-8."""
    raw = _to_bytes(run)
    pieces: list[str] = []
    guessed = 0
    i = 0
    while i < len(raw):
        lead = raw[i]
        if lead is None:
            return None
        size = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
        seq: list[int | None] = []
        for b in raw[i + 1 : i + size]:
            if b is not None and not 0x80 <= b <= 0xBF:
                break
            seq.append(b)
        i += 1 + len(seq)
        # Trailing continuation bytes that belong to no lead mean this was not mojibake.
        if len(seq) < size - 1:
            if not (size == 3 and len(seq) == 1 and (lead, seq[0]) in _GUESSABLE):
                return None
            seq = [*seq, None]
        if None in seq:
            first = seq[0]
            if size != 3 or first is None or (lead, first) not in _GUESSABLE or seq[1] is not None:
                return None
            prev = pieces[-1][-1:] if pieces else before
            nxt = after if i >= len(raw) else _peek(raw, i)
            seq = [first, _guess(lead, first, prev, nxt)]
            guessed += 1
        try:
            pieces.append(bytes([lead, *seq]).decode("utf-8"))  # type: ignore[list-item]
        except UnicodeDecodeError:
            return None
    return "".join(pieces), guessed


def _peek(raw: list[int | None], i: int) -> str:
    """The character the bytes at ``i`` start, if they form one; used only for guessing."""
    chunk = raw[i : i + 3]
    if None in chunk or len(chunk) < 3:
        return ""
    try:
        return bytes(chunk).decode("utf-8")[:1]  # type: ignore[arg-type]
    except UnicodeDecodeError:
        return ""


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
