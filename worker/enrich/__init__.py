"""The enrichment core: pure functions from raw article bytes or text to an enriched dict.

Nothing here imports Kafka or faust; the streaming shell in :mod:`worker.stream` wraps it.

Typical use::

    from worker.enrich import Enricher, Enriched

    result = Enricher().enrich(raw_bytes)
    if isinstance(result, Enriched):
        publish(result.record)
    else:
        dead_letter(raw_bytes, result.reason, result.detail)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker.enrich.errors import REASONS, Rejection

if TYPE_CHECKING:
    from worker.enrich.pipeline import SCHEMA_VERSION, Enriched, Enricher, enrich, load_gazetteer

__all__ = [
    "REASONS",
    "SCHEMA_VERSION",
    "Enriched",
    "Enricher",
    "Rejection",
    "enrich",
    "load_gazetteer",
]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing one extractor (worker.enrich.dates) does not load them all.
    if name in {"SCHEMA_VERSION", "Enriched", "Enricher", "enrich", "load_gazetteer"}:
        from worker.enrich import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
