"""Runs of combining marks are cut to 30 (Stream-Safe Text Format), and only such runs."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.enrich.normalize import MARKS_CUT, normalize_text
from worker.enrich.streamsafe import MAX_NON_STARTERS, has_supplementary, limit_combining_marks


def non_starter_runs(text: str) -> list[int]:
    """Lengths of the runs of non-starters in the canonical decomposition of ``text``."""
    runs, current = [], 0
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.combining(char):
            current += 1
        else:
            if current:
                runs.append(current)
            current = 0
    return [*runs, current] if current else runs


def test_long_run_is_cut_to_thirty_counted_and_flagged() -> None:
    text, report = normalize_text("a" + "\u0301" * 50_000 + "\u0323" * 50_000 + " b")
    assert non_starter_runs(text) == [MAX_NON_STARTERS]
    assert text.endswith(" b")
    assert report.changes[MARKS_CUT] == 100_000 - MAX_NON_STARTERS
    assert report.lossy


def test_marks_kept_are_the_first_in_canonical_order() -> None:
    # Dot below (class 220) sorts before acute (230): thirty dots below survive.
    text, _ = limit_combining_marks("a" + "\u0301" * 40 + "\u0323" * 40)
    assert unicodedata.normalize("NFD", text) == "a" + "\u0323" * 30


@pytest.mark.parametrize("length", [1, 5, 29, 30])
def test_runs_up_to_thirty_are_untouched(length: int) -> None:
    for mark in ("\u0301", "\u094d", "\u093c", "\u0670"):
        text = "क" + mark * length + " x"
        assert limit_combining_marks(text) == (text, 0)


def test_thirty_one_is_cut_by_one() -> None:
    text, cut = limit_combining_marks("e" + "\u0301" * 31)
    assert cut == 1
    assert text == "e" + "\u0301" * 30


def test_a_precomposed_letter_brings_its_own_marks() -> None:
    # U+01D8 is u with diaeresis and acute: two marks before the thirty that follow.
    text, cut = limit_combining_marks("\u01d8" + "\u0301" * 30)
    assert cut == 2
    assert non_starter_runs(unicodedata.normalize("NFC", text)) == [30]


def test_a_mark_that_decomposes_to_two_counts_two() -> None:
    # U+0344 is U+0308 U+0301 under canonical decomposition.
    assert limit_combining_marks("a" + "\u0344" * 15) == ("a" + "\u0344" * 15, 0)
    _, cut = limit_combining_marks("a" + "\u0344" * 16)
    assert cut == 2


def test_canonically_equivalent_inputs_lose_the_same_marks() -> None:
    base = "\u1ea1" + "\u0301" * 20 + "\u0302" * 20 + "\u0323" * 5 + "z"
    forms = {unicodedata.normalize(form, base) for form in ("NFC", "NFD")}
    forms.add("a" + "\u0323" * 6 + "\u0301" * 20 + "\u0302" * 20 + "z")  # reordered marks
    outputs = {normalize_text(f)[0] for f in forms}
    assert len(outputs) == 1


def test_cut_text_is_stable() -> None:
    once, _ = normalize_text("x" + "\u0301\u0327" * 100 + "y")
    twice, report = normalize_text(once)
    assert twice == once
    assert MARKS_CUT not in report.changes
    assert not report.lossy


def test_runs_made_by_markup_and_entities_are_cut_too() -> None:
    text, report = normalize_text("a" + "&#769;" * 20 + "<b>" + "\u0301" * 20 + "</b>")
    assert non_starter_runs(text) == [30]
    assert report.lossy


def test_ordinary_text_is_unchanged() -> None:
    for text in ("ज़ेलेंस्की ने कहा", "Café déjà vu", "لاہور میں", "क्\u200dष", "ǘ é ñ"):
        assert limit_combining_marks(text) == (text, 0)


def test_supplementary_marks_count_like_the_others() -> None:
    # U+1D165 (musical stem, class 216) is outside the BMP, which the scan treats apart.
    assert limit_combining_marks("a" + "\U0001d165" * 40)[1] == 10
    assert limit_combining_marks("a" + "\U0001d165" * 20 + "\u0301" * 20)[1] == 10
    emoji_then_run = "\U0001f600" * 5 + "a" + "\u0301" * 31
    assert limit_combining_marks(emoji_then_run) == ("\U0001f600" * 5 + "a" + "\u0301" * 30, 1)


MARK_HEAVY = st.text(
    alphabet=st.sampled_from(
        "\u0301\u0323\u0308\u0327\u094d\u093c\u0344\u0f73\U0001d165aeकǘ\u1ea1 "
    ),
    min_size=20,
    max_size=300,
)


@settings(max_examples=300, deadline=None)
@given(MARK_HEAVY)
def test_mark_heavy_text_is_bounded_stable_and_form_independent(text: str) -> None:
    out, report = normalize_text(text)
    assert all(n <= MAX_NON_STARTERS for n in non_starter_runs(out))
    assert normalize_text(out)[0] == out
    for form in ("NFC", "NFD"):
        assert normalize_text(unicodedata.normalize(form, text))[0] == out
    if max(non_starter_runs(text), default=0) > MAX_NON_STARTERS:
        assert report.changes[MARKS_CUT] >= 1
        assert report.lossy


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            ["a", "é", "क", "\u0301", "\ud800", "\udfff", "\U0001f600", "\U00010400"]
        )
    )
)
def test_supplementary_check_is_exact(text: str) -> None:
    assert has_supplementary(text) == any(ord(c) > 0xFFFF for c in text)
