"""Lead, paragraphs, subheadings and teaser headlines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import USER_SEED, load_enricher
from tests.enrich.timing import CEILING_SECONDS, growth, within_ceiling
from worker.enrich import pipeline
from worker.enrich.structure import SENTENCE_END, ends_sentence, first_sentence, parse_structure

EXPECTATIONS: dict[str, Any] = json.loads(
    Path(__file__).with_name("seed_expectations.json").read_text(encoding="utf-8")
)


def test_lead_with_source_alias_and_topic() -> None:
    s = parse_structure("India News (इंडिया न्यूज), Russia North Korea Treaty: दुनिया में जंग है।")
    assert (s.source, s.source_alias, s.dateline) == (
        "India News",
        "इंडिया न्यूज",
        "Russia North Korea Treaty",
    )
    assert s.body == "दुनिया में जंग है।"


def test_place_dateline() -> None:
    s = parse_structure("नई दिल्ली: सरकार ने आज बजट पेश किया।")
    assert s.dateline == "नई दिल्ली"
    assert s.source is None
    assert s.body == "सरकार ने आज बजट पेश किया।"


def test_no_lead_when_the_first_sentence_has_a_colon_late() -> None:
    text = "सरकार ने आज कई बड़े फैसले लिए और मंत्री ने कहा: हम तैयार हैं।"
    assert parse_structure(text).dateline is None


def test_labelled_teasers_leave_the_body() -> None:
    text = "पहला पैरा।\n\nये भी पढ़ें: बड़ी खबर यहां\n\nAlso Read: Another story\n\nदूसरा पैरा।"
    s = parse_structure(text)
    assert s.related_headlines == ["बड़ी खबर यहां", "Another story"]
    assert s.body == "पहला पैरा।\n\nदूसरा पैरा।"


def test_label_on_its_own_line_applies_to_the_next_block() -> None:
    s = parse_structure("पहला पैरा।\n\nये भी पढ़ें:\n\nबड़ी खबर यहां\n\nदूसरा पैरा।")
    assert s.related_headlines == ["बड़ी खबर यहां"]
    assert s.paragraphs == ["पहला पैरा।", "दूसरा पैरा।"]


def test_subheading_versus_bare_teaser() -> None:
    text = (
        "पहला पैरा है।\n\nचुनाव के नतीजे\n\nदूसरा पैरा है।\n\n"
        "चुनाव जीतते ही नेता को आया बुलावा, जानें इस तारीख को क्यों मिलेंगे दोनों?\n\nतीसरा पैरा है।"
    )
    s = parse_structure(text)
    assert s.subheadings == ["चुनाव के नतीजे"]
    assert s.related_headlines == ["चुनाव जीतते ही नेता को आया बुलावा, जानें इस तारीख को क्यों मिलेंगे दोनों?"]
    assert "चुनाव के नतीजे" in s.body
    assert "बुलावा" not in s.body


def test_single_newline_paragraphs() -> None:
    s = parse_structure("One.\nTwo.\nThree.")
    assert s.paragraphs == ["One.", "Two.", "Three."]


def test_first_sentence_is_bounded() -> None:
    assert first_sentence("पहला वाक्य। दूसरा वाक्य।") == "पहला वाक्य।"
    long = "शब्द " * 80
    cut = first_sentence(long, limit=40)
    assert len(cut) <= 40
    assert cut.endswith("…")


# --- issue 7: body text is never lost -------------------------------------------------------

P1, P2 = "पहला पैरा है।", "दूसरा पैरा है।"


def _middle(block: str) -> str:
    """``block`` as the second of three blocks."""
    return f"{P1}\n\n{block}\n\n{P2}"


@pytest.mark.parametrize(
    "block",
    [
        # Measured: each of these one-line paragraphs left the body for related_headlines.
        "The civic body spent Rs 1,200 crore on drains. So why does Hindmata still flood?",
        "सरकार ने कई कदम उठाए हैं। फिर भी हालात क्यों नहीं बदले?",
        "She asked, “Why were minority shareholders never told, and why should we trust them?”",
        "सत्र से पहले राजधानी में सियासी हलचल तेज है और दोनों पक्षों के बीच टकराव का माहौल है!",
        "जीत के बाद पूरे शहर में, हर गली और हर चौराहे पर जश्न का माहौल है!",
        "When the minister arrived, he asked the crowd whether they were ready for change?",
        "The US, UK and France said they would not recognise the result without a recount",
    ],
)
def test_prose_stays_in_the_body(block: str) -> None:
    s = parse_structure(_middle(block))
    assert s.related_headlines == []
    assert s.paragraphs == [P1, block, P2]


def test_a_word_that_starts_like_a_label_is_no_label() -> None:
    block = "Related-party transactions rose 38 percent to Rs 2,310 crore last year."
    s = parse_structure(_middle(block))
    assert s.related_headlines == []
    assert s.paragraphs == [P1, block, P2]  # was stored as `party transactions…`
    assert parse_structure(_middle("Relatedness: a word, not a label.")).related_headlines == []


@pytest.mark.parametrize(
    ("block", "headline"),
    [
        (
            "Check Also: Landslide blocks highway near Ratnagiri",
            "Landslide blocks highway near Ratnagiri",
        ),
        ("Related Articles: Rain threatens final day", "Rain threatens final day"),
        ("पढ़ें :- वाराणसी में बनेगा नया घाट", "वाराणसी में बनेगा नया घाट"),
        ("यह भी पढ़ें: रेल किराये में बढ़ोतरी", "रेल किराये में बढ़ोतरी"),
        ("Read More – SEBI tightens disclosure rules", "SEBI tightens disclosure rules"),
        ("हेही वाचा : पुणे मेट्रोला मंजुरी", "पुणे मेट्रोला मंजुरी"),
        ("संबंधित बातम्या: उड्डाणपुलाचे काम रखडले", "उड्डाणपुलाचे काम रखडले"),
        ("थप पढ्नुहोस् : फोहोर अभियान", "फोहोर अभियान"),
        ("सम्बन्धित समाचार: ल्यान्डफिलको काम अधुरो", "ल्यान्डफिलको काम अधुरो"),
        ("متعلقہ خبریں: کراچی میں کریک ڈاؤن", "کراچی میں کریک ڈاؤن"),
        ("مزید پڑھیں: سندھ حکومت کا منصوبہ", "سندھ حکومت کا منصوبہ"),
        ("আরো পড়ুন: মশা নিধনে অভিযান", "মশা নিধনে অভিযান"),
        ("সম্পর্কিত খবর: খরচ বেঁধে দিল মন্ত্রণালয়", "খরচ বেঁধে দিল মন্ত্রণালয়"),
    ],
)
def test_teaser_labels(block: str, headline: str) -> None:
    s = parse_structure(_middle(block))
    assert s.related_headlines == [headline]
    assert s.paragraphs == [P1, P2]


@pytest.mark.parametrize("label", ["Related Articles", "Check Also", "यह भी पढ़ें", "Read More"])
def test_a_label_line_of_its_own(label: str) -> None:
    s = parse_structure(f"{P1}\n\n{label}\n\nपहली खबर यहां\n\n{P2}")
    assert s.related_headlines == ["पहली खबर यहां"]
    s = parse_structure(f"{P1}\n\n{label}\nपहली खबर यहां\nदूसरी खबर यहां\n\n{P2}")
    assert s.related_headlines == ["पहली खबर यहां", "दूसरी खबर यहां"]
    assert s.paragraphs == [P1, P2]


def test_the_user_seed_bare_teasers_are_found() -> None:
    raw = USER_SEED.read_bytes().decode("utf-8")
    want = EXPECTATIONS[USER_SEED.name]
    s = parse_structure(raw)
    assert s.related_headlines == want["related_headlines"]
    assert s.subheadings == want["subheadings"]


# --- issue 7: leads and titles as real feeds write them ----------------------------------


@pytest.mark.parametrize(
    ("text", "dateline", "body"),
    [
        ("नई दिल्ली। संसद का सत्र सोमवार से शुरू होगा।", "नई दिल्ली", "संसद का सत्र सोमवार से शुरू होगा।"),
        ("काठमाडौं । फोहोरको समस्या फेरि चर्कियो।", "काठमाडौं", "फोहोरको समस्या फेरि चर्कियो।"),
        ("Mumbai (PTI) – Heavy rain lashed the city.", "Mumbai", "Heavy rain lashed the city."),
        ("WASHINGTON (Reuters) - The US paused aid.", "WASHINGTON", "The US paused aid."),
        (
            "Mumbai, Nov 9: Heavy rain lashed the city.",
            "Mumbai, Nov 9",
            "Heavy rain lashed the city.",
        ),
    ],
)
def test_datelines(text: str, dateline: str, body: str) -> None:
    s = parse_structure(text)
    assert (s.dateline, s.body) == (dateline, body)


@pytest.mark.parametrize(
    "text",
    [
        "प्रधानमंत्री मोदी ने कहा: गांव तक पक्की सड़क पहुंचना जरूरी है।",
        "मोदी बोले: हम तैयार हैं।",
        "Trump said: we will not pay for it.",
        "Note: This story has been updated with close-of-play scores.",
        "वह आया। फिर चला गया।",  # a short sentence, not a place
        "बारिश हुई। सड़कें डूब गईं।",
    ],
)
def test_no_dateline_and_nothing_lost(text: str) -> None:
    s = parse_structure(text)
    assert s.dateline is None
    assert s.body == text


def test_breaking_is_a_label_not_a_dateline() -> None:
    s = parse_structure("BREAKING : Six workers were killed in a fire, police said.")
    assert s.dateline is None
    assert s.body == "Six workers were killed in a fire, police said."


def test_agency_of_the_lead_is_a_credit() -> None:
    assert parse_structure("Mumbai (PTI) – Heavy rain lashed the city.").credits == ["PTI"]


@pytest.mark.parametrize(
    "credit",
    [
        "PTI",
        "IANS",
        "(ANI)",
        "— Reuters",
        "(इनपुट: एजेंसी भाषा)",
        "(इनपुट: आईएएनएस)",
        "With inputs from Reuters",
        "(With inputs from PTI, ANI)",
        "(This story has not been edited by NDTV staff and is auto-generated from a syndicated feed.)",
    ],
)
def test_credit_lines_are_metadata(credit: str) -> None:
    s = parse_structure(f"{P1}\n\n{P2}\n\n{credit}")
    assert s.credits == [credit]
    assert s.paragraphs == [P1, P2]
    assert s.related_headlines == s.subheadings == []


def test_a_credit_at_the_end_of_a_paragraph() -> None:
    s = parse_structure(f"{P1}\n\nThe minister said so. (With inputs from PTI)")
    assert s.credits == ["(With inputs from PTI)"]
    assert s.paragraphs == [P1, "The minister said so."]


@pytest.mark.parametrize(
    ("line", "stamps"),
    [
        ("Updated: July 2, 2018, 9:03 AM IST", [("updated", "July 2, 2018, 9:03 AM IST")]),
        (
            "Published: December 16, 2024, 6:45 PM IST",
            [("published", "December 16, 2024, 6:45 PM IST")],
        ),
        (
            "Published On: Jul 1, 2018 | Last Updated: Jul 2, 2018",
            [("published", "Jul 1, 2018"), ("updated", "Jul 2, 2018")],
        ),
        ("अपडेटेड: 2 जुलाई 2018, 09:03 AM", [("updated", "2 जुलाई 2018, 09:03 AM")]),
        ("प्रकाशित: 16 दिसंबर 2024", [("published", "16 दिसंबर 2024")]),
    ],
)
def test_stamps_are_metadata(line: str, stamps: list[tuple[str, str]]) -> None:
    s = parse_structure(f"{line}\n\nनई दिल्ली: {P1}\n\n{line}\n\n{P2}")
    assert s.stamps == stamps + stamps
    assert s.dateline == "नई दिल्ली"
    assert s.subheadings == []
    assert s.paragraphs == [P1, P2]


def test_a_plain_text_headline_is_the_title() -> None:
    text = "Allahabad High Court stays demolition of 40 homes\n\nLucknow: The court stayed it."
    s = parse_structure(text)
    assert (s.title, s.dateline, s.body) == (
        "Allahabad High Court stays demolition of 40 homes",
        "Lucknow",
        "The court stayed it.",
    )
    # A given title that the body repeats leaves the body; a different first line stays.
    given = parse_structure(text, title="Allahabad High Court stays demolition of 40 homes")
    assert (given.title, given.body) == (None, "The court stayed it.")
    other = parse_structure(text, title="Another title")
    assert other.title is None
    assert other.paragraphs[0] == "Allahabad High Court stays demolition of 40 homes"


def test_records_carry_titles_datelines_and_credits() -> None:
    enricher = load_enricher()
    record = enricher.enrich(
        "Plain headline about the rain\n\nMumbai (PTI) – Heavy rain lashed the city on Sunday."
        "\n\nTrains were late.\n\nWith inputs from Reuters"
    ).record
    assert record["title"] == "Plain headline about the rain"
    assert record["dateline"] == "Mumbai"
    assert record["credits"] == ["PTI", "With inputs from Reuters"]
    assert record["body"] == "Heavy rain lashed the city on Sunday.\n\nTrains were late."
    danda = enricher.enrich("नई दिल्ली। संसद का सत्र सोमवार से शुरू होगा। सरकार तैयार है।").record
    assert (danda["title"], danda["dateline"]) == ("संसद का सत्र सोमवार से शुरू होगा।", "नई दिल्ली")
    # A place of three words is no topic: the title is still the first sentence.
    place = enricher.enrich("Mumbai, Nov 9: Heavy rain lashed the city. Trains were late.").record
    assert place["title"] == "Heavy rain lashed the city."


# --- review of issue 7: prose that looked like a credit, stamp, teaser or dateline ------


@pytest.mark.parametrize(
    "text",
    [
        "Officials met on Monday.\n\nInput costs have risen by 20 percent, farmers said."
        "\n\nThe work will continue.",
        "Source code of the app was leaked online, the company said.\n\nIt has filed a complaint.",
        "Courtesy of local volunteers, food reached 400 families by evening",
        "पहला पैरा है।\n\nसाभार सहित लौटाया गया सामान सबको मिल गया\n\nदूसरा पैरा है।",
        "A fire broke out at a factory in Surat on Monday night, officials said.\n\n"
        "Updated: The death toll rose to 12 on Tuesday evening, police said.\n\n"
        "Rescue work went on through the night.",
        f"{P1}\n\nPublished: 5 people were arrested on Tuesday, police said.\n\n{P2}",
        f"{P1}\n\nPosted: 3 players were injured in the match on July 2, 2018.\n\n{P2}",
        "Officials met on Monday to discuss the plan.\n\nThe meeting went well.\n\n"
        "The work is expected to finish by December",
        "नई दिल्ली में आज भारी बारिश हुई।\n\nक्या आप जानें कि इस साल कितनी बारिश हुई?\n\nमौसम विभाग ने कहा।",
        "नई दिल्ली में आज भारी बारिश हुई।\n\nअब सवाल यह है कि किसानों को उनका हक कब मिलेगा, और सरकार"
        " इस पर क्या कदम उठाएगी?\n\nमौसम विभाग ने कहा।",
        "नई दिल्ली में आज भारी बारिश हुई।\n\nलोग पूछ रहे हैं कि आखिर सरकार इस बार क्या करेगी, देखें आगे"
        " क्या होता है!\n\nमौसम विभाग ने कहा।",
    ],
)
def test_prose_is_no_credit_stamp_or_teaser(text: str) -> None:
    s = parse_structure(text)
    assert (s.credits, s.stamps, s.related_headlines, s.title) == ([], [], [], None)
    assert s.body == text


@pytest.mark.parametrize(
    "credit",
    [
        "Source: Ministry of Health",
        "Courtesy: ANI",
        "(Courtesy Twitter)",
        "साभार: दैनिक जागरण",
        "(इनपुट - एजेंसी)",
        "With inputs from our Delhi bureau",
    ],
)
def test_input_labels_with_a_separator_and_a_name_are_credits(credit: str) -> None:
    s = parse_structure(f"{P1}\n\n{P2}\n\n{credit}")
    assert (s.credits, s.paragraphs) == ([credit], [P1, P2])


@pytest.mark.parametrize(
    "line",
    [
        "Source: officials said it was fine",
        "Source: " + "Word " * 7,
        "Courtesy: मंत्री ने कहा",
        "Inputs from farmers were sought by the panel.",
    ],
)
def test_an_input_label_before_a_sentence_is_no_credit(line: str) -> None:
    text = f"{P1}\n\n{line.strip()}\n\n{P2}"
    s = parse_structure(text)
    assert (s.credits, s.body) == ([], text)


@pytest.mark.parametrize("rest", ["09:03 AM IST, July 2, 2018", "09:03 IST", "July 2, 2018 (IST)"])
def test_a_stamp_is_a_date_or_time_and_little_else(rest: str) -> None:
    s = parse_structure(f"{P1}\n\nUpdated: {rest}\n\n{P2}")
    assert (s.stamps, s.paragraphs) == ([("updated", rest)], [P1, P2])


@pytest.mark.parametrize(
    "text",
    [
        "Warning: Heavy rain is expected in the city.",
        "Highlights: The team won the cup.",
        "Fact Check: The claim is false.",
        "Important: Schools are closed today.",
        "Question: What is the plan?",
        "Ans: The plan is good.",
        "Dear Readers: We are back.",
        "Step 1: Open the app.",
        "चेतावनी: आज भारी बारिश होगी।",
        "Rahul Gandhi: We will fight this law in every street.",
        '"Rahul Gandhi: the law will go," he said.',
        "राहुल गांधी: हम इस कानून के खिलाफ लड़ेंगे।",
        "Nitin Gadkari (BJP) – The minister said the road will open.",
        "Sachin Tendulkar (File Photo) - The batsman said he is fine.",
    ],
)
def test_labels_speakers_and_brackets_are_no_datelines(text: str) -> None:
    s = parse_structure(text)
    assert (s.dateline, s.credits, s.body) == (None, [], text)


# --- one home for sentence ends ------------------------------------------------------------


def test_one_sentence_end_pattern() -> None:
    assert vars(pipeline)["SENTENCE_END"] is SENTENCE_END  # imported, not a copy
    assert not hasattr(pipeline, "_TERMINATORS")
    assert first_sentence('He said "yes." Then left.') == 'He said "yes."'
    assert [ends_sentence(b) for b in ("एक।", "Why?”", "no end", "तीसरा (अंश).)")] == [
        True,
        True,
        False,
        True,
    ]


# --- linear cost of the new patterns --------------------------------------------------------

KIB = 1024
LINEAR_UNITS = [
    "PTI\n",
    "Updated: 1\n",
    "Related Articles\n",
    "पढ़ें :- x\n",
    "a, b?\n\n",
    "x. ",
    ".)",
    "(" + "x" * 50 + ")\n\n",
    "Mumbai (PTI) – ",
    "नई दिल्ली। ",
    "With inputs from " + "x" * 100 + "\n",
    "Read More" + " " * 30 + "x\n",
    "जानें, क्या? ",
    "Updated: Jul 2, 2018, 09:03 AM IST\n",
    "Updated: Jul 2, 2018" + " :" * 60 + "\n",
    "(Courtesy Twitter)\n",
    "Source: " + "Ab " * 10 + "\n",
    "Nitin Gadkari (BJP) – ",
    "Rahul Gandhi: We ",
    "क, जानें है! ",
    "क ख ग घ ङ च छ, और ज? ",
]


@pytest.mark.parametrize("unit", LINEAR_UNITS)
def test_structure_cost_is_linear(unit: str) -> None:
    small = unit * (64 * KIB // len(unit))
    large = unit * (256 * KIB // len(unit))
    t_small, t_large, limit = growth(lambda: parse_structure(small), lambda: parse_structure(large))
    assert t_large <= limit, (t_small, t_large)
    whole = unit * (1024 * KIB // len(unit))
    assert within_ceiling(lambda: parse_structure(whole)) < CEILING_SECONDS
