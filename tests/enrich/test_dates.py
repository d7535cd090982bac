"""Dates: every supported form with exact expected output, year resolution, negatives."""

from __future__ import annotations

import datetime
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import USER_SEED, load_enricher
from worker.enrich import lexicon
from worker.enrich.dates import DateMention, extract_dates, find_dates, parse_timestamp
from worker.enrich.numbers import extract_numbers, fold, keyword_pattern
from worker.enrich.scanning import Scan

PUBLISHED = datetime.date(2024, 11, 10)


def found(text: str, published: datetime.date | None = PUBLISHED) -> list[tuple[str, str, str]]:
    return [(d.text, d.value, d.granularity) for d in extract_dates(text, published)]


def check_spans(text: str, mentions: list[DateMention]) -> None:
    last_end = 0
    for m in mentions:
        assert text[m.start : m.end] == m.text
        assert last_end <= m.start < m.end
        last_end = m.end


def seed_text() -> str:
    return unicodedata.normalize("NFC", USER_SEED.read_text(encoding="utf-8"))


SEED_DATES = [
    ("शनिवार (9 नवंबर)", "2024-11-09", "day"),
    ("जून", "2024-06", "month"),
    ("फरवरी 2022", "2022-02", "month"),
    ("गुरुवार (7 नवंबर)", "2024-11-07", "day"),
    ("जनवरी", "2025-01", "month"),
]


def test_seed_without_publication_date() -> None:
    text = seed_text()
    mentions = extract_dates(text)
    assert [(d.text, d.value, d.granularity) for d in mentions] == SEED_DATES
    check_spans(text, mentions)


def test_seed_with_publication_date() -> None:
    assert found(seed_text(), PUBLISHED) == SEED_DATES


