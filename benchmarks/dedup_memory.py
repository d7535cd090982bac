"""The duplicate index's memory: the stream's bucket table measured, and modelled.

The stream's bands agent keeps its buckets in a Faust table on the memory store: a dict
``{b"<band>:<hex>": encode_entries(bucket)}``. :func:`index_memory` builds that dict for
N distinct articles (random simhashes, unique ``sha256-<32 hex>`` ids, refs like
``"3:123456"``) and measures what it holds, by :mod:`tracemalloc` or by RSS in a fresh
process (:func:`isolated_memory`), both as the stream keeps the values (orjson's own
output ``bytes``) and with each value copied to its exact size: orjson 3.12+ leaves a
``bytes``' over-allocated buffer in place (4 KiB for a small document, 8 KiB up to about
6 KB, and so on), which ``sys.getsizeof`` does not show.

A 72 h window at a given volume is not built (3 million articles take gigabytes): it is
modelled (:func:`model_bytes`) from what one key holds with a bucket of ``k`` entries
(:func:`bucket_bytes`, measured for every ``k`` that matters) and the Poisson share of
band values with ``k`` articles; :func:`index_memory`'s figures check the model.
"""

from __future__ import annotations

import gc
import math
import os
import random
import subprocess
import sys
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from worker.enrich import duplicates as dup

#: A fixed epoch for synthetic timestamps (2026-12-01T00:00:00Z): the figures do not
#: depend on the day they were measured.
T0 = 1_796_083_200.0
DAY = 86_400.0
WINDOW_SECONDS = 72 * 3600.0
VOLUMES_PER_DAY = (10_000, 100_000, 1_000_000)
PARTITIONS = 4
BAND_VALUES = 1 << dup.BAND_BITS
SEED = 20261210
ROOT = Path(__file__).resolve().parents[1]


def stamp(i: int, per_day: float) -> float:
    """Article ``i``'s timestamp when ``per_day`` arrive evenly from :data:`T0`, to the
    millisecond as the stream's (Kafka's) are."""
    return round(T0 + i * DAY / per_day, 3)


def ref(i: int) -> str:
    """Article ``i``'s message reference as the stream names it: ``"<partition>:<offset>"``."""
    return f"{i % PARTITIONS}:{i // PARTITIONS}"


def new_id(rng: random.Random) -> str:
    """A unique article id of the worker's form: ``sha256-`` and 32 hex digits."""
    return f"sha256-{rng.getrandbits(128):032x}"


Fields = tuple[str, int, str, float, str]


def _fields(count: int, seed: int) -> list[Fields]:
    rng = random.Random(seed)
    return [
        (new_id(rng), rng.getrandbits(64), f"{rng.getrandbits(64):016x}", stamp(i, 1e5), ref(i))
        for i in range(count)
    ]


def distinct_candidates(count: int, seed: int = SEED) -> list[dup.Candidate]:
    """``count`` candidates with random simhashes and unique ids, no copies."""
    return [dup.Candidate(*item) for item in _fields(count, seed)]


def _layout(count: int, seed: int) -> list[dict[int, list[Fields]]]:
    """``count`` distinct articles' candidate fields (random simhashes, unique
    ``sha256-<32 hex>`` ids, refs ``"<partition>:<offset>"``), grouped per band by value."""
    fields = _fields(count, seed)
    groups: list[dict[int, list[Fields]]] = []
    for band in range(dup.BANDS):
        shift = dup.BAND_BITS * band
        members: dict[int, list[Fields]] = {}
        for item in fields:
            members.setdefault((item[1] >> shift) & (BAND_VALUES - 1), []).append(item)
        groups.append(members)
    return groups


def _fill(groups: Sequence[dict[int, list[Fields]]], trim: bool) -> dict[bytes, bytes]:
    """The bucket table: band key -> :func:`encode_entries` of its articles, as the bands
    agent stores it; ``trim`` copies each value to its exact size."""
    store: dict[bytes, bytes] = {}
    for band, members in enumerate(groups):
        for value, items in members.items():
            data = dup.encode_entries([dup.Candidate(*item) for item in items])
            store[dup.band_key(band, value)] = bytes(memoryview(data)) if trim else data
    return store


