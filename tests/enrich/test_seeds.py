"""Exact expectations on every seed article (tests/enrich/seed_expectations.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SEEDS, USER_SEED
from worker.enrich import Enriched
from worker.enrich.fingerprint import hamming

EXPECTATIONS: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).with_name("seed_expectations.json")).read_text(encoding="utf-8")
)
SEED_FILES = sorted(p.name for p in SEEDS.iterdir() if p.suffix in {".txt", ".json"})


@pytest.fixture(scope="module")
def records(enricher: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for name in SEED_FILES:
        result = enricher.enrich((SEEDS / name).read_bytes())
        assert isinstance(result, Enriched), f"{name}: {result}"
        out[name] = result.record
    return out


def test_every_seed_has_expectations() -> None:
    assert len(SEED_FILES) >= 16
    assert set(SEED_FILES) == set(EXPECTATIONS)


def test_user_seed_is_unchanged() -> None:
    shared = Path(__file__).resolve().parents[3] / "shared" / "seeds" / USER_SEED.name
    if shared.exists():
        assert shared.read_bytes() == USER_SEED.read_bytes()


@pytest.mark.parametrize("name", SEED_FILES)
def test_seed(name: str, records: dict[str, dict[str, Any]], schema_validator: Any) -> None:
    record, want = records[name], EXPECTATIONS[name]
    schema_validator.validate(record)
    assert record["language"]["code"] == want["language"]
    for key in ("source", "dateline", "subheadings", "related_headlines"):
        if key in want:
            assert record[key] == want[key], key
    if want.get("title"):
        assert record["title"] == want["title"]
    if "dates" in want:
        got = [(d["value"], d["granularity"]) for d in record["dates"]]
        assert got == [(d["value"], d["granularity"]) for d in want["dates"]]
        for d_got, d_want in zip(record["dates"], want["dates"], strict=True):
            if "text" in d_want:
                assert d_got["text"] == d_want["text"]
    found = {e["canonical"] for e in record["entities"]}
    missing = set(want.get("entities", [])) - found
    assert not missing, f"entities not found: {sorted(missing)}"
    got_numbers = [(n["value"], n["unit"]) for n in record["numbers"]]
    for number in want.get("numbers", []):
        assert (number["value"], number["unit"]) in got_numbers, number
    for text in want.get("body_must_contain", []):
        assert text in record["body"], text
    for text in want.get("body_must_not_contain", []):
        assert text not in record["body"], text
    if "lossy_repair" in want:
        assert record["normalization"]["lossy"] is want["lossy_repair"]
    for headline in record["related_headlines"]:
        assert headline not in record["body"]


def test_near_duplicates(records: dict[str, dict[str, Any]]) -> None:
    pairs = [
        (n, w["near_duplicate_of"]) for n, w in EXPECTATIONS.items() if w.get("near_duplicate_of")
    ]
    assert pairs
    for name, other in pairs:
        assert hamming(records[name]["simhash"], records[other]["simhash"]) <= 3, (name, other)
    duplicates = {frozenset(p) for p in pairs}
    names = sorted(records)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if frozenset((a, b)) not in duplicates:
                assert hamming(records[a]["simhash"], records[b]["simhash"]) >= 20, (a, b)


def test_user_seed_in_full(records: dict[str, dict[str, Any]]) -> None:
    record = records[USER_SEED.name]
    assert record["source"] == "India News"
    assert record["dateline"] == "Russia North Korea Treaty"
    assert record["title"] == "Russia North Korea Treaty"
    assert record["language"]["code"] == "hi"
    assert set(record["scripts"]) == {"Deva", "Latn"}
    assert record["subheadings"] == ["पुतिन-किम ने किए कई समझौते", "उत्तर कोरिया ने रूस को भेजे सैनिक"]
    assert len(record["related_headlines"]) == 2
    assert all("ट्रंप" in h for h in record["related_headlines"])
    assert "Trump" not in record["body"]
    assert record["body"].startswith("दुनिया में इस समय")
    assert [(d["text"], d["value"]) for d in record["dates"]] == [
        ("शनिवार (9 नवंबर)", "2024-11-09"),
        ("जून", "2024-06"),
        ("फरवरी 2022", "2022-02"),
        ("गुरुवार (7 नवंबर)", "2024-11-07"),
        ("जनवरी", "2025-01"),
    ]
    assert {"text": "11,000 सैनिक", "value": 11000, "unit": "सैनिक"} in record["numbers"] or any(
        n["value"] == 11000 and n["unit"] == "सैनिक" for n in record["numbers"]
    )
    entities = {e["canonical"]: e for e in record["entities"]}
    for name in (
        "Vladimir Putin",
        "Kim Jong Un",
        "Volodymyr Zelenskyy",
        "Donald Trump",
        "Joe Biden",
        "Elon Musk",
        "Russia",
        "Ukraine",
        "North Korea",
        "South Korea",
        "Pyongyang",
        "Moscow",
        "Kyiv",
        "Kursk",
        "Israel",
        "Iran",
        "Hamas",
        "Hezbollah",
        "White House",
    ):
        assert name in entities, name
    assert entities["Vladimir Putin"]["mentions"] == 4
    assert record["stats"]["paragraphs"] == 3
    assert record["normalization"]["lossy"] is False
