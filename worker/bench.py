"""``article-worker bench``: articles per second of the enrichment core on one core.

Absolute times drift on shared machines, so every run also measures two baselines on the
same articles in the same process: ``decode+nfc`` (UTF-8 decode and NFC, the least any
Unicode-correct pipeline pays) and ``json-roundtrip`` (orjson parse and dump). The ratios
are what to compare between runs.
"""

from __future__ import annotations

import statistics
import time
import unicodedata
from collections.abc import Callable, Sequence

import orjson

from worker.enrich import Enriched, Enricher
from worker.sources import read_items


def _measure(fn: Callable[[bytes], object], articles: list[bytes], seconds: float) -> list[float]:
    """Call ``fn`` on the articles round-robin for ``seconds``; per-call durations in seconds."""
    for data in articles:  # warm caches and lazy compilation
        fn(data)
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


def _report(name: str, durations: list[float], base: float | None) -> float:
    per_second = len(durations) / sum(durations)
    cuts = statistics.quantiles(durations, n=100)
    ratio = f"{per_second / base:6.2f}x" if base else "     - "
    print(
        f"{name:<16} {per_second:>10,.0f}/s  p50 {cuts[49] * 1e6:7.0f} us  "
        f"p99 {cuts[98] * 1e6:7.0f} us  {ratio}"
    )
    return per_second


def run_core_benchmark(paths: Sequence[str], seconds: float = 5.0) -> int:
    """Print the benchmark table; return 0, or 1 when no article could be enriched."""
    enricher = Enricher()
    articles = [i.data for i in read_items(paths) if i.data is not None]
    articles = [a for a in articles if isinstance(enricher.enrich(a), Enriched)]
    if not articles:
        print("no article to measure")
        return 1
    mean_kb = sum(map(len, articles)) / len(articles) / 1024
    print(f"{len(articles)} articles, mean {mean_kb:.1f} KiB, {seconds:g} s each, one core")

    def decode_nfc(data: bytes) -> object:
        return unicodedata.normalize("NFC", data.decode("utf-8"))

    def json_roundtrip(data: bytes) -> object:
        return orjson.dumps({"body": data.decode("utf-8")})

    base = _report("decode+nfc", _measure(decode_nfc, articles, seconds), None)
    _report("json-roundtrip", _measure(json_roundtrip, articles, seconds), base)
    core = _report("enrich (core)", _measure(enricher.enrich, articles, seconds), base)
    print(f"core: {core:,.0f} articles/s = {1e6 / core:.0f} us per article (target >= 2,000/s)")
    return 0
