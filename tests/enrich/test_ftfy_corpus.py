"""ftfy's own test corpus (tests/test_cases.json of ftfy 6.3.1) run through the core.

Each case has an ``original`` and the ``fixed`` text ftfy's authors expect. Both the core
(:func:`normalize_text`) and ``ftfy.fix_text`` run every case here, in the same run, and the
figures are printed side by side.

How a core result is compared (the documented differences, nothing else):

- the expected text gets this project's deliberate cleanups (:func:`project_cleanup`): NFC;
  U+FFFD removed (the core removes it and flags the record lossy); controls and format
  characters removed; every space character to one space; lines trimmed; at most one
  blank line. They are written out here, independently of the core's code.
- both sides are folded by ftfy's cosmetic fixes that the project does not adopt (it keeps
  the writer's characters): curly quotes, Latin ligatures and full-width forms.

A case is "negative" when its input is already correct (``original == fixed``): the core
must return it unchanged, modulo the cleanups above.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

import ftfy
import pytest
from ftfy import fixes

from tests.corpora.fetch import fetch_ftfy_cases
from worker.enrich.normalize import normalize_text

# Cases ftfy passes and the core does not, by label, with the reason.
EXCEPTIONS = {
    # ftfy writes U+FFFD for the lost byte of ् (E0 A5 8D); the core guesses it from the
    # consonant that follows and flags the record lossy: हिन्दी, the right word.
    "Messy language names: Hindi": "core guesses the lost virama",
    # The lost third byte of a closing quote (E2 80 9D, written as "?" or U+FFFD): ftfy
    # writes U+FFFD, the core guesses ” and flags the record lossy.
    "Lossy decoding can have plain ASCII question marks, as well": "core guesses ”",
    "Synthetic: lossy decoding in sloppy-windows-1252": "core guesses ”",
    # Double mojibake whose outer layer lost a 9D: the core guesses it and recovers the
    # whole face of the case before it, ┒(⌣˛⌣)┎; ftfy writes U+FFFD twice.
    "We can mostly decode the face above when we lose the character U+009D": "core "
    "recovers the face",
}
# Negative cases the core changes. ftfy changes this one too (it is marked "fail" in the
# corpus): Â + NBSP is the commonest mojibake of a real feed (an NBSP read as cp1252), so
# the core follows ftfy's heuristic and reads it as one.
NEGATIVE_EXCEPTIONS = {
    "Synthetic, false positive: the title of a manga, in weird capitalized romaji, "
    "with a non-breaking space": "Â + NBSP read as an NBSP, as ftfy does",
}

_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def project_cleanup(text: str) -> str:
    """This project's documented cleanups, applied to an expected text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffd", "")
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in {"Cc", "Cf"})
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", text))
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def fold(text: str) -> str:
    """ftfy's cosmetic fixes, which the core does not make, applied to both sides."""
    return fixes.uncurl_quotes(fixes.fix_latin_ligatures(fixes.fix_character_width(text)))


@cache
def cases() -> list[dict[str, Any]]:
    path: Path = fetch_ftfy_cases()  # downloads (pinned, hash-checked) when missing
    data: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def core_passes(case: dict[str, Any]) -> bool:
    got = normalize_text(case["original"])[0]
    return fold(got) == fold(project_cleanup(case["fixed"]))


def ftfy_passes(case: dict[str, Any]) -> bool:
    return bool(ftfy.fix_text(case["original"]) == case["fixed"])


def test_corpus_is_ftfy_631() -> None:
    assert len(cases()) == 161
    assert sum(ftfy_passes(c) for c in cases()) == 152  # ftfy's own figure for 6.3.1


def test_core_passes_every_case_ftfy_passes(capsys: pytest.CaptureFixture[str]) -> None:
    core = [core_passes(c) for c in cases()]
    peer = [ftfy_passes(c) for c in cases()]
    with capsys.disabled():  # the figure belongs in every run's output, not only with -s
        print(f"\nftfy corpus: core {sum(core)}/{len(core)}, ftfy {sum(peer)}/{len(peer)}")  # noqa: T201
    failed = [
        c["label"]
        for c, ok, ftfy_ok in zip(cases(), core, peer, strict=True)
        if ftfy_ok and not ok and c["label"] not in EXCEPTIONS
    ]
    assert failed == []
    # Every exception is still one: a case that starts passing leaves the list.
    assert {c["label"] for c in cases() if not core_passes(c)} >= set(EXCEPTIONS)


def test_negative_cases_are_unchanged() -> None:
    negatives = [c for c in cases() if c["original"] == c["fixed"]]
    assert len(negatives) == 38
    changed = [
        c["label"]
        for c in negatives
        if normalize_text(c["original"])[0] != project_cleanup(c["original"])
        and c["label"] not in NEGATIVE_EXCEPTIONS
    ]
    assert changed == []
    assert {c["label"] for c in negatives} >= set(NEGATIVE_EXCEPTIONS)


@pytest.mark.parametrize(
    "label",
    [
        "Negative: registered chocolate brand name",
        "Negative: multiplying by currency",
        "Synthetic, negative: A-with-circle as an Angstrom sign",
        "Synthetic, negative: Brontë's name does not end with a Korean syllable",
        "Negative: Finnish Ä followed by a non-breaking space",
    ],
)
def test_measured_corruptions_are_gone(label: str) -> None:
    """The issue's examples: NESTLÉ®, 5×£35, 10 Å—, Brontë…”, SELKÄ + NBSP."""
    (case,) = [c for c in cases() if c["label"] == label]
    text, report = normalize_text(case["original"])
    assert text == project_cleanup(case["original"])
    assert "mojibake_repaired" not in report.changes
