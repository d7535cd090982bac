"""Numbers: grouping, digits of every script, multipliers, currencies, percentages, units."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import USER_SEED
from worker.enrich import keywords, language, lexicon, numbers
from worker.enrich.dates import extract_dates
from worker.enrich.numbers import NumberMention, Scan, extract_numbers


def found(
    text: str, exclude: list[tuple[int, int]] | None = None
) -> list[tuple[str, int | float, str | None]]:
    return [(n.text, n.value, n.unit) for n in extract_numbers(text, exclude or [])]


def check_spans(text: str, mentions: list[NumberMention]) -> None:
    last_end = 0
    for m in mentions:
        assert text[m.start : m.end] == m.text
        assert last_end <= m.start < m.end
        last_end = m.end


def test_seed_outside_dates() -> None:
    text = unicodedata.normalize("NFC", USER_SEED.read_text(encoding="utf-8"))
    dates = [(d.start, d.end) for d in extract_dates(text)]
    mentions = extract_numbers(text, dates)
    assert [(n.text, n.value, n.unit) for n in mentions] == [("11,000", 11000, "सैनिक")]
    check_spans(text, mentions)
    assert type(mentions[0].value) is int


def test_seed_without_exclusions_reports_the_date_numbers_too() -> None:
    text = unicodedata.normalize("NFC", USER_SEED.read_text(encoding="utf-8"))
    assert found(text) == [
        ("9", 9, None),  # a month is no unit
        ("2022", 2022, None),
        ("7", 7, None),
        ("11,000", 11000, "सैनिक"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Grouping and decimals
        ("कुल 11,000 सैनिक", [("11,000", 11000, "सैनिक")]),
        ("1,250,000 people", [("1,250,000", 1250000, "people")]),
        ("1,25,000 लोग", [("1,25,000", 125000, "लोग")]),
        ("11,00,000 लोग", [("11,00,000", 1100000, "लोग")]),
        ("12,34,56,789 वोट", [("12,34,56,789", 123456789, "वोट")]),
        ("3.75 मीटर", [("3.75", 3.75, "मीटर")]),
        ("1000 रन", [("1000", 1000, "रन")]),
        # Digits of other scripts
        ("११,००० सैनिक", [("११,०००", 11000, "सैनिक")]),
        ("২৫ জন", [("২৫", 25, "জন")]),
        ("٤٥ افراد", [("٤٥", 45, "افراد")]),
        ("۱۲ لوگ", [("۱۲", 12, "لوگ")]),
        # Multipliers
        ("2.5 करोड़ लोग", [("2.5 करोड़", 25000000, "लोग")]),
        ("2.5 करोड लोग", [("2.5 करोड", 25000000, "लोग")]),
        ("2.3 crore", [("2.3 crore", 23000000, None)]),
        ("5 लाख लोग", [("5 लाख", 500000, "लोग")]),
        ("3 lakh people", [("3 lakh", 300000, "people")]),
        ("2 lac", [("2 lac", 200000, None)]),
        ("3 हजार जवान", [("3 हजार", 3000, "जवान")]),
        ("3 हज़ार जवान", [("3 हज़ार", 3000, "जवान")]),
        ("4 thousand", [("4 thousand", 4000, None)]),
        ("2 million users", [("2 million", 2000000, "users")]),
        ("2 मिलियन", [("2 मिलियन", 2000000, None)]),
        ("1.5 billion", [("1.5 billion", 1500000000, None)]),
        ("3 बिलियन", [("3 बिलियन", 3000000000, None)]),
        ("4 अरब", [("4 अरब", 4000000000, None)]),
        ("1 lakh crore", [("1 lakh crore", 1000000000000, None)]),
        ("1.5 लाख करोड़ का बजट", [("1.5 लाख करोड़", 1500000000000, None)]),
        ("5 कोटी", [("5 कोटी", 50000000, None)]),
        ("5 কোটি", [("5 কোটি", 50000000, None)]),
        # Currencies
        ("₹5 लाख का इनाम", [("₹5 लाख", 500000, "INR")]),
        ("(₹5 लाख)", [("₹5 लाख", 500000, "INR")]),
        ("₹ 500", [("₹ 500", 500, "INR")]),
        ("Rs 3 crore", [("Rs 3 crore", 30000000, "INR")]),
        ("Rs. 3 crore", [("Rs. 3 crore", 30000000, "INR")]),
        ("Rs.3 crore", [("Rs.3 crore", 30000000, "INR")]),
        ("Rs.5,000 crore", [("Rs.5,000 crore", 50000000000, "INR")]),
        ("INR 500", [("INR 500", 500, "INR")]),
        ("रु. 500 दिए", [("रु. 500", 500, "INR")]),
        ("500 रुपये दिए", [("500 रुपये", 500, "INR")]),
        ("500 रुपए दिए", [("500 रुपए", 500, "INR")]),
        ("2 लाख रुपये", [("2 लाख रुपये", 200000, "INR")]),
        ("500 rupees", [("500 rupees", 500, "INR")]),
        ("$5 million", [("$5 million", 5000000, "USD")]),
        ("US$ 2 billion", [("US$ 2 billion", 2000000000, "USD")]),
        ("5 अरब डॉलर", [("5 अरब डॉलर", 5000000000, "USD")]),
        ("10 dollars", [("10 dollars", 10, "USD")]),
        ("500 रुपैयाँ", [("500 रुपैयाँ", 500, "NPR")]),
        ("€5 million", [("€5 million", 5000000, "EUR")]),
        ("800 billion euros", [("800 billion euros", 800000000000, "EUR")]),
        ("£ 3 billion", [("£ 3 billion", 3000000000, "GBP")]),
        ("1.6 billion pounds of", [("1.6 billion pounds", 1600000000, "GBP")]),
        # Percentages
        ("5% बढ़ा", [("5%", 5, "percent")]),
        ("5.5 % बढ़ा", [("5.5 %", 5.5, "percent")]),
        ("5 प्रतिशत वोट", [("5 प्रतिशत", 5, "percent")]),
        ("5 फीसदी वोट", [("5 फीसदी", 5, "percent")]),
        ("5 फ़ीसदी वोट", [("5 फ़ीसदी", 5, "percent")]),
        ("5 percent", [("5 percent", 5, "percent")]),
        ("5 per cent", [("5 per cent", 5, "percent")]),
        ("5 टक्के", [("5 टक्के", 5, "percent")]),
        ("5 فیصد", [("5 فیصد", 5, "percent")]),
        ("5 শতাংশ", [("5 শতাংশ", 5, "percent")]),
        # Units: the next word when it is a measure or a counted noun
        ("500 soldiers", [("500", 500, "soldiers")]),
        ("2022 में", [("2022", 2022, None)]),
        ("500 से अधिक", [("500", 500, None)]),
        ("5 और 6", [("5", 5, None), ("6", 6, None)]),
        ("5 of them", [("5", 5, None)]),
        ("5 In", [("5", 5, None)]),
        ("कुल 5।", [("5", 5, None)]),
        ("कुल 5, फिर", [("5", 5, None)]),
        ("कुल 5", [("5", 5, None)]),
        ("5 मेँ", [("5", 5, None)]),
        ("5 सैनिक।", [("5", 5, "सैनिक")]),
        ("4 ज़ख़्मी", [("4", 4, "ज़ख़्मी")]),
        ("7 विमान2", [("7", 7, None)]),
        ("7\n\nअगला", [("7", 7, None)]),
        ("“42” कहा", [("42", 42, None)]),
    ],
)
def test_forms(text: str, expected: list[tuple[str, int | float, str | None]]) -> None:
    mentions = extract_numbers(text)
    assert [(n.text, n.value, n.unit) for n in mentions] == expected
    check_spans(text, mentions)
    for n, (_, value, _) in zip(mentions, expected, strict=True):
        assert type(n.value) is type(value)


@pytest.mark.parametrize(
    "text",
    [
        "COVID-19",
        "G20 सम्मेलन",
        "5G नेटवर्क",
        "MP3",
        "https://example.com/news/2024/11/123.html",
        "www.example.in/story-12345",
        "page?id=42",
        "2025-03-03",
        "10:30 बजे",
        "१०:३० का समय",  # a colon between digits of any script glues them
        "score 3:1",
        "5-6 लोग",  # a range
        "2022-23",
        "24/7",
        "11th",
        "1,000,00",  # neither Western nor Indian grouping
        "v1.2.3",
        "Mrs5",
        "अब",
    ],
)
def test_not_numbers(text: str) -> None:
    assert found(text) == []


def test_exclude_drops_overlapping_numbers_only() -> None:
    text = "9 नवंबर को 11,000 सैनिक और ₹5 लाख"
    assert found(text, [(0, 7)]) == [("11,000", 11000, "सैनिक"), ("₹5 लाख", 500000, "INR")]
    # Any overlap counts, including with the currency sign only; spans may come unsorted.
    start = text.index("₹")
    assert found(text, [(start, start + 1), (0, 7)]) == [("11,000", 11000, "सैनिक")]
    assert found(text, [(100, 200)]) == found(text)


ALPHABET = (
    "0123456789०१२३४५६७८९১২۹٤ ,.-/%:()₹$\n"
    "amAMpPISTबजेJuly"
    "सैनिकलाखकरोड़हजारमेंसेप्रतिशतरुपयेडॉलरअरब\u093c"
    "RsINRUScrorelakhmillionpercentGCOVID"
)
texts = st.text(alphabet=st.sampled_from(ALPHABET), max_size=120) | st.text(max_size=80)


@settings(max_examples=500, deadline=None)
@given(texts, st.lists(st.tuples(st.integers(0, 130), st.integers(0, 20)), max_size=4))
def test_never_raises_and_spans_are_consistent(text: str, spans: list[tuple[int, int]]) -> None:
    exclude = [(s, s + n) for s, n in spans]
    mentions = extract_numbers(text, exclude)
    check_spans(text, mentions)
    for m in mentions:
        assert isinstance(m.value, int | float)
        assert not any(s < m.end and m.start < e for s, e in exclude if s < e)
    for d in extract_dates(text):
        assert text[d.start : d.end] == d.text


@settings(max_examples=300, deadline=None)
@given(texts)
def test_reusing_the_date_scan_changes_nothing(text: str) -> None:
    scan = Scan(text)
    dates = [(d.start, d.end) for d in extract_dates(scan)]  # records where numbers start
    for exclude in (dates, []):
        assert extract_numbers(scan, exclude) == extract_numbers(text, exclude)
        assert extract_numbers(Scan(text), exclude) == extract_numbers(text, exclude)


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        # Measured: the unit was simply the next word ("Section 144 imposed": "imposed").
        ("Section 144 imposed", None),
        ("14 दिसंबर", None),  # not a unit, whatever the date scan makes of it
        ("5 said", None),
        ("5 नए", None),
        ("5 Modi", None),
        ("5 ISRO", None),
        # Measures
        ("5 km", "km"),
        ("5 kilometres", "kilometres"),
        ("5 kg", "kg"),
        ("3.75 मीटर", "मीटर"),
        ("5 किलोमीटर", "किलोमीटर"),
        ("5 टन", "टन"),
        ("40 डिग्री", "डिग्री"),
        ("5 हेक्टेयर", "हेक्टेयर"),
        ("5 কিলোমিটার", "কিলোমিটার"),
        ("5 میٹر", "میٹر"),
        # Counted nouns, their plurals and Hindi oblique forms
        ("5 people", "people"),
        ("5 People", "People"),
        ("5 लोग", "लोग"),
        ("5 लोगों", "लोगों"),
        ("5 jawans", "jawans"),
        ("5 seats", "seats"),
        ("5 सीटें", "सीटें"),
        ("5 सीटों", "सीटों"),
        ("5 villages", "villages"),
        ("5 गांव", "गांव"),
        ("5 गाँव", "गाँव"),
        ("5 runs", "runs"),
        ("5 रन", "रन"),
        ("5 wickets", "wickets"),
        ("5 विकेट", "विकेट"),
        ("5 votes", "votes"),
        ("5 वोट", "वोट"),
        ("5 years", "years"),
        ("5 साल", "साल"),
        ("5 वर्ष", "वर्ष"),
        ("5 days", "days"),
        ("5 दिन", "दिन"),
        ("5 महिलाओं", "महिलाओं"),
        ("5 यात्रियों", "यात्रियों"),
        ("5 श्रद्धालुओं", "श्रद्धालुओं"),
        ("5 policies", None),  # not listed
        ("5 jawan", "jawan"),
        ("5 जन", None),  # a Nepali "persons" is जना
        ("5 জন", "জন"),
        ("5 افراد", "افراد"),
    ],
)
def test_a_unit_is_a_unit_only_when_it_is_one(text: str, unit: str | None) -> None:
    assert [n.unit for n in extract_numbers(text)] == [unit]


def test_one_lexicon() -> None:
    # The grammar words and the fold have one home; the modules use it, not copies.
    assert keywords.STOPWORDS is lexicon.STOPWORDS
    assert language._MARKERS is lexicon.MARKERS
    assert numbers.fold is lexicon.fold
    assert not hasattr(numbers, "_FUNCTION_WORDS")
    for script in lexicon.MARKERS.values():
        for lang, markers in script.items():
            assert markers <= set(lexicon.GRAMMAR_WORDS[lang][0].split())
    assert {"है", "आहे", "छ", "ہے", "the", "The"} <= lexicon.STOPWORDS
    # The unit table is the one extract_numbers reads: its words are units after a
    # number, in any case; words it lacks are not.
    for text, unit in [
        ("12 km", "km"),
        ("8 Kilometres", "Kilometres"),
        ("2 tonnes", "tonnes"),
        ("40 लोगों", "लोगों"),
        ("10 गांवों", "गांवों"),
        ("7 apples", None),
        ("4 हाथी", None),
    ]:
        assert lexicon.is_unit(text.split()[1]) is (unit is not None)
        assert [n.unit for n in extract_numbers(text)] == [unit]
