"""Gazetteer matching: folded spellings, Devanagari word boundaries, longest alias."""

from __future__ import annotations

import orjson
import pytest

from worker.enrich.entities import Gazetteer, GazetteerError

DOC = {
    "version": 1,
    "entities": [
        {
            "canonical": "Vladimir Putin",
            "type": "person",
            "aliases": ["Putin", "पुतिन", "व्लादिमीर पुतिन"],
        },
        {"canonical": "Volodymyr Zelenskyy", "type": "person", "aliases": ["Zelenskiy", "ज़ेलेंस्की"]},
        {"canonical": "Donald Trump", "type": "person", "aliases": ["Trump", "ट्रंप", "ट्रम्प"]},
        {"canonical": "Russia", "type": "place", "aliases": ["रूस"]},
        {"canonical": "North Korea", "type": "place", "aliases": ["उत्तर कोरिया"]},
    ],
}


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_json(orjson.dumps(DOC))


def canon(g: Gazetteer, text: str) -> list[str]:
    return [m.canonical for m in g.find(text)]


def test_nukta_variants_match_the_same_entity(gazetteer: Gazetteer) -> None:
    found = gazetteer.find("ज़ेलेंस्की और जेलेंस्की, यानी Zelenskiy")
    assert [(m.canonical, m.mentions) for m in found] == [("Volodymyr Zelenskyy", 3)]
    assert found[0].forms == ("ज़ेलेंस्की", "जेलेंस्की", "Zelenskiy")


def test_spelling_variants_and_case(gazetteer: Gazetteer) -> None:
    found = gazetteer.find("ट्रंप, ट्रम्प, TRUMP और trump")
    assert found[0].canonical == "Donald Trump"
    assert found[0].mentions == 4


def test_devanagari_word_boundaries(gazetteer: Gazetteer) -> None:
    # रूसी (Russian) is another word than रूस (Russia); रूस-यूक्रेन contains रूस.
    assert canon(gazetteer, "रूसी राष्ट्रपति") == []
    assert canon(gazetteer, "रूस-यूक्रेन युद्ध") == ["Russia"]
    assert canon(gazetteer, "उत्तर कोरियाई सैनिक") == []
    assert canon(gazetteer, "Putinism") == []


def test_longest_alias_wins(gazetteer: Gazetteer) -> None:
    found = gazetteer.find("व्लादिमीर पुतिन ने कहा। पुतिन ने फिर कहा।")
    assert found[0].forms == ("व्लादिमीर पुतिन", "पुतिन")
    assert found[0].mentions == 2


def test_order_of_first_mention(gazetteer: Gazetteer) -> None:
    assert canon(gazetteer, "उत्तर कोरिया और रूस, पुतिन") == [
        "North Korea",
        "Russia",
        "Vladimir Putin",
    ]


@pytest.mark.parametrize(
    "doc",
    [
        b"not json",
        b"[]",
        b'{"entities": [{"canonical": "X", "type": "thing", "aliases": []}]}',
        b'{"entities": [{"type": "place", "aliases": []}]}',
        b'{"entities": [{"canonical": "X", "type": "place", "aliases": "X"}]}',
    ],
)
def test_bad_gazetteer_is_a_clear_error(doc: bytes) -> None:
    with pytest.raises(GazetteerError):
        Gazetteer.from_json(doc)


def test_the_shipped_gazetteer_loads() -> None:
    from worker.enrich import load_gazetteer

    assert len(load_gazetteer()) >= 100
