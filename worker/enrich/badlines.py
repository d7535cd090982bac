"""Which parts of a text ftfy is shown: the lines its badness heuristic finds suspicious,
one by one and then, in a text full of them, in blocks.

ftfy judges each line apart (as ``ftfy.fix_text`` does); its heuristic regex costs
0.15-0.5 us a character, so it is read only around the characters that a single-byte
code page makes of a byte 80-FF (:data:`worker.enrich.lostbytes.SUSPECT`).
"""

from __future__ import annotations

import re

from ftfy.badness import BADNESS_RE

from worker.enrich.lostbytes import SUSPECT

# ftfy's badness heuristic, with `^` at every line start: ftfy judges each line apart.
_BAD_LINE = re.compile(BADNESS_RE.pattern, re.VERBOSE | re.MULTILINE)
# Lines handed to ftfy one by one, as ftfy.fix_text does, up to this many; after that,
# blocks of lines of at least _BLOCK characters: a message of 300,000 one-word bad lines
# cost ftfy 7 s line by line (20 us a call), and mojibake that fills so many lines is
# one document wrongly decoded, which ftfy repairs as well in blocks.
_LINES_ONE_BY_ONE = 256
_BLOCK = 4096


def changed_part(old: str, new: str) -> str:
    """The part of ``new`` that differs from ``old`` (common ends cut by bisection; each
    step compares only the half not known to match, so the whole costs one copy)."""
    lo, hi = 0, min(len(old), len(new))
    while lo < hi:  # the longest common prefix: old[:lo] == new[:lo]
        mid = (lo + hi + 1) // 2
        if old.startswith(new[lo:mid], lo):
            lo = mid
        else:
            hi = mid - 1
    prefix = lo
    lo, hi = 0, min(len(old), len(new)) - prefix
    while lo < hi:  # the longest common suffix after it: the last lo characters match
        mid = (lo + hi + 1) // 2
        if old.startswith(new[len(new) - mid : len(new) - lo], len(old) - mid):
            lo = mid
        else:
            hi = mid - 1
    return new[prefix : len(new) - lo]


# ftfy's badness patterns are at most 7 characters long, and each holds a suspicious one.
_BAD_REACH = 7
# Suspicious characters are looked at one by one (a window around each), in groups of
# _WINDOWS; when a group is dense (on average one suspicious character in fewer than
# _DENSE), the badness regex reads on at length instead: its windows would overlap.
_WINDOWS = 32
_DENSE = 2 * _BAD_REACH


# The start of a dense text, as the loop of next_bad finds it: _WINDOWS + 1 suspicious
# characters, each window overlapping the last (at most 2 * _BAD_REACH others between).
_OVERLAPPING = re.compile(
    f"{SUSPECT.pattern}(?:[^{SUSPECT.pattern[1:-1]}]{{0,{2 * _BAD_REACH}}}{SUSPECT.pattern})"
    f"{{{_WINDOWS}}}"
)


def next_bad(text: str, pos: int) -> re.Match[str] | None:
    """The next match of ftfy's badness regex from ``pos``. It is costly (0.15-0.5 us a
    character), so it reads only around the suspicious characters while they are sparse
    (a line of French, "café", every 50 characters), windows that overlap read as one;
    a text full of them (a page of Vietnamese) is read through at once."""
    first = SUSPECT.search(text, pos)
    if first is None:
        return None
    dense = _OVERLAPPING.match(text, first.start())
    if dense is not None and dense.end() - 1 - first.start() < _WINDOWS * _DENSE:
        # What the loop below decides after reading the first _WINDOWS + 1 one by one
        # (one window, no read of it, then dense), in one regex match.
        low = max(pos, first.start() - _BAD_REACH)
        return _BAD_LINE.search(text, max(pos, low - _BAD_REACH))
    group = pos
    low = high = -1  # the window being gathered
    for k, suspect in enumerate(SUSPECT.finditer(text, pos)):
        at = suspect.start()
        if k % _WINDOWS == 0:
            if k and at - group < _WINDOWS * _DENSE:
                return _BAD_LINE.search(text, max(pos, min(at, low) - _BAD_REACH))
            group = at
        if at - _BAD_REACH <= high:
            high = at + _BAD_REACH + 1
            continue
        if high != -1 and (found := _BAD_LINE.search(text, low, high)) is not None:
            return found
        low, high = max(pos, at - _BAD_REACH), at + _BAD_REACH + 1
    return None if high == -1 else _BAD_LINE.search(text, low, high)


def bad_segments(text: str) -> list[tuple[int, int]]:
    """The spans of the lines (with their newline) that ftfy's heuristic finds suspicious,
    one by one and then in blocks (see _LINES_ONE_BY_ONE)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (match := next_bad(text, pos)) is not None:
        start = max(pos, text.rfind("\n", 0, match.start()) + 1)
        end = text.find("\n", match.start())
        end = len(text) if end == -1 else end + 1
        if end - start > 2 * _BLOCK:
            # A long line is handed over in pieces cut at a space: pieces repeat (and
            # are remembered), where a whole line of 1 MiB never does.
            cut = text.rfind(" ", start + _BLOCK, start + 2 * _BLOCK)
            end = start + 2 * _BLOCK if cut == -1 else cut + 1
        spans.append((start, end))
        pos = end
        if len(spans) >= _LINES_ONE_BY_ONE:
            return spans + _blocks(text, end)
    return spans


def _blocks(text: str, pos: int) -> list[tuple[int, int]]:
    """The rest of a text full of bad lines, in blocks of lines of at least _BLOCK
    characters (a long line in pieces, as above), each handed to ftfy whole: ftfy judges
    a block itself, so the badness regex is not read through first to find the bad lines
    (0.7 s of 1.7 in a mebibyte of short bad lines). Blocks without a suspicious
    character are left out."""
    spans: list[tuple[int, int]] = []
    while pos < len(text):
        cut = text.find("\n", pos + _BLOCK - 1)
        end = len(text) if cut == -1 else cut + 1
        if end - pos > 2 * _BLOCK:
            cut = text.rfind(" ", pos + _BLOCK, pos + 2 * _BLOCK)
            end = pos + 2 * _BLOCK if cut == -1 else cut + 1
        if SUSPECT.search(text, pos, end):
            spans.append((pos, end))
        pos = end
    return spans
