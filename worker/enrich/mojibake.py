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
Arabic-script text with curly quotes and dashes never reach ftfy. What neither repairer
can decode (a byte lost in Tamil, Gujarati, Cyrillic...) is left, and counted by
:func:`unrepaired_runs` so that the record is flagged lossy. Every step is linear:
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
from ftfy.badness import is_bad

from worker.enrich.badlines import bad_segments, changed_part, next_bad
from worker.enrich.lostbytes import (
    BROWSER_CP1252,
    C1,
    CONTINUATION,
    SUSPECT,
    SUSPECT_CLASS,
    SUSPECT_CODE_POINTS,
    Repair,
    decode_leftovers,
    decode_run,
    fill_lost_bytes,
    fill_run_cache_clear,
    fix_lone_arabic_leads,
)

__all__ = [
    "SUSPECT",
    "SUSPECT_CLASS",
    "SUSPECT_CODE_POINTS",
    "Repair",
    "clear_caches",
    "repair_mojibake",
    "unrepaired_runs",
]


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


# ftfy's steps with decode_inconsistent_utf8 left out: _one_step runs it itself.
_FTFY_CONSISTENT: Final = _FTFY_CONFIG._replace(decode_inconsistent_utf8=False)


@lru_cache(maxsize=1024)
def _fix_embedded(run: str) -> str:
    """What ftfy's decode_inconsistent_utf8 makes of one run of mojibake inside a text
    (ftfy.fix_encoding with its default settings, if the run is bad), memoized: a text of
    many lines each holding "Ã©" made ftfy repeat that for every run (22,000 runs, 1.1 s
    in a mebibyte). Keys are runs of at most a few dozen characters."""
    return ftfy.fix_encoding(run) if is_bad(run) else run


def _decode_inconsistent(text: str) -> str:
    """ftfy.fixes.decode_inconsistent_utf8, with the per-run work memoized."""

    def fix(match: re.Match[str]) -> str:
        run = match.group()
        return _fix_embedded(run) if len(run) < len(text) else run

    return ftfy.chardata.UTF8_DETECTOR_RE.sub(fix, text)


# _one_step's answer for a text that next_bad finds nothing bad in (not one of ftfy's).
_CLEAN: Final = ftfy.ExplanationStep("check", "clean")


def _one_step(text: str) -> tuple[str, list[ftfy.ExplanationStep]]:
    """One step of ftfy's encoding repair (ftfy 6.3.1's _fix_encoding_one_step_and_explain,
    which is private: called without decode_inconsistent_utf8, which is done here, in the
    same place of the order). Its whole-text decodings come first; decode_inconsistent_utf8
    comes next, before the fallbacks (Latin-1 read as cp1252), which do not depend on it.
    A text that next_bad finds nothing bad in is not bad for ftfy either (its regex,
    with ``^`` at line starts too, finds more): ftfy would return it as it is, after
    reading it through (its last round, on every repaired segment)."""
    if next_bad(text, 0) is None:
        return text, [_CLEAN]
    fixed, plan = ftfy._fix_encoding_one_step_and_explain(text, _FTFY_CONSISTENT)
    if plan and plan[-1].action == "decode" and plan[-1].parameter.startswith("utf-8"):
        return fixed, list(plan or ())
    # A plan, or none for a bad text: ftfy got past its whole-text decodings.
    if ftfy.chardata.UTF8_DETECTOR_RE.search(text) and (plan or is_bad(text)):
        inconsistent = _decode_inconsistent(text)
        if inconsistent != text:
            return inconsistent, [ftfy.ExplanationStep("apply", "decode_inconsistent_utf8")]
    return fixed, list(plan or ())


def _fix_encoding(text: str) -> tuple[str, list[ftfy.ExplanationStep], bool]:
    """ftfy.fix_encoding_and_explain(text, _FTFY_CONFIG), step by step until stable; and
    whether the result is known clean to next_bad (nothing bad on any line)."""
    steps: list[ftfy.ExplanationStep] = []
    while True:
        fixed, plan = _one_step(text)
        if plan == [_CLEAN]:
            return text, steps, True
        steps += plan
        if fixed == text:
            return text, steps, False
        text = fixed


# Segments are up to 8,192 characters (see bad_segments), key and value: 256 of them are at
# most 4 M characters (16 MB), held across messages; most are a short line.
@lru_cache(maxsize=256)
def _fix_segment(segment: str) -> tuple[str, Plan, bool]:
    """ftfy's encoding repair of one segment (memoized: lines repeat, within an article and
    across a feed): ``ftfy.fix_and_explain`` with only the encoding steps, without its last
    round, which re-reads the whole segment to find it unchanged
    (a third of the cost on a mebibyte of mojibake). A whole layer is peeled at C speed,
    and ftfy is not asked to judge a result without a suspicious character (it would find
    nothing bad in it, at 0.15 us a character). The flag says the result is known clean
    line by line (see _ftfy)."""
    layer = _whole_layer(segment)
    steps: list[ftfy.ExplanationStep] = []
    if layer is not None:
        text, peeled = layer
        if not SUSPECT.search(text):
            return text, peeled, True
        steps += peeled
        text, plan, clean = _fix_encoding(text)
    else:
        text, plan, clean = _fix_encoding(segment)
    steps += plan or ()
    if ftfy.chardata.C1_CONTROL_RE.search(text):
        fixed = _fix_c1(text)
        if fixed != text:
            steps.append(ftfy.ExplanationStep("apply", "fix_c1_controls"))
            text, more, clean = _fix_encoding(fixed)
            steps += more or ()
    return text, tuple(steps), clean


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
    again, more, _ = _fix_segment(filled.text)
    if again.count("\ufffd") <= fixed.count("\ufffd"):
        return again, plan[:peeled] + more, filled.guessed + filled.lost
    return fixed, plan, 0


