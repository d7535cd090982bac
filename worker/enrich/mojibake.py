"""Repair of mojibake: UTF-8 bytes that were decoded as cp1252, Latin-1 (or another
single-byte code page) on the way, once or twice.

Two repairers work in turn, and neither touches text that is already correct:

1. This project's own guesser (:mod:`worker.enrich.lostbytes`) for the bytes cp1252
   cannot carry (81, 8D, 8F, 90, 9D), which tools drop or write as U+FFFD: in Devanagari
   ``ु`` ``्`` ``ँ`` ``ए``, their Bengali twins, Urdu ``ہ`` and ``ف``, the closing quote ``”``.
   Each is guessed from its neighbours (ftfy would write U+FFFD, or a dagger for a lost
   9D) and put back in place; the repair is then lossy. The inner layer of double
   mojibake gets the same after ftfy has peeled the outer one.
2. ftfy 6.3.1 for the decoding (detection by its badness heuristic, lossless repair,
   double mojibake, C1 characters read as cp1252), on each line that its heuristic finds
   suspicious, as ``ftfy.fix_text`` does. Only its encoding steps run (plus terminal
   escapes and surrogate pairs): quote uncurling, ligatures, widths, line breaks and
   controls are the caller's business and this project's rules.

A cheap check (one regex scan for any character that a single-byte code page makes of a
byte 80-FF, bar the common typographic ones) skips both for clean text: ASCII, Indic and
Arabic-script text with curly quotes and dashes never reach ftfy. Every step is linear:
ftfy reads long lines in pieces and bad lines beyond the 256th in blocks (a mebibyte of
the worst inputs in tests/enrich/test_mojibake.py takes 0.1-1.2 s).
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache
from typing import Final

import ftfy
import ftfy.chardata
from ftfy.badness import BADNESS_RE, is_bad

from worker.enrich.lostbytes import (
    BROWSER_CP1252,
    C1,
    SUSPECT,
    SUSPECT_CLASS,
    Repair,
    decode_leftovers,
    fill_lost_bytes,
    fix_lone_arabic_leads,
)

__all__ = ["SUSPECT", "SUSPECT_CLASS", "Repair", "repair_mojibake"]


# ftfy's badness heuristic, with `^` at every line start: ftfy judges each line apart.
_BAD_LINE = re.compile(BADNESS_RE.pattern, re.VERBOSE | re.MULTILINE)
_FTFY_CONFIG: Final = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=True,
    fix_encoding=True,
    restore_byte_a0=True,
    replace_lossy_sequences=True,
    decode_inconsistent_utf8=True,
    fix_c1_controls=False,  # _fix_c1 below, which reads letters only among letters
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    fix_surrogates=True,
    remove_control_chars=False,
    normalization=None,
    explain=True,
)
# Lines handed to ftfy one by one, as ftfy.fix_text does, up to this many; after that,
# blocks of lines of at least _BLOCK characters: a message of 300,000 one-word bad lines
# cost ftfy 7 s line by line (20 us a call), and mojibake that fills so many lines is
# one document wrongly decoded, which ftfy repairs as well in blocks.
_LINES_ONE_BY_ONE = 256
_BLOCK = 4096


def _changed(old: str, new: str) -> str:
    """The part of ``new`` that differs from ``old`` (common ends cut by bisection)."""
    lo, hi = 0, min(len(old), len(new))
    while lo < hi:  # the longest common prefix
        mid = (lo + hi + 1) // 2
        if old[:mid] == new[:mid]:
            lo = mid
        else:
            hi = mid - 1
    prefix = lo
    lo, hi = 0, min(len(old), len(new)) - prefix
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if old[len(old) - mid :] == new[len(new) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return new[prefix : len(new) - lo]


# ftfy's badness patterns are at most 7 characters long, and each holds a suspicious one.
_BAD_REACH = 7
# Suspicious characters looked at one by one before the badness regex reads on at length.
_WINDOWS = 32


def _next_bad(text: str, pos: int) -> re.Match[str] | None:
    """The next match of ftfy's badness regex from ``pos``. It is costly (0.15 us a
    character), so it first reads only around the suspicious characters; a text full of
    them (a page of accented Latin) is read through at once."""
    for k, suspect in enumerate(SUSPECT.finditer(text, pos)):
        at = suspect.start()
        if k == _WINDOWS:
            return _BAD_LINE.search(text, max(pos, at - _BAD_REACH))
        found = _BAD_LINE.search(text, max(pos, at - _BAD_REACH), at + _BAD_REACH + 1)
        if found is not None:
            return found
    return None


def _segments(text: str) -> list[tuple[int, int]]:
    """The spans of the lines (with their newline) that ftfy's heuristic finds suspicious,
    one by one and then in blocks (see _LINES_ONE_BY_ONE)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (match := _next_bad(text, pos)) is not None:
        start = max(pos, text.rfind("\n", 0, match.start()) + 1)
        end = text.find("\n", match.start())
        end = len(text) if end == -1 else end + 1
        if len(spans) >= _LINES_ONE_BY_ONE and end - start < _BLOCK:
            cut = text.find("\n", start + _BLOCK - 1)
            end = len(text) if cut == -1 else cut + 1
        if end - start > 2 * _BLOCK:
            # A long line is handed over in pieces cut at a space: pieces repeat (and
            # are remembered), where a whole line of 1 MiB never does.
            cut = text.rfind(" ", start + _BLOCK, start + 2 * _BLOCK)
            end = start + 2 * _BLOCK if cut == -1 else cut + 1
        spans.append((start, end))
        pos = end
    return spans