def test_seed_offsets() -> None:
    text = seed_text()
    first = extract_dates(text)[0]
    assert (first.start, first.end) == (text.index("शनिवार (9"), text.index("शनिवार (9") + 16)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Hindi
        ("9 नवंबर", [("9 नवंबर", "2024-11-09", "day")]),
        ("9 नवंबर 2024 को", [("9 नवंबर 2024", "2024-11-09", "day")]),
        ("9 नवंबर, 2024 को", [("9 नवंबर, 2024", "2024-11-09", "day")]),
        ("शनिवार (9 नवंबर) को", [("शनिवार (9 नवंबर)", "2024-11-09", "day")]),
        ("शनिवार, 9 नवंबर को", [("शनिवार, 9 नवंबर", "2024-11-09", "day")]),
        ("शनिवार (9 नवंबर 2024)", [("शनिवार (9 नवंबर 2024)", "2024-11-09", "day")]),
        ("शनिवार(9 नवंबर 2024)", [("शनिवार(9 नवंबर 2024)", "2024-11-09", "day")]),
        ("9 नवंबर (शनिवार) को", [("9 नवंबर (शनिवार)", "2024-11-09", "day")]),
        ("9 नवंबर, शनिवार को", [("9 नवंबर, शनिवार", "2024-11-09", "day")]),
        ("(9 नवंबर) को", [("9 नवंबर", "2024-11-09", "day")]),
        ("फरवरी 2022 में", [("फरवरी 2022", "2022-02", "month")]),
        ("फ़रवरी 2022 में", [("फ़रवरी 2022", "2022-02", "month")]),
        (
            "सितम्बर 2021, सितंबर 2020",
            [("सितम्बर 2021", "2021-09", "month"), ("सितंबर 2020", "2020-09", "month")],
        ),
        (
            "अक्तूबर 2020 और अक्टूबर 2019",
            [("अक्तूबर 2020", "2020-10", "month"), ("अक्टूबर 2019", "2019-10", "month")],
        ),
        ("नवँबर 2024", [("नवँबर 2024", "2024-11", "month")]),  # chandrabindu for anusvara
        ("अप्रैल 2023", [("अप्रैल 2023", "2023-04", "month")]),
        ("इसी साल जून में", [("जून", "2024-06", "month")]),
        ("जनवरी में", [("जनवरी", "2025-01", "month")]),
        ("5 मार्च 2024", [("5 मार्च 2024", "2024-03-05", "day")]),
        ("मार्च 2024", [("मार्च 2024", "2024-03", "month")]),
        ("साल 2022 में", [("2022", "2022", "year")]),
        ("वर्ष 2021 की रिपोर्ट", [("2021", "2021", "year")]),
        ("2019 में चुनाव", [("2019", "2019", "year")]),
        ("सन् 1947 में", [("1947", "1947", "year")]),
        ("29 फरवरी 2024", [("29 फरवरी 2024", "2024-02-29", "day")]),
        # English
        ("March 3, 2025", [("March 3, 2025", "2025-03-03", "day")]),
        ("3 March 2025", [("3 March 2025", "2025-03-03", "day")]),
        ("Saturday, March 3, 2025", [("Saturday, March 3, 2025", "2025-03-03", "day")]),
        ("Sat., Nov. 9, 2024", [("Sat., Nov. 9, 2024", "2024-11-09", "day")]),
        ("Sept. 9, 2024", [("Sept. 9, 2024", "2024-09-09", "day")]),
        ("Sep 9 2024", [("Sep 9 2024", "2024-09-09", "day")]),
        ("on Jan 5, 2024.", [("Jan 5, 2024", "2024-01-05", "day")]),
        ("on 9 Nov. The", [("9 Nov", "2024-11-09", "day")]),
        ("3rd March 2025", [("3rd March 2025", "2025-03-03", "day")]),
        ("March 3rd, 2025", [("March 3rd, 2025", "2025-03-03", "day")]),
        ("the 9th of November 2024", [("9th of November 2024", "2024-11-09", "day")]),
        ("in June the", [("June", "2024-06", "month")]),
        ("5 may 2024", [("5 may 2024", "2024-05-05", "day")]),
        ("May 2024", [("May 2024", "2024-05", "month")]),
        ("elected in 2022 as", [("2022", "2022", "year")]),
        ("since 2014", [("2014", "2014", "year")]),
        ("2025-03-03", [("2025-03-03", "2025-03-03", "day")]),
        ("at 2025-03-03T10:00Z", [("2025-03-03T10:00Z", "2025-03-03T10:00+00:00", "minute")]),
        ("03/03/2025", [("03/03/2025", "2025-03-03", "day")]),
        ("31/12/2024", [("31/12/2024", "2024-12-31", "day")]),
        ("31.12.2024", [("31.12.2024", "2024-12-31", "day")]),
        ("31-12-2024", [("31-12-2024", "2024-12-31", "day")]),
        # Marathi
        ("9 नोव्हेंबर 2024 रोजी", [("9 नोव्हेंबर 2024", "2024-11-09", "day")]),
        ("शनिवार, 9 नोव्हेंबर", [("शनिवार, 9 नोव्हेंबर", "2024-11-09", "day")]),
        ("मंगळवार, 5 नोव्हेंबर", [("मंगळवार, 5 नोव्हेंबर", "2024-11-05", "day")]),
        ("मे 2024 मध्ये", [("मे 2024", "2024-05", "month")]),
        ("2022 मध्ये", [("2022", "2022", "year")]),
        ("जानेवारी महिन्यात", [("जानेवारी", "2025-01", "month")]),
        # Nepali
        ("९ नोभेम्बर २०२४", [("९ नोभेम्बर २०२४", "2024-11-09", "day")]),
        ("शनिबार, ९ नोभेम्बर", [("शनिबार, ९ नोभेम्बर", "2024-11-09", "day")]),
        ("सन् २०२२ मा", [("२०२२", "2022", "year")]),
        ("सेप्टेम्बर २०२३", [("सेप्टेम्बर २०२३", "2023-09", "month")]),
        # Urdu
        ("9 نومبر 2024 کو", [("9 نومبر 2024", "2024-11-09", "day")]),
        ("ہفتہ، 9 نومبر کو", [("ہفتہ، 9 نومبر", "2024-11-09", "day")]),
        ("۹ نومبر ۲۰۲۴", [("۹ نومبر ۲۰۲۴", "2024-11-09", "day")]),
        ("فروری 2022 میں", [("فروری 2022", "2022-02", "month")]),
        ("سال 2022 میں", [("2022", "2022", "year")]),
        # Bengali
        ("৯ নভেম্বর ২০২৪", [("৯ নভেম্বর ২০২৪", "2024-11-09", "day")]),
        ("শনিবার, ৯ নভেম্বর", [("শনিবার, ৯ নভেম্বর", "2024-11-09", "day")]),
        ("জানুয়ারি ২০২৪", [("জানুয়ারি ২০২৪", "2024-01", "month")]),
        ("২০২২ সালে", [("২০২২", "2022", "year")]),
    ],
)
def test_forms(text: str, expected: list[tuple[str, str, str]]) -> None:
    mentions = extract_dates(text, PUBLISHED)
    assert [(d.text, d.value, d.granularity) for d in mentions] == expected
    check_spans(text, mentions)


