"""(1) Duplicate detection's core alone, in this process: its time per article.

* **Index.add per article** (:func:`time_index`): :class:`~worker.enrich.duplicates.Index`
  fed the workload's own candidates (its articles enriched once: real simhashes, which
  share band values more often than random ones) and synthetic ones (random 64-bit
  simhashes, :data:`COPY_SHARE` of them exact or near copies of recent articles).
* **bucket encode/decode** (:func:`time_buckets`): what the stream's bands agent pays per
  band candidate besides the verdict (:func:`~worker.enrich.duplicates.decode_entries`
  of the bucket, :func:`~worker.enrich.duplicates.encode_entries` of it with the
  candidate), on the bucket sizes met in the indexes above and those a 72 h window holds
  at the volumes of :data:`~benchmarks.dedup_memory.VOLUMES_PER_DAY` (4 per article).
* **memory**: :mod:`benchmarks.dedup_memory`.

Every input comes from fixed seeds, so only the times vary from run to run.
"""

from __future__ import annotations

import functools
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.dedup_memory import (
    BAND_VALUES,
    DAY,
    SEED,
    VOLUMES_PER_DAY,
    WINDOW_SECONDS,
    isolated_memory,
    largest_bucket,
    model_bytes,
    new_id,
    per_key_bytes,
    ref,
    stamp,
    window_estimates,
)
from benchmarks.stats import percentile
from worker.enrich import Enriched, Enricher
from worker.enrich import duplicates as dup

#: Share of synthetic candidates that copy a recent one: half exact (same body), half
#: near (1 to 3 simhash bits flipped, another body).
COPY_SHARE = 0.2
#: How far back (in candidates) a synthetic copy's original is: feeds re-send a story
#: within hours, not days.
COPY_LOOKBACK = 1000


def workload_candidates(
    values: Sequence[bytes], enricher: Enricher | None = None, per_day: float = 100_000.0
) -> list[dup.Candidate]:
    """The candidates of ``values`` as the stream makes them (id, simhash and content
    hash of the enriched record), ``per_day`` apart in time; ValueError on a rejection."""
    enricher = enricher or Enricher()
    out = []
    for i, data in enumerate(values):
        result = enricher.enrich(data)
        if not isinstance(result, Enriched):
            raise ValueError(f"the core rejects a workload article: {result}")
        r = result.record
        out.append(
            dup.candidate(r["id"], r["simhash"], r["content_hash"], stamp(i, per_day), ref(i))
        )
    return out


def synthetic_candidates(
    count: int,
    *,
    seed: int = SEED,
    copy_share: float = COPY_SHARE,
    per_day: float = 100_000.0,
) -> list[dup.Candidate]:
    """``count`` candidates: random simhashes, ``copy_share`` of them copies of one of the
    :data:`COPY_LOOKBACK` before (half exact, half near); unique ids, ``per_day`` apart."""
    rng = random.Random(seed)
    out: list[dup.Candidate] = []
    for i in range(count):
        roll = rng.random()
        if out and roll < copy_share:
            original = out[rng.randrange(max(0, len(out) - COPY_LOOKBACK), len(out))]
            if roll < copy_share / 2:
                simhash, body = original.simhash, original.content_hash
            else:
                simhash = original.simhash
                for bit in rng.sample(range(64), rng.randint(1, 3)):
                    simhash ^= 1 << bit
                body = f"{rng.getrandbits(64):016x}"
        else:
            simhash, body = rng.getrandbits(64), f"{rng.getrandbits(64):016x}"
        out.append(dup.Candidate(new_id(rng), simhash, body, stamp(i, per_day), ref(i)))
    return out


@dataclass(frozen=True, slots=True)
class IndexTiming:
    """:meth:`Index.add` over a candidate list: time per article and what it found."""

    name: str
    articles: int
    us_per_article: float
    p50_us: float
    p99_us: float
    exact: int
    near: int
    bucket_mean: float
    bucket_p99: int
    bucket_max: int

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "articles": self.articles,
            "us_per_article": round(self.us_per_article, 2),
            "p50_us": round(self.p50_us, 2),
            "p99_us": round(self.p99_us, 2),
            "exact": self.exact,
            "near": self.near,
            "bucket_entries_mean": round(self.bucket_mean, 2),
            "bucket_entries_p99": self.bucket_p99,
            "bucket_entries_max": self.bucket_max,
        }


