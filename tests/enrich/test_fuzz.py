"""10,000 inputs of the core fuzzer (``make fuzz`` runs 100,000), and the fuzzer's own
schema validator checked against jsonschema."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from tests.conftest import SEEDS, load_enricher, load_validator
from tests.enrich import fuzz_core
from tests.enrich.schema_check import first_error


def test_ten_thousand_fuzz_inputs() -> None:
    summary = fuzz_core.run(10_000, seed=20241201)
    assert summary.inputs == 10_000
    assert not summary.failures, summary.report()
    # The mutations reach both sides of the contract, and every rejection path.
    assert summary.enriched > 3_000
    assert {"invalid_utf8", "not_an_object", "bad_field", "invalid_json"} <= set(summary.rejections)
    assert summary.slowest < fuzz_core.DEFAULT_BUDGET


def test_generator_is_reproducible() -> None:
    seeds = fuzz_core._seeds()

    def inputs(seed: int) -> list[tuple[str, bytes]]:
        rng = random.Random(seed)  # noqa: S311 - test inputs
        return [fuzz_core.generate(rng, seeds) for _ in range(50)]

    assert inputs(7) == inputs(7)
    assert inputs(7) != inputs(8)


def test_failures_are_reported_not_raised() -> None:
    reason, _, failure = fuzz_core.check_one(b'{"body": "x"}', budget=0.0)
    assert reason is None
    assert failure is not None
    assert "budget" in failure


@pytest.fixture(scope="module")
def record() -> dict[str, Any]:
    result = load_enricher().enrich((SEEDS / "001_en_isro_launch.json").read_bytes())
    return dict(result.record)


BREAKAGES: list[tuple[str, Any]] = [
    ("id", ""),
    ("language", {"code": "xyz", "confidence": 0.5}),
    ("scripts", {"latn": 0.5}),
    ("scripts", {"Latn": 0}),
    ("normalization", {"changes": {"weird": 1}, "lossy": False}),
    ("normalization", {"changes": {"spaces_normalized": 0}, "lossy": False}),
    ("numbers", [{"text": "x", "value": True, "unit": None}]),
    ("numbers", [{"text": "x", "value": 1.5, "unit": ""}]),
    ("extra", []),
    ("paragraphs", []),
    ("dates", [{"text": "x", "value": "2024-1", "granularity": "day"}]),
    ("entities", [{"canonical": "x", "type": "person", "mentions": 1, "forms": []}]),
    ("schema_version", 1),
    ("simhash", "0" * 15),
    ("unknown_field", 1),
    ("title", None),
]


def test_fast_validator_accepts_what_jsonschema_accepts(record: dict[str, Any]) -> None:
    assert first_error(record) is None
    load_validator().validate(record)
    record = copy.deepcopy(record)
    record["url"] = None  # nullable
    assert first_error(record) is None


@pytest.mark.parametrize(("field", "value"), BREAKAGES)
def test_fast_validator_rejects_what_jsonschema_rejects(
    record: dict[str, Any], field: str, value: Any
) -> None:
    broken = copy.deepcopy(record)
    broken[field] = value
    assert next(iter(load_validator().iter_errors(broken)), None) is not None
    error = first_error(broken)
    assert error is not None
    assert error.startswith(f"/{field}")