@pytest.mark.parametrize(
    "text",
    [
        "अब",  # "now": a popular library reads it as a date
        "पूरा विश्व अब इन जंगों की खत्म होने की राह देख रहा है।",
        "किसानों ने मार्च निकाला",  # a protest march
        "मार्च",
        "May be",
        "march on",
        "you may",
        "Jun",
        "june",
        "31 फरवरी",
        "31 फरवरी 2024",
        "29 फरवरी 2023",
        "32 नवंबर",
        "शनिवार को",  # a weekday alone is no date
        "शनिवार को 11 बजे",
        "COVID-19",
        "5 मे से 3",  # Hindi में with the anusvara dropped
        "5 मे",
        "में",
        "अजून",  # Marathi "still": contains जून
        "जूनियर",  # "junior"
        "नवंबरी",
        "12/31/2024",  # month first: not the Indian convention
        "30/02/2024",
        "2024-13-01",
        "2000 में से 500",  # "500 out of 2000"
        "2000 के नोट",  # banknotes
        "साल 1850 में",  # outside 1900-2100
        "5 मार्च 1850",
        "क्रमांक 2022/23",
        "G20 2023",
    ],
)
def test_not_dates(text: str) -> None:
    assert found(text) == []


def test_explicit_year_wins_over_disagreeing_weekday() -> None:
    # 9 November 2023 was a Thursday.
    assert found("शनिवार, 9 नवंबर 2023", None) == [("शनिवार, 9 नवंबर 2023", "2023-11-09", "day")]


def test_published_nearest_occurrence_and_ties_to_the_past() -> None:
    assert found("9 नवंबर, जून, जनवरी", PUBLISHED) == [
        ("9 नवंबर", "2024-11-09", "day"),
        ("जून", "2024-06", "month"),
        ("जनवरी", "2025-01", "month"),
    ]
    # Six months either way: the past wins.
    assert found("जून", datetime.date(2024, 12, 10)) == [("जून", "2024-06", "month")]
    assert found("25 दिसंबर", datetime.date(2025, 1, 3)) == [("25 दिसंबर", "2024-12-25", "day")]
    # 29 February exists only in 2024 among 2023-2025.
    assert found("29 फरवरी", datetime.date(2024, 11, 10)) == [("29 फरवरी", "2024-02-29", "day")]


def test_published_prefers_a_year_where_the_weekday_agrees() -> None:
    # Nearest to 2025-05-01 is 2025-11-09 (a Sunday); 2024-11-09 was a Saturday.
    assert found("शनिवार (9 नवंबर)", datetime.date(2025, 5, 1)) == [
        ("शनिवार (9 नवंबर)", "2024-11-09", "day")
    ]