# A lead byte then a space: what ftfy may read as the lead and a byte A0.
_LEAD_SPACE = re.compile("[\u00c2-\u00df] ")


def _unseen_segments(text: str, seen: set[str]) -> list[tuple[int, int]]:
    """bad_segments of ``text`` outside its lines that ``seen`` holds (known clean)."""
    if not seen:
        return bad_segments(text)
    spans: list[tuple[int, int]] = []
    pos, start = 0, -1
    for line in text.split("\n"):
        if line in seen:
            if start != -1:
                spans += ((a + start, b + start) for a, b in bad_segments(text[start:pos]))
                start = -1
        elif start == -1:
            start = pos
        pos += len(line) + 1
    if start != -1:
        spans += ((a + start, b + start) for a, b in bad_segments(text[start:]))
    return spans


def _ftfy(text: str, seen: set[str]) -> Repair:
    """Step 2: ftfy's encoding repair on each suspicious line. ``seen`` holds lines that
    are known to be ftfy's fixed points (its own output), so a later pass skips them."""
    total = Repair(text)
    pieces: list[str] = []
    last = 0
    for start, end in _unseen_segments(text, seen):
        segment = text[start:end]
        if segment in seen:
            continue
        fixed, plan, clean = _fix_segment(segment)
        if clean and "\n" in fixed:
            # Its lines are clean to next_bad: a later pass need not read them again
            # (0.4 s for a mebibyte of repaired short lines).
            seen.update(fixed.split("\n"))
        inner_guesses = 0
        if plan:
            fixed, plan, inner_guesses = _guess_inner_layer(segment, fixed, plan)
        seen.add(fixed)
        if fixed == segment:
            continue
        pieces += [text[last:start], fixed]
        last = end
        total.repaired += max(1, len(changed_part(segment, fixed)))
        total.lost += max(0, fixed.count("\ufffd") - segment.count("\ufffd"))
        # restore_byte_a0 guesses that a space was a byte A0 (of à, NBSP...); so does
        # decode_inconsistent_utf8 inside a longer line, without saying so: count the
        # lead-and-space pairs it consumed, so that "Lone Â here." is lossy either way.
        total.guessed += inner_guesses
        for step in plan or ():
            if step.parameter == "restore_byte_a0":
                total.guessed += 1
            elif step.parameter == "decode_inconsistent_utf8":
                total.guessed += max(
                    0, len(_LEAD_SPACE.findall(segment)) - len(_LEAD_SPACE.findall(fixed))
                )
    if pieces:
        pieces.append(text[last:])
        total.text = "".join(pieces)
    return total


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_fixes(text: str) -> str:
    """ftfy's character fixes that its badness heuristic does not look for."""
    if "\x1b" in text:
        text = ftfy.fixes.remove_terminal_escapes(text)
    if _SURROGATE.search(text):
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


# What is left of mojibake that neither repairer could decode (a byte lost in a script
# the own guesser does not know: Tamil, Gujarati, Cyrillic...): characters of UTF-8 lead
# bytes (C2-F4), each followed by up to three of continuation bytes, two or more in a row.
_UNIT = f"[\u00c2-\u00f4]{CONTINUATION}{{0,3}}"
# ``(?:_UNIT){2,}``, written to start with a class (the engine then skips to a lead in a
# tight loop instead of trying the repeat at every position: 6 times faster on Latin text).
_LEFTOVER = re.compile(f"{_UNIT}(?:{_UNIT})+")
_LEFTOVER_LEAD = re.compile("[\u00c2-\u00f4]")


# Within a run: a sequence cut short (a lead without all its continuation bytes), and a
# whole one that may stand for a character beyond Latin-1 (leads C2 and C3 cannot).
_CUT = re.compile(
    f"[\u00c2-\u00df](?!{CONTINUATION})"
    f"|[\u00e0-\u00ef]{CONTINUATION}?(?!{CONTINUATION})"
    f"|[\u00f0-\u00f4]{CONTINUATION}{{0,2}}(?!{CONTINUATION})"
)
_WHOLE_BEYOND_LATIN1 = re.compile(
    f"[\u00c4-\u00df]{CONTINUATION}|[\u00e0-\u00ef]{CONTINUATION}{{2}}"
    f"|[\u00f0-\u00f4]{CONTINUATION}{{3}}"
)
# Whole sequences decoded to find one that is valid UTF-8, at most: a run is a few words.
_TRIED = 8


def _is_leftover(run: str) -> bool:
    """A run is left-over mojibake when one of its sequences is cut short (the lost byte)
    and another is whole and stands for a character beyond Latin-1 (Tamil, Cyrillic...):
    correct Latin text makes neither (ÇÃO, IRMÃ”, voilà…). Regex scans, so that a run of
    a mebibyte costs C time."""
    if _CUT.search(run) is None:
        return False
    for k, whole in enumerate(_WHOLE_BEYOND_LATIN1.finditer(run)):
        if k == _TRIED:
            break
        if decode_run(whole.group()) is not None:
            return True
    return False


def unrepaired_runs(text: str) -> int:
    """How many runs of mojibake that lost a byte are left in ``text`` undecoded."""
    if not _LEFTOVER_LEAD.search(text):
        return 0
    return sum(1 for m in _LEFTOVER.finditer(text) if _is_leftover(m.group()))


def clear_caches() -> None:
    """Forget the repair memos (tests time the repair cold, as a new feed meets it)."""
    _fix_segment.cache_clear()
    _fix_embedded.cache_clear()
    fill_run_cache_clear()
