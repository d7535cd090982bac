"""Exact expectations on every seed article (tests/enrich/seed_expectations.json).

Every expectation names, and the record must match exactly: ``language``, ``source``,
``dateline``, ``title``, ``subheadings``, ``related_headlines``, ``dates`` (the list of
value and granularity, and each date's ``text`` where given), ``lossy_repair``
(``normalization.lossy``) and ``near_duplicate_of``. Some keys are lists the record must
include, because they grow with the gazetteer and the unit lists: ``entities`` (canonical
names found), ``numbers`` (value and unit pairs found), ``body_must_contain``; and their
opposites ``entities_absent``, ``numbers_absent`` (values no number may have: the day or
year of a date, a time), ``body_must_not_contain``. Optional exact keys: ``paragraphs``
(the list), ``paragraph_count``, ``credits``, ``published_at``, ``updated_at`` and
``changes`` (``normalization.changes``, ``{}`` for text that must come out unchanged).

A seed's mismatches are reported together, one line per key, so a failure says at once
everything that is still wrong with that seed.
"""

from __future__ import annotations

import hashlib
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
# The seed the project was created from, byte for byte (seeds/README.md).
USER_SEED_SHA256 = "8641ef6c96fa1e0534406bdc00ca2a4a00a69c17528d99ec4e59f4a89e8fd63f"
REQUIRED_KEYS = frozenset(
    {
        "language",
        "source",
        "dateline",
        "title",
        "subheadings",
        "related_headlines",
        "dates",
        "entities",
        "numbers",
        "near_duplicate_of",
        "body_must_contain",
        "body_must_not_contain",
        "lossy_repair",
    }
)
OPTIONAL_KEYS = frozenset(
    {
        "paragraphs",
        "paragraph_count",
        "credits",
        "published_at",
        "updated_at",
        "changes",
        "entities_absent",
        "numbers_absent",
    }
)
_MISSING = "<missing>"


@pytest.fixture(scope="module")
def records(enricher: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for name in SEED_FILES:
        result = enricher.enrich((SEEDS / name).read_bytes())
        assert isinstance(result, Enriched), f"{name}: {result}"
        out[name] = result.record
    return out


def test_every_seed_has_expectations() -> None:
    assert sorted(EXPECTATIONS) == SEED_FILES
    # Numbered 000, 001, ... without gaps or repeats, so a lost file is noticed.
    assert [name[:4] for name in SEED_FILES] == [f"{i:03d}_" for i in range(len(SEED_FILES))]


def test_expectations_name_every_required_key() -> None:
    for name, want in EXPECTATIONS.items():
        assert set(want) >= REQUIRED_KEYS, (name, sorted(REQUIRED_KEYS - set(want)))
        unknown = set(want) - REQUIRED_KEYS - OPTIONAL_KEYS
        assert not unknown, (name, sorted(unknown))  # a misspelt key would check nothing
        assert want["title"], name  # every record has a title; null would check nothing


def test_user_seed_is_unchanged() -> None:
    data = USER_SEED.read_bytes()
    assert hashlib.sha256(data).hexdigest() == USER_SEED_SHA256
    shared = Path(__file__).resolve().parents[3] / "shared" / "seeds" / USER_SEED.name
    if shared.exists():  # the copy handed over with the project, where there is one
        assert shared.read_bytes() == data


def _problems(record: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """Every way ``record`` differs from ``want``, as ``key: got ..., want ...`` lines."""
    out: list[str] = []

    def check(key: str, got: Any, expected: Any) -> None:
        if got != expected:
            out.append(f"{key}: got {got!r}, want {expected!r}")

    check("language", record["language"]["code"], want["language"])
    for key in ("source", "dateline", "title", "subheadings", "related_headlines"):
        check(key, record[key], want[key])
    check("lossy_repair", record["normalization"]["lossy"], want["lossy_repair"])
    check(
        "dates",
        [(d["value"], d["granularity"]) for d in record["dates"]],
        [(d["value"], d["granularity"]) for d in want["dates"]],
    )
    if len(record["dates"]) == len(want["dates"]):
        for got_date, want_date in zip(record["dates"], want["dates"], strict=True):
            if "text" in want_date:
                check("dates.text", got_date["text"], want_date["text"])
    found = {e["canonical"] for e in record["entities"]}
    check("entities (missing)", sorted(set(want["entities"]) - found), [])
    check("entities_absent (found)", sorted(set(want.get("entities_absent", [])) & found), [])
    got_numbers = [(n["value"], n["unit"]) for n in record["numbers"]]
    missing_numbers = [
        (n["value"], n["unit"])
        for n in want["numbers"]
        if (n["value"], n["unit"]) not in got_numbers
    ]
    check("numbers (missing)", missing_numbers, [])
    absent = set(want.get("numbers_absent", []))
    check("numbers_absent (found)", [n for n in record["numbers"] if n["value"] in absent], [])
    body = record["body"]
    check("body_must_contain", [t for t in want["body_must_contain"] if t not in body], [])
    check("body_must_not_contain", [t for t in want["body_must_not_contain"] if t in body], [])
    check("related_headlines in body", [h for h in record["related_headlines"] if h in body], [])
    if "paragraphs" in want:
        check("paragraphs", record["paragraphs"], want["paragraphs"])
    if "paragraph_count" in want:
        check("paragraph_count", len(record["paragraphs"]), want["paragraph_count"])
    if "changes" in want:
        check("changes", record["normalization"]["changes"], want["changes"])
    for key in ("credits", "published_at", "updated_at"):
        if key in want:
            check(key, record.get(key, _MISSING), want[key])
    return out


@pytest.mark.parametrize("name", SEED_FILES)
def test_seed(name: str, records: dict[str, dict[str, Any]], schema_validator: Any) -> None:
    record = records[name]
    problems = _problems(record, EXPECTATIONS[name])
    problems += [f"schema: {error.message}" for error in schema_validator.iter_errors(record)]
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


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
    assert record["related_headlines"] == EXPECTATIONS[USER_SEED.name]["related_headlines"]
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
    # The one quantity of the article; the years and days of its dates are no numbers.
    assert record["numbers"] == [{"text": "11,000", "value": 11000, "unit": "सैनिक"}]
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