def test_weekday_anchors_the_year_without_publication_date() -> None:
    # No explicit year: the agreeing year nearest today's.
    got = extract_dates("गुरुवार (7 नवंबर) को और जून में", today=datetime.date(2026, 3, 1))
    assert [(d.value, d.granularity) for d in got] == [("2024-11-07", "day"), ("2024-06", "month")]
    # The explicit year 2019 anchors: Saturday 9 November falls in 2019 itself.
    assert found("2019 में ... शनिवार, 9 नवंबर", None) == [
        ("2019", "2019", "year"),
        ("शनिवार, 9 नवंबर", "2019-11-09", "day"),
    ]


def test_latest_explicit_year_without_weekday() -> None:
    assert found("जून में, 2019 में और साल 2020 में; 5 मार्च को", None) == [
        ("जून", "2020-06", "month"),
        ("2019", "2019", "year"),
        ("2020", "2020", "year"),
        ("5 मार्च", "2020-03-05", "day"),
    ]


def test_yearless_dates_without_any_reference_stay_yearless() -> None:
    # Measured: "14 दिसंबर" was dropped as a date and became the number 14 (unit दिसंबर).
    assert found("जून में और 9 नवंबर को", None) == [
        ("जून", "--06", "month"),
        ("9 नवंबर", "--11-09", "day"),
    ]
    assert found("14 दिसंबर को संसद", None) == [("14 दिसंबर", "--12-14", "day")]
    scan = Scan("14 दिसंबर को संसद")
    dates = extract_dates(scan)
    assert extract_numbers(scan, [(d.start, d.end) for d in dates]) == []


def test_dates_at_text_and_paragraph_starts_and_in_quotes() -> None:
    text = "जून 2024 में\n\n9 नवंबर 2024 को “जनवरी 2025” कहा"
    assert found(text) == [
        ("जून 2024", "2024-06", "month"),
        ("9 नवंबर 2024", "2024-11-09", "day"),
        ("जनवरी 2025", "2025-01", "month"),
    ]


def test_helpers_fold_spelling_variants() -> None:
    pattern = re.compile(keyword_pattern(["फ़रवरी", "नवंबर", "ہفتہ"]) + r"\Z")
    for variant in ("फरवरी", "फ\u093cरवरी", "नवंबर", "नवँबर", "ہفتہ", "هفته"):
        assert pattern.match(variant), variant
    assert fold("फ\u093cरवरी") == fold("फरवरी")
    assert fold("नवँबर") == fold("नवंबर")
    assert fold("JUNE") == "june"


ALPHABET = (
    "0123456789०१२३४५६७८९৯২۹ ,.-/()\n"
    "शनिवारनवंबरजूनफरवरीमार्चमेंसेसालवर्ष\u093c\u0901"
    "MarchMaySaturdayNovSept.in"
    "نومبرہفتہ،নভেম্বরশনিবার"
)
# Words of timestamps, so that the time grammar is reached, not just its characters.
TIME_WORDS = (
    "Updated: Updated:July July Jul 2 2, 02 2018 2018, 9:03 09:03:00 9.03 12 AM pm a.m. IST "
    "(IST) GMT+5:30 +05:30 +0530 Z T09:03 2018-07-02 2018-07-02T09:03:00+05:30 | at - बजे "
    "सुबह शाम रात को 14 दिसंबर 2024 Monday, 5 people"
).split()
texts = (
    st.text(alphabet=st.sampled_from(ALPHABET), max_size=120)
    | st.text(max_size=80)
    | st.lists(st.sampled_from(TIME_WORDS), max_size=14).map(" ".join)
)


@settings(max_examples=500, deadline=None)
@given(
    texts, st.one_of(st.none(), st.dates(datetime.date(1900, 1, 1), datetime.date(2100, 12, 31)))
)
def test_never_raises_and_spans_are_consistent(text: str, published: datetime.date | None) -> None:
    mentions = extract_dates(text, published, today=datetime.date(2024, 11, 10))
    check_spans(text, mentions)
    for m in mentions:
        assert m.granularity in {"minute", "day", "month", "year"}
        if m.value.startswith("--"):  # no year: XSD gMonthDay or gMonth
            assert len(m.value) == {"day": 7, "month": 4}[m.granularity]
            parts = [2000, *(int(p) for p in m.value[2:].split("-"))]
        else:
            date, _, time = m.value.partition("T")
            assert bool(time) == (m.granularity == "minute")
            assert len(date) == {"minute": 10, "day": 10, "month": 7, "year": 4}[m.granularity]
            parts = [int(p) for p in date.split("-")]
            if time:
                datetime.time.fromisoformat(time)  # a real time of day, with its offset
        datetime.date(parts[0], *[*parts[1:], 1, 1][:2])  # a real calendar date
        assert 1900 <= parts[0] <= 2100


