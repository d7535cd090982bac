"""A bound on runs of combining marks, after Unicode's Stream-Safe Text Format (UAX #15 §13).

No real word stacks more than a handful of combining marks on one letter, but an attacker
can send a letter followed by 100,000 of them ("Zalgo" text). CPython's normalizer sorts
such a run by insertion, which is quadratic: 200 KB of marks took 15 s. UAX #15 defines
the Stream-Safe Text Format, in which no run of non-starters (code points of non-zero
canonical combining class) is longer than 30, so that normalization needs a bounded
buffer; this module brings text into it before anything normalizes it.

Choices where UAX #15 leaves room:

* **The excess is cut, not split with U+034F.** UAX #15's conversion inserts a
  COMBINING GRAPHEME JOINER after every 30 non-starters and keeps them all. News text
  never needs more than 30 marks on a letter, so the excess is noise that no reader can
  see separately (renderers pile it into one smear); keeping it would keep the record's
  body as large as the attack and hand the same runs to every consumer. The removed code
  points are counted, and the normalization is flagged ``lossy``, because the text is
  no longer the one that was sent.
* **Which marks stay does not depend on how the text was composed.** A run is first put
  in canonical order (its characters decomposed, its marks stably sorted by combining
  class, which is what NFD does), and then the first 30 marks after each starter are kept.
  Canonically equivalent inputs (NFC or NFD, marks in any equivalent order) therefore
  lose the same marks, and the NFC that follows gives identical text.
* **Non-starters are counted under canonical decomposition (NFD)**, where UAX #15 uses
  NFKD so that the bound holds in every normalization form. The worker only produces
  NFC, and canonical non-starters are what NFC has to sort.

Cost: one regex scan of the text for runs of at least ``_MIN_RUN`` non-starters (none in
ordinary text), and work linear in each such run (plus a sort of it).
"""

from __future__ import annotations

import math
import re
import unicodedata

MAX_NON_STARTERS = 30
# Code points above this have no combining class and no canonical decomposition (the
# last are the CJK compatibility ideographs at U+2FA1D); scanning less keeps import fast.
_LAST_INTERESTING = 0x2FFFF


def class_ranges(code_points: list[int]) -> str:
    """A regex class body for sorted code points, as ranges."""
    ranges: list[tuple[int, int]] = []
    for cp in code_points:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


def _tables() -> tuple[list[int], dict[int, str], int]:
    """The pure non-starters (code points whose canonical decomposition is all marks), the
    decompositions that involve non-starters, and the most non-starters one code point
    brings to a run."""
    pure: list[int] = []
    decompositions: dict[int, str] = {}
    most = 1
    for cp in range(_LAST_INTERESTING + 1):
        char = chr(cp)
        if not unicodedata.combining(char) and not unicodedata.decomposition(char):
            continue
        nfd = unicodedata.normalize("NFD", char)
        classes = [unicodedata.combining(c) for c in nfd]
        if nfd != char and any(classes):
            decompositions[cp] = nfd
        if all(classes):  # a non-starter, or a sequence of them (U+0344 is two)
            pure.append(cp)
        trailing = len(classes) - next(
            (k + 1 for k in range(len(classes) - 1, -1, -1) if not classes[k]), 0
        )
        most = max(most, trailing)
    return pure, decompositions, most


_PURE, _DECOMPOSITIONS, _MOST_PER_CHAR = _tables()
# A run over the limit needs at least this many pure non-starters in a row: the starter
# before them brings at most _MOST_PER_CHAR trailing marks of its own, and each of them
# at most _MOST_PER_CHAR.
_MIN_RUN = math.ceil((MAX_NON_STARTERS + 1 - _MOST_PER_CHAR) / _MOST_PER_CHAR)
# The engine tests a class of BMP code points with a bitmap, but one that also holds
# supplementary ones range by range: 300 ms a MiB instead of 50. So the scan uses the BMP
# marks only, over a copy of the text in which the supplementary marks (Brahmi, musical
# notation...) stand as U+0301, when the text has any supplementary character at all.
# The class is written once more in front of the repeat: a pattern that starts with a
# class lets the engine skip to the next mark in a tight loop (2.5 times faster here).
_BMP_MARK = f"[{class_ranges([cp for cp in _PURE if cp <= 0xFFFF])}]"
_RUN = re.compile(f"{_BMP_MARK}{_BMP_MARK}{{{_MIN_RUN - 1},}}")
_SUPPLEMENTARY = re.compile("[\U00010000-\U0010ffff]")
_AS_BMP_MARK = dict.fromkeys((cp for cp in _PURE if cp > 0xFFFF), "\u0301")


def has_supplementary(text: str) -> bool:
    """Whether ``text`` holds a code point beyond the BMP: UTF-16 takes four bytes for each
    (two for everything else), and encoding is a copy at C speed, several times faster
    than a regex scan. (Under the name "utf-16", with its byte order mark: CPython looks
    "utf-16-le" up in the codec registry, 4 us for a title; and strict: an error handler
    makes it slower.)"""
    if text.isascii():
        return False
    try:
        return len(text.encode("utf-16")) != 2 * len(text) + 2
    except UnicodeEncodeError:  # a lone surrogate
        return _SUPPLEMENTARY.search(text) is not None


def _limit_run(run: str) -> tuple[str, int]:
    """Canonically order ``run`` and keep at most 30 non-starters after each starter.

    Returns the run (decomposed when anything was cut, else unchanged) and how many code
    points were cut.
    """
    decomposed = run.translate(_DECOMPOSITIONS)
    classes = list(map(unicodedata.combining, decomposed))
    out: list[str] = []
    cut = 0
    i, n = 0, len(decomposed)
    while i < n:
        if not classes[i]:
            out.append(decomposed[i])
            i += 1
            continue
        j = i
        while j < n and classes[j]:
            j += 1
        if j - i > MAX_NON_STARTERS:
            order = list(range(i, j))
            if len(set(classes[i:j])) > 1:  # canonical order: list.sort is stable
                order.sort(key=classes.__getitem__)
            out.append("".join(decomposed[k] for k in order[:MAX_NON_STARTERS]))
            cut += j - i - MAX_NON_STARTERS
        else:
            out.append(decomposed[i:j])
        i = j
    return ("".join(out), cut) if cut else (run, 0)


def limit_combining_marks(text: str) -> tuple[str, int]:
    """Cut every run of non-starters to 30 (see the module docstring).

    Returns the text (the same object when nothing was cut) and the number of code points
    removed. Text without such a run costs one regex scan.
    """
    if text.isascii():
        return text, 0
    # One character for one: offsets in the scanned copy are offsets in the text.
    scanned = text.translate(_AS_BMP_MARK) if has_supplementary(text) else text
    first = _RUN.search(scanned)
    if first is None:
        return text, 0  # the common case: no run at all
    pieces: list[str] = []
    last = 0
    cut = 0
    for match in _RUN.finditer(scanned, first.start()):
        # The code point before the run may be a starter that brings marks of its own
        # (U+01D8 is u and two marks): it belongs to the run.
        start = max(match.start() - 1, last)
        limited, n = _limit_run(text[start : match.end()])
        if n:
            pieces.append(text[last:start])
            pieces.append(limited)
            last = match.end()
            cut += n
    if not cut:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), cut
