"""(1) The enrichment core alone on one core, beside decode + NFC, in this process.

Absolute times drift on a shared machine, so the baselines run on the same articles in
the same process, interleaved with the core in ``rounds``: each round times every
function for ``seconds``; a function's rate is the median of its rounds. ``decode+nfc``
(UTF-8 decode and NFC) is the least any Unicode-normalizing core pays; ``json`` (orjson
parse and dump of the message) what any JSON-in, JSON-out worker pays.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson

from benchmarks.stats import median, percentile
from worker.enrich import Enriched, Enricher


@dataclass(frozen=True, slots=True)
class CoreResult:
    """Rates in articles per second (median of the rounds) and per-article times."""

    name: str
    rate: float
    rounds: tuple[float, ...]
    p50_us: float
    p99_us: float

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "rate": round(self.rate, 1),
            "rounds": [round(r, 1) for r in self.rounds],
            "p50_us": round(self.p50_us, 1),
            "p99_us": round(self.p99_us, 1),
            "us_per_article": round(1e6 / self.rate, 1) if self.rate else None,
        }


def _time(fn: Callable[[bytes], object], articles: Sequence[bytes], seconds: float) -> list[float]:
    """Call ``fn`` on ``articles`` round-robin for ``seconds``; each call's duration (s)."""
    durations: list[float] = []
    clock = time.perf_counter
    deadline = clock() + seconds
    i = 0
    while clock() < deadline:
        data = articles[i % len(articles)]
        start = clock()
        fn(data)
        durations.append(clock() - start)
        i += 1
    return durations


def decode_nfc(data: bytes) -> object:
    """The floor: UTF-8 decode and NFC."""
    return unicodedata.normalize("NFC", data.decode("utf-8"))


def json_roundtrip(data: bytes) -> object:
    """orjson parse and dump of the message (a plain-text seed is dumped as a body)."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        value = {"body": data.decode("utf-8")}
    return orjson.dumps(value)


def run_core(
    articles: Sequence[bytes],
    *,
    seconds: float = 3.0,
    rounds: int = 3,
    enricher: Enricher | None = None,
    progress: Callable[[str], None] = lambda _line: None,
) -> dict[str, CoreResult]:
    """Rates of ``decode+nfc``, ``json`` and ``core`` on ``articles`` (keyed by name).

    Raises ValueError when the core rejects an article: the workload must be all valid,
    or the rate would count cheap rejections.
    """
    enricher = enricher or Enricher()
    for data in articles:  # warm caches and lazy compilation, and check the workload
        result = enricher.enrich(data)
        if not isinstance(result, Enriched):
            raise ValueError(f"the core rejects a workload article: {result}")
        decode_nfc(data)
        json_roundtrip(data)
    functions: dict[str, Callable[[bytes], object]] = {
        "decode+nfc": decode_nfc,
        "json": json_roundtrip,
        "core": enricher.enrich,
    }
    rates: dict[str, list[float]] = {name: [] for name in functions}
    durations: dict[str, list[float]] = {name: [] for name in functions}
    for number in range(rounds):
        for name, fn in functions.items():
            took = _time(fn, articles, seconds)
            rates[name].append(len(took) / sum(took))
            durations[name].extend(took)
        progress(
            f"core round {number + 1}/{rounds}: "
            + ", ".join(f"{name} {rates[name][-1]:,.0f}/s" for name in functions)
        )
    return {
        name: CoreResult(
            name,
            median(rates[name]),
            tuple(rates[name]),
            percentile(durations[name], 50) * 1e6,
            percentile(durations[name], 99) * 1e6,
        )
        for name in functions
    }