# --- times of day, timestamps, yearless dates (issue 7) ---------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Measured: "Updated:July 2, 2018, 9:03 AM IST" gave no date but the numbers 2, 2018.
        (
            "Updated:July 2, 2018, 9:03 AM IST",
            ("July 2, 2018, 9:03 AM IST", "2018-07-02T09:03+05:30"),
        ),
        (
            "Updated: July 2, 2018, 9:03 AM IST",
            ("July 2, 2018, 9:03 AM IST", "2018-07-02T09:03+05:30"),
        ),
        ("Updated: 02 Jul 2018, 09:03 IST", ("02 Jul 2018, 09:03 IST", "2018-07-02T09:03+05:30")),
        ("July 2, 2018 | 09:03 PM IST", ("July 2, 2018 | 09:03 PM IST", "2018-07-02T21:03+05:30")),
        (
            "July 2, 2018 at 9:03 p.m. (IST)",
            ("July 2, 2018 at 9:03 p.m. (IST)", "2018-07-02T21:03+05:30"),
        ),
        ("2 July 2018 9.03 am.", ("2 July 2018 9.03 am", "2018-07-02T09:03")),
        ("July 2, 2018, 12 AM", ("July 2, 2018, 12 AM", "2018-07-02T00:00")),
        ("July 2, 2018, 12:30 PM GMT", ("July 2, 2018, 12:30 PM GMT", "2018-07-02T12:30+00:00")),
        ("July 2, 2018 09:03 +0530", ("July 2, 2018 09:03 +0530", "2018-07-02T09:03+05:30")),
        ("July 2, 2018 09:03 GMT+5:30", ("July 2, 2018 09:03 GMT+5:30", "2018-07-02T09:03+05:30")),
        (
            "Mon, 02 Jul 2018 09:03:00 GMT",
            ("Mon, 02 Jul 2018 09:03:00 GMT", "2018-07-02T09:03+00:00"),
        ),
        ("2018-07-02T09:03:00+05:30", ("2018-07-02T09:03:00+05:30", "2018-07-02T09:03+05:30")),
        ("2018-07-02T09:03:00.123Z", ("2018-07-02T09:03:00.123Z", "2018-07-02T09:03+00:00")),
        ("2018-07-02 09:03", ("2018-07-02 09:03", "2018-07-02T09:03")),  # no zone: local
        ("02/07/2018 09:03 UTC", ("02/07/2018 09:03 UTC", "2018-07-02T09:03+00:00")),
        ("2 जुलाई 2018 को सुबह 9:03 बजे", ("2 जुलाई 2018 को सुबह 9:03 बजे", "2018-07-02T09:03")),
        ("2 जुलाई 2018 को शाम 5 बजे", ("2 जुलाई 2018 को शाम 5 बजे", "2018-07-02T17:00")),
        ("2 जुलाई 2018 को रात 2 बजे", ("2 जुलाई 2018 को रात 2 बजे", "2018-07-02T02:00")),
        ("2 July 2018, 9:03 PKT", ("2 July 2018, 9:03 PKT", "2018-07-02T09:03+05:00")),
        ("2 July 2018, 9:03 NPT", ("2 July 2018, 9:03 NPT", "2018-07-02T09:03+05:45")),
    ],
)
def test_dates_with_times_and_zones(text: str, expected: tuple[str, str]) -> None:
    mentions = extract_dates(text, PUBLISHED)
    assert [(d.text, d.value, d.granularity) for d in mentions] == [(*expected, "minute")]
    check_spans(text, mentions)
    scan = Scan(text)
    dates = extract_dates(scan, PUBLISHED)
    assert extract_numbers(scan, [(d.start, d.end) for d in dates]) == []  # none from inside


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # What follows is no time: it stays out of the date, and its numbers stay numbers.
        ("2 July 2018, 5 people", [("2 July 2018", "2018-07-02", "day"), ("5", 5, "people")]),
        (
            "July 2, 2018, 10.30 lakh",
            [("July 2, 2018", "2018-07-02", "day"), ("10.30 lakh", 1030000, None)],
        ),
        ("2 July 2018, 13 PM", [("2 July 2018", "2018-07-02", "day")]),
        ("2 July 2018, 9:75", [("2 July 2018", "2018-07-02", "day")]),
        ("2 July 2018, 25:00 IST", [("2 July 2018", "2018-07-02", "day")]),
        ("July 2018, 9:03 AM", [("July 2018", "2018-07", "month")]),  # a time needs a day
        ("2 July 2018, 9:03 ISTANBUL", [("2 July 2018, 9:03", "2018-07-02T09:03", "minute")]),
    ],
)
def test_what_is_no_time_of_a_date(text: str, expected: list[tuple[str, object, object]]) -> None:
    scan = Scan(text)
    dates = extract_dates(scan, PUBLISHED)
    numbers = extract_numbers(scan, [(d.start, d.end) for d in dates])
    got = [(d.text, d.value, d.granularity) for d in dates]
    assert got + [(n.text, n.value, n.unit) for n in numbers] == expected