def band_store(count: int, *, seed: int = SEED, trim: bool = False) -> dict[bytes, bytes]:
    """The stream's bucket table for ``count`` distinct articles (see :func:`_layout`)."""
    return _fill(_layout(count, seed), trim)


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def index_memory(
    count: int, *, seed: int = SEED, trim: bool = False, method: str = "tracemalloc"
) -> dict[str, Any]:
    """Bytes the bucket table of ``count`` articles holds once built, per article, and its
    key count. ``method``: ``tracemalloc`` (what was allocated and is still held:
    deterministic) or ``rss`` (this process's resident set grew by: what the system
    pays, malloc's overhead included; meaningful in a fresh process, see
    :func:`isolated_memory`). The articles' fields are made before measuring."""
    if method not in ("tracemalloc", "rss"):
        raise ValueError(f"unknown method {method!r}")
    groups = _layout(count, seed)
    gc.collect()
    tracing = method == "tracemalloc" and not tracemalloc.is_tracing()
    if tracing:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0] if method == "tracemalloc" else _rss()
        store = _fill(groups, trim)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0] if method == "tracemalloc" else _rss()
    finally:
        if tracing:
            tracemalloc.stop()
    held = after - before
    keys, encoded = len(store), sum(map(len, store.values()))
    del store, groups
    gc.collect()
    return {
        "articles": count,
        "keys": keys,
        "encoded_bytes": encoded,
        "bytes": held,
        "bytes_per_article": round(held / count, 1) if count else None,
        "trimmed": trim,
        "method": method,
    }


def isolated_memory(count: int, *, seed: int = SEED, trim: bool = False) -> dict[str, Any]:
    """:func:`index_memory` by RSS in a fresh Python process (``python -m
    benchmarks.dedup_memory``), so that neither this process's heap nor its leftovers count."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.dedup_memory",
            str(count),
            str(seed),
            "trim" if trim else "",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory measurement failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = orjson.loads(done.stdout)
    return result


def bucket_bytes(
    entries: int, *, trim: bool = False, samples: int = 32, pool: Sequence[dup.Candidate] = ()
) -> float:
    """Bytes one table key with a bucket of ``entries`` holds (its key, its value as
    stored, its dict slot): tracemalloc over ``samples`` such keys in a fresh dict."""
    pool = pool or distinct_candidates(entries * samples)
    tracing = not tracemalloc.is_tracing()
    if tracing:
        gc.collect()
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        store = {}
        for j in range(samples):
            data = dup.encode_entries(pool[j * entries : (j + 1) * entries])
            store[dup.band_key(0, j)] = bytes(memoryview(data)) if trim else data
            del data  # trimmed: orjson's own buffer is freed here, as in the stream
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        if tracing:
            tracemalloc.stop()
    del store
    return held / samples


def poisson(mean: float, k: int) -> float:
    """P(X = k) for X ~ Poisson(``mean``): the entries of one band bucket when ``mean``
    random simhashes per band value are indexed."""
    return math.exp(k * math.log(mean) - mean - math.lgamma(k + 1)) if mean > 0 else float(k == 0)


def model_bytes(articles: int, per_key: Sequence[float]) -> float:
    """Expected bytes of the bucket table holding ``articles`` random simhashes:
    every band value's chance of ``k`` entries times what a key with ``k`` holds
    (``per_key[k]``, measured by :func:`bucket_bytes`)."""
    mean = articles / BAND_VALUES
    return (
        dup.BANDS * BAND_VALUES * sum(poisson(mean, k) * per_key[k] for k in range(1, len(per_key)))
    )


def per_key_bytes(largest: int, *, trim: bool) -> list[float]:
    """:func:`bucket_bytes` for 0 to ``largest`` entries (index = entries)."""
    pool = distinct_candidates(largest * 32)
    gc.collect()
    tracing = not tracemalloc.is_tracing()
    if tracing:  # once for all sizes: starting and stopping it costs more than a size
        tracemalloc.start()
    try:
        return [0.0] + [bucket_bytes(k, trim=trim, pool=pool) for k in range(1, largest + 1)]
    finally:
        if tracing:
            tracemalloc.stop()


def window_estimates(
    per_key: Sequence[float], volumes: Sequence[int] = VOLUMES_PER_DAY
) -> list[dict[str, Any]]:
    """MB of the bucket table for a 72 h window at each of ``volumes`` articles a day
    (:func:`model_bytes`; random simhashes, no copies)."""
    out = []
    for per_day in volumes:
        articles = round(per_day * WINDOW_SECONDS / DAY)
        held = model_bytes(articles, per_key)
        out.append(
            {
                "per_day": per_day,
                "window_articles": articles,
                "mb": round(held / 1e6, 1),
                "bytes_per_article": round(held / articles, 1),
            }
        )
    return out


def largest_bucket(volumes: Sequence[int]) -> int:
    """Entries past which a bucket of the largest window is vanishingly rare (1e-9)."""
    mean = max(volumes) * WINDOW_SECONDS / DAY / BAND_VALUES
    k = max(1, math.ceil(mean))
    while poisson(mean, k) > 1e-9:
        k += 1
    return k


if (
    __name__ == "__main__"
):  # one isolated measurement: python -m benchmarks.dedup_memory N SEED [trim]
    print(
        orjson.dumps(
            index_memory(
                int(sys.argv[1]),
                seed=int(sys.argv[2]),
                trim=sys.argv[3:4] == ["trim"],
                method="rss",
            )
        ).decode()
    )
