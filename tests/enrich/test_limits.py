"""The bounds that keep the core linear keep its results: scripts and styles, the place cap
of the date and number scanners, digit limits, calendar edges, entity forms."""

from __future__ import annotations

import datetime

import pytest

from worker.enrich.dates import extract_dates
from worker.enrich.entities import Entity, Gazetteer
from worker.enrich.markup import strip_tags
from worker.enrich.numbers import MAX_WHOLE_DIGITS, extract_numbers
from worker.enrich.scanning import MAX_PLACES
from worker.enrich.structure import parse_structure


@pytest.mark.parametrize(
    ("html", "text", "removed"),
    [
        ("a<script>x</SCRIPT >b<style a=1>c</style>d", "abd", 2),
        ("a<script>x<style>y</script>z</style>w", "azw", 2),  # the inner <style> is content
        ("a<script>never closed", "anever closed", 1),  # the tag alone goes
        ("<script>" * 1000 + "x", "x", 1000),
        ("a<style>b</script>c", "abc", 2),  # a closing tag of the other kind closes nothing
        ("<!-- <script> -->x", "x", 1),
        ("a < b and <3", "a < b and <3", 0),
    ],
)
def test_scripts_styles_and_unclosed_tags(html: str, text: str, removed: int) -> None:
    assert strip_tags(html) == (text, removed)


def test_dates_and_numbers_stop_at_the_place_cap_together() -> None:
    text = "1 " * (MAX_PLACES + 500) + "5 March 2024 and 7 people"
    assert extract_dates(text) == []  # the date lies beyond the cap
    numbers = extract_numbers(text, [])
    assert len(numbers) == MAX_PLACES
    assert all(n.value == 1 for n in numbers)


def test_below_the_cap_everything_is_found() -> None:
    text = "5 March 2024, " * 100 + "and 7 people"
    assert len(extract_dates(text)) == 100
    assert [
        n.value for n in extract_numbers(text, [(d.start, d.end) for d in extract_dates(text)])
    ] == [7]


def test_more_than_eighteen_digits_is_not_a_quantity() -> None:
    limit = "9" * MAX_WHOLE_DIGITS
    assert [n.value for n in extract_numbers(f"x {limit} y {limit}9 z", [])] == [int(limit)]
    # grouping commas do not count as digits; decimals do not count at all
    grouped = "1,000,000,000,000,000,000"  # 19 digits
    assert extract_numbers(f"x {grouped} y", []) == []
    assert [n.value for n in extract_numbers("x 1." + "5" * 40 + " y", [])] == [
        pytest.approx(14 / 9)
    ]


@pytest.mark.parametrize(
    "published",
    [datetime.date(1, 1, 1), datetime.date(9999, 12, 31), datetime.date(1900, 1, 1)],
)
def test_yearless_dates_at_the_edges_of_the_calendar(published: datetime.date) -> None:
    dates = extract_dates("सोमवार 5 मार्च और 31 दिसंबर को", published)
    if published.year == 1900:
        assert [d.value for d in dates] == ["1900-03-05", "1900-12-31"]
    else:
        # No year within 1900-2100 is near enough: the dates stay, yearless (XSD gMonthDay).
        assert [d.value for d in dates] == ["--03-05", "--12-31"]


def test_entity_forms_are_distinct_and_in_order_of_first_use() -> None:
    gazetteer = Gazetteer({"maharashtra": Entity("Maharashtra", "place")})
    tokens = ["Maharashtra", "MAHARASHTRA", "maharashtra", "Maharashtra", "MAHARASHTRA"]
    (mention,) = gazetteer.find_tokens(tokens)
    assert mention.mentions == 5
    assert mention.forms == ("Maharashtra", "MAHARASHTRA", "maharashtra")


def test_a_start_word_that_continues_no_alias_still_matches_alone() -> None:
    gazetteer = Gazetteer(
        {
            "new delhi": Entity("New Delhi", "place"),
            "new": Entity("New", "organization"),
            "delhi": Entity("Delhi", "place"),
        }
    )
    found = gazetteer.find_tokens(["new", "york", "new", "delhi", "new"])
    assert [(m.canonical, m.mentions) for m in found] == [("New", 2), ("New Delhi", 1)]


def test_prose_ends_are_read_from_the_end() -> None:
    text = "पहला पैरा।\n\nछोटा शीर्षक\n\nदूसरा पैरा।”\n\nतीसरा (अंश).)\n\nअंतिम पंक्ति"
    structure = parse_structure(text)
    assert structure.subheadings == ["छोटा शीर्षक"]
    # A short unterminated last block is no teaser without a teaser's shape (a label or a
    # cue): it stays in the body (it left it before, on its position alone).
    assert structure.paragraphs == ["पहला पैरा।", "दूसरा पैरा।”", "तीसरा (अंश).)", "अंतिम पंक्ति"]
    assert structure.related_headlines == []