def test_a_yearless_day_with_a_time_keeps_its_day_only() -> None:
    assert found("2 July, 9:03 AM IST", None) == [("2 July, 9:03 AM IST", "--07-02", "day")]
    assert found("2 July, 9:03 AM IST", datetime.date(2018, 7, 5)) == [
        ("2 July, 9:03 AM IST", "2018-07-02T09:03+05:30", "minute")
    ]


@pytest.mark.parametrize(
    "text",
    ["सुबह 9:03 बजे", "10.30 बजे", "5 बजे", "9:03 AM IST", "09:03 IST", "9.03 am", "9 am", "11 p.m."],
)
def test_times_alone_are_neither_dates_nor_numbers(text: str) -> None:
    scan = Scan(text)
    assert extract_dates(scan, PUBLISHED) == []
    assert extract_numbers(scan) == []
    assert extract_numbers(text) == []  # on a plain string too


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2nd July 2018", [("2nd July 2018", "2018-07-02", "day")]),
        ("on the 14th of December", [("14th of December", "2024-12-14", "day")]),
        ("July 14th", [("July 14th", "2024-07-14", "day")]),
        ("the 14th", []),
    ],
)
def test_no_numbers_from_ordinals_of_dates(text: str, expected: list[tuple[str, str, str]]) -> None:
    scan = Scan(text)
    dates = extract_dates(scan, PUBLISHED)
    assert [(d.text, d.value, d.granularity) for d in dates] == expected
    assert extract_numbers(scan, [(d.start, d.end) for d in dates]) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Updated: July 2, 2018, 9:03 AM IST", "2018-07-02T09:03:00+05:30"),
        ("July 2, 2018, 9:03 AM IST", "2018-07-02T09:03:00+05:30"),
        ("Published:Mon, 02 Jul 2018 09:03:00 GMT", "2018-07-02T09:03:00+00:00"),
        ("2018-07-02T09:03:00+05:30", "2018-07-02T09:03:00+05:30"),
        ("2018-07-02 09:03", "2018-07-02T09:03:00"),  # local time
        ("2 जुलाई 2018", "2018-07-02"),
        ("July 2018", None),  # not a moment
        ("2 July, 9:03 AM", None),  # no year, no reference
        ("Monday, 2 July", None),  # a weekday is no reference: never the clock
        ("by our correspondent", None),
        ("", None),
    ],
)
def test_parse_timestamp(line: str, expected: str | None) -> None:
    got = parse_timestamp(line)
    assert got == expected
    if got is not None:  # what datetime reads and writes back, as published_at
        assert datetime.datetime.fromisoformat(got).isoformat().startswith(got)


