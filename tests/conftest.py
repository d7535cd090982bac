"""Fixtures shared by every test area."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
CONFIG = ROOT / "config"
USER_SEED = SEEDS / "000_5ed99ae0c0ed6bfe.txt"


@cache
def load_validator() -> Any:
    """The JSON Schema validator of enriched records (checked against the meta-schema)."""
    from jsonschema import Draft202012Validator

    schema = json.loads((CONFIG / "enriched-article.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@cache
def load_enricher() -> Any:
    from worker.enrich import Enricher

    return Enricher()


@pytest.fixture(scope="session")
def schema_validator() -> Any:
    return load_validator()


@pytest.fixture(scope="session")
def enricher() -> Any:
    return load_enricher()