Plan = tuple[ftfy.ExplanationStep, ...]


def _whole_layer(segment: str) -> tuple[str, Plan] | None:
    """ftfy's first step on a segment that is one whole layer of Latin-1 or cp1252 mojibake
    (the commonest case, a whole article), taken at C speed: ftfy tries the same two code
    pages first, in this order, and keeps the first strict UTF-8 decoding of a bad text.
    None when the segment is anything else (ftfy's byte-0x1A and utf-8-variants cases
    included)."""
    if "\ufffd" in segment or "\x1a" in segment:
        return None
    for name in ("latin-1", "sloppy-windows-1252"):
        try:
            if name == "latin-1":
                data = segment.encode("latin-1")
            else:
                data = codecs.charmap_encode(segment, "strict", BROWSER_CP1252)[0]
            if b"\xed" in data or b"\xc0" in data:
                return None
            decoded = data.decode("utf-8")
        except UnicodeError:
            continue
        if not is_bad(segment):
            return None
        plan = (ftfy.ExplanationStep("encode", name), ftfy.ExplanationStep("decode", "utf-8"))
        return decoded, plan
    return None


# What cp1252 makes of 80-9F, where it is punctuation (quotes, dashes, …, •, ™, €).
_C1_PUNCTUATION = frozenset("€‚„…†‡ˆ‰‹‘’“”•–—˜™›")
_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f]")


def _c1_as_cp1252(match: re.Match[str]) -> str:
    char = match.group()
    mapped = bytes([ord(char)]).decode("cp1252", "ignore")
    if not mapped:
        return char  # one of cp1252's five holes: a control, removed later
    if mapped in _C1_PUNCTUATION:
        return mapped
    # Š Œ Ž š œ ž Ÿ ƒ only beside Latin letters: after a danda, \x9c is noise, not œ.
    text, at = match.string, match.start()
    beside = text[at - 1 : at] + text[at + 1 : at + 2]
    return mapped if _LATIN_LETTER.search(beside) else char


def _fix_c1(text: str) -> str:
    """ftfy's fix_c1_controls (C1 characters read as the cp1252 bytes they are, as browsers
    do), except that a letter is read only next to a Latin letter."""
    return C1.sub(_c1_as_cp1252, text)


@lru_cache(maxsize=2048)
def _fix_segment(segment: str) -> tuple[str, Plan]:
    """ftfy's encoding repair of one segment (memoized: lines repeat, within an article and
    across a feed): ``ftfy.fix_and_explain`` with only the encoding steps, without its last
    round, which re-reads the whole segment to find it unchanged
    (a third of the cost on a mebibyte of mojibake). A whole layer is peeled at C speed,
    and ftfy is not asked to judge a result without a suspicious character (it would find
    nothing bad in it, at 0.15 us a character)."""
    layer = _whole_layer(segment)
    steps: list[ftfy.ExplanationStep] = []
    if layer is not None:
        text, peeled = layer
        if not SUSPECT.search(text):
            return text, peeled
        steps += peeled
        text, plan = ftfy.fix_encoding_and_explain(text, _FTFY_CONFIG)
    else:
        text, plan = ftfy.fix_encoding_and_explain(segment, _FTFY_CONFIG)
    steps += plan or ()
    if ftfy.chardata.C1_CONTROL_RE.search(text):
        fixed = _fix_c1(text)
        if fixed != text:
            steps.append(ftfy.ExplanationStep("apply", "fix_c1_controls"))
            text, more = ftfy.fix_encoding_and_explain(fixed, _FTFY_CONFIG)
            steps += more or ()
    return text, tuple(steps)