def test_parse_timestamp_places_a_yearless_day_near_the_reference() -> None:
    assert parse_timestamp("2 July, 9:03 AM", datetime.date(2018, 12, 1)) == "2018-07-02T09:03:00"
    assert parse_timestamp("Monday, 2 July", datetime.date(2018, 7, 5)) == "2018-07-02"


def test_a_scan_is_explicit_state() -> None:
    # Two texts scanned in turn: each Scan keeps its own places (a module-global memo held
    # one text, so interleaved calls scanned again or, shared across threads, raced).
    one, two = Scan("कुल 11,000 सैनिक, 9 नवंबर को"), Scan("5 लाख लोग")
    dates_one, dates_two = extract_dates(one, PUBLISHED), extract_dates(two, PUBLISHED)
    assert one.number_starts is not None
    assert two.number_starts is not None
    numbers_two = extract_numbers(two, [(d.start, d.end) for d in dates_two])
    numbers_one = extract_numbers(one, [(d.start, d.end) for d in dates_one])
    assert [(n.text, n.unit) for n in numbers_one] == [("11,000", "सैनिक")]
    assert [(n.text, n.unit) for n in numbers_two] == [("5 लाख", "लोग")]
    assert not hasattr(__import__("worker.enrich.scanning").enrich.scanning, "_memo")


def test_fold_is_the_lexicon_rule() -> None:
    assert fold is lexicon.fold
    assert (
        fold("ज़ेलेंस्की")
        == fold("जेलेंस्की")
        == fold("\u095b\u0947\u0932\u0947\u0902\u0938\u094d\u0915\u0940")
    )
    assert fold("হয়") == fold("\u09b9\u09df")  # Bengali nukta, decomposed or not
    assert fold("هفته") == fold("ہفتہ")


def test_urdu_typed_with_the_arabic_yeh() -> None:
    # ARABIC_VARIANTS listed ی twice and missed ي (U+064A): keywords typed with it were lost.
    assert found("پير، 4 نومبر") == [("پير، 4 نومبر", "2024-11-04", "day")]
    assert found("4 جنوري 2025") == [("4 جنوري 2025", "2025-01-04", "day")]


def test_the_record_has_the_timestamp_as_a_date_and_no_numbers_from_it() -> None:
    # Measured: "Updated: July 2, 2018, 9:03 AM IST" gave no date but the numbers 2 and 2018.
    raw = "Updated:July 2, 2018, 9:03 AM IST\n\nSection 144 was imposed. 14 दिसंबर को सत्र खत्म।"
    record = load_enricher().enrich(raw).record
    assert record["schema_version"] == 2
    assert record["dates"] == [
        {
            "text": "July 2, 2018, 9:03 AM IST",
            "value": "2018-07-02T09:03+05:30",
            "granularity": "minute",
        },
        {"text": "14 दिसंबर", "value": "2018-12-14", "granularity": "day"},  # the text's year
    ]
    assert record["numbers"] == [{"text": "144", "value": 144, "unit": None}]


@pytest.mark.parametrize("published", [PUBLISHED, None])
def test_find_dates_gives_the_fields_of_extract_dates_and_the_same_number_starts(
    published: datetime.date | None,
) -> None:
    text = "शनिवार (9 नवंबर) को 12 लोग, 14 दिसंबर और 2022 में; July 2, 2018, 9:03 AM IST. 7 मे"
    scan_a, scan_b = Scan(text), Scan(text)
    mentions = extract_dates(scan_a, published, today=PUBLISHED)
    tuples = find_dates(scan_b, published, today=PUBLISHED)
    assert tuples == [(m.text, m.value, m.granularity, m.start, m.end) for m in mentions]
    assert scan_a.number_starts == scan_b.number_starts
