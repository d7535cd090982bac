"""Lead, paragraphs, subheadings and teaser headlines."""

from __future__ import annotations

from worker.enrich.structure import first_sentence, parse_structure


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