def time_index(name: str, candidates: Sequence[dup.Candidate]) -> IndexTiming:
    """Add ``candidates`` to a fresh 72 h :class:`Index`, timing each call."""
    index = dup.Index(window=WINDOW_SECONDS)
    clock = time.perf_counter
    took: list[float] = []
    exact = near = 0
    for article in candidates:
        start = clock()
        match = index.add(article)
        took.append(clock() - start)
        if match is not None:
            exact += match.exact
            near += not match.exact
    sizes = [len(b) for b in index.buckets.values()] or [0]
    return IndexTiming(
        name,
        len(candidates),
        sum(took) / max(1, len(took)) * 1e6,
        percentile(took, 50) * 1e6 if took else 0.0,
        percentile(took, 99) * 1e6 if took else 0.0,
        exact,
        near,
        sum(sizes) / len(sizes),
        int(percentile([float(s) for s in sizes], 99)),
        max(sizes),
    )


def window_bucket_entries(per_day: float, window: float = WINDOW_SECONDS) -> int:
    """Entries of a band bucket holding a 72 h window at ``per_day`` random simhashes."""
    return max(1, math.ceil(per_day * window / DAY / BAND_VALUES))


def _timed(fn: Callable[[], object], seconds: float) -> float:
    """Seconds one call of ``fn`` takes: the median of batches run for ``seconds``."""
    clock = time.perf_counter
    batch, per_call = 1, list[float]()
    deadline = clock() + seconds
    while clock() < deadline or not per_call:
        start = clock()
        for _ in range(batch):
            fn()
        elapsed = clock() - start
        per_call.append(elapsed / batch)
        if elapsed < 0.001:
            batch *= 2
    return percentile(per_call, 50)


def time_buckets(sizes: Sequence[int], *, seconds: float = 0.2) -> list[dict[str, Any]]:
    """Encode and decode time of a bucket of each of ``sizes`` entries (µs), its bytes,
    and the stream's cost per article: 4 bands x (decode + encode)."""
    pool = synthetic_candidates(max(sizes, default=0) + 1, copy_share=0.0)
    out = []
    for size in sorted(set(sizes)):
        entries = pool[:size]
        data = dup.encode_entries(entries)
        encode = _timed(functools.partial(dup.encode_entries, entries), seconds) * 1e6
        decode = _timed(functools.partial(dup.decode_entries, data), seconds) * 1e6
        out.append(
            {
                "entries": size,
                "bytes": len(data),
                "encode_us": round(encode, 2),
                "decode_us": round(decode, 2),
                "per_article_us": round(dup.BANDS * (encode + decode), 2),
            }
        )
    return out


def run_dedup(
    values: Sequence[bytes],
    *,
    synthetic: Sequence[int] = (4000, 100_000),
    memory: Sequence[int] = (100_000, 1_000_000),
    volumes: Sequence[int] = VOLUMES_PER_DAY,
    seconds: float = 0.2,
    enricher: Enricher | None = None,
    progress: Callable[[str], None] = lambda _line: None,
) -> dict[str, Any]:
    """Every dedup figure (see the module docstring) as the benchmark JSON's ``dedup``."""
    progress(f"dedup: enriching {len(values)} workload articles for their candidates")
    timings = [time_index(f"workload ({len(values)})", workload_candidates(values, enricher))]
    for count in synthetic:
        progress(f"dedup: Index.add over {count:,} synthetic candidates")
        timings.append(time_index(f"synthetic ({count})", synthetic_candidates(count)))
    sizes = {t.bucket_max for t in timings} | {max(1, round(t.bucket_mean)) for t in timings}
    sizes |= {window_bucket_entries(v) for v in volumes}
    buckets = time_buckets(sorted(sizes), seconds=seconds)
    held: dict[str, list[dict[str, Any]]] = {"as_stored": [], "trimmed": []}
    for count in memory:
        for trim in (False, True):
            progress(f"dedup: memory of {count:,} indexed articles (trimmed values: {trim})")
            held["trimmed" if trim else "as_stored"].append(isolated_memory(count, trim=trim))
    largest = largest_bucket(volumes)
    progress(f"dedup: bytes per table key for buckets of 1-{largest} entries")
    per_key = {trim: per_key_bytes(largest, trim=trim) for trim in (False, True)}
    for trim, measured in ((False, held["as_stored"]), (True, held["trimmed"])):
        for item in measured:  # the model beside each measurement, to judge it
            item["model_bytes_per_article"] = round(
                model_bytes(item["articles"], per_key[trim]) / item["articles"], 1
            )
    return {
        "index": [t.as_dict() for t in timings],
        "buckets": buckets,
        "window_bucket_entries": {str(v): window_bucket_entries(v) for v in volumes},
        "memory": held["as_stored"],
        "memory_trimmed": held["trimmed"],
        "window_mb": window_estimates(per_key[False], volumes),
        "window_mb_trimmed": window_estimates(per_key[True], volumes),
    }