def _clean_layers(plan: Plan) -> int:
    """How many steps of ``plan`` are whole lossless layers (encode, then decode) from the
    start: the outer layers of double mojibake that ftfy peeled without a guess."""
    done = 0
    while (
        done + 1 < len(plan) and plan[done].action == "encode" and plan[done + 1].action == "decode"
    ):
        done += 2
    return done


def _guess_inner_layer(segment: str, fixed: str, plan: Plan) -> tuple[str, Plan, int]:
    """Double mojibake whose inner layer lost bytes: ftfy peels the outer layer, then
    writes U+FFFD for the inner gaps, takes a space after one for a byte A0, or gives up
    halfway. Peel the outer layers as ftfy did, let the own guesser fill the gaps, and let
    ftfy finish; keep that unless it lost more characters. Returns the text, ftfy's plan
    and the number of bytes the own guesser filled in."""
    peeled = _clean_layers(plan)
    if peeled == 0 or peeled == len(plan):
        return fixed, plan, 0  # one layer (already filled), or nothing left to guess
    try:
        inner = ftfy.apply_plan(segment, [(step.action, step.parameter) for step in plan[:peeled]])
    except (UnicodeError, ValueError):
        return fixed, plan, 0
    filled = fill_lost_bytes(inner)
    if filled.text == inner:
        return fixed, plan, 0
    again, more = _fix_segment(filled.text)
    if again.count("\ufffd") <= fixed.count("\ufffd"):
        return again, plan[:peeled] + more, filled.guessed + filled.lost
    return fixed, plan, 0


def _ftfy(text: str, seen: set[str]) -> Repair:
    """Step 2: ftfy's encoding repair on each suspicious line. ``seen`` holds lines that
    are known to be ftfy's fixed points (its own output), so a later pass skips them."""
    total = Repair(text)
    pieces: list[str] = []
    last = 0
    for start, end in _segments(text):
        segment = text[start:end]
        if segment in seen:
            continue
        fixed, plan = _fix_segment(segment)
        inner_guesses = 0
        if plan:
            fixed, plan, inner_guesses = _guess_inner_layer(segment, fixed, plan)
        seen.add(fixed)
        if fixed == segment:
            continue
        pieces += [text[last:start], fixed]
        last = end
        total.repaired += max(1, len(_changed(segment, fixed)))
        total.lost += max(0, fixed.count("\ufffd") - segment.count("\ufffd"))
        # restore_byte_a0 guesses that a space was a byte A0 (of à, NBSP...).
        total.guessed += inner_guesses + sum(
            1 for step in plan or () if step.parameter == "restore_byte_a0"
        )
    if pieces:
        pieces.append(text[last:])
        total.text = "".join(pieces)
    return total


def _lone_fixes(text: str) -> str:
    """ftfy's character fixes that its badness heuristic does not look for."""
    if "\x1b" in text:
        text = ftfy.fixes.remove_terminal_escapes(text)
    if re.search("[\ud800-\udfff]", text):
        text = ftfy.fixes.fix_surrogates(text)
    return text


def repair_mojibake(text: str, seen: set[str] | None = None) -> Repair:
    """Repair mojibake in ``text``; text without any suspicious character is returned as is.

    ``seen`` (optional) carries ftfy's fixed points from one call to the next on versions
    of the same text. The result counts the characters repaired and the bytes guessed or
    lost (non-zero means lossy: flag it).
    """
    if not SUSPECT.search(text):
        return Repair(text)
    own = fill_lost_bytes(text)
    peer = _ftfy(_lone_fixes(own.text), set() if seen is None else seen)
    total = Repair(
        peer.text,
        own.repaired + peer.repaired,
        own.guessed + peer.guessed,
        own.lost + peer.lost,
    )
    if own.guessed and C1.search(total.text):
        total.text = decode_leftovers(total.text, total)
    if total.repaired or total.guessed:
        total.text = fix_lone_arabic_leads(total.text, total)
    return total
