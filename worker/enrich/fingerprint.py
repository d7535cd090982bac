"""Fingerprints of the normalized body: exact (SHA-256) and near-duplicate (64-bit simhash).

The simhash features are word tokens under :func:`~worker.enrich.normalize.matching_key`,
so nukta and case variants of the same story hash alike, and grammar words are dropped
so that two unrelated Hindi stories do not look alike merely for sharing ``है`` and ``के``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

SIMHASH_BITS = 64
# Each feature's 64 bits are spread into 64 counters of _LANE bits in one Python int, so
# summing features is one big-int addition each instead of 64 Python operations. A lane
# holds weights up to 2**24, far more words than the 1 MiB input limit allows.
_LANE = 24
_LANE_MASK = (1 << _LANE) - 1
_BYTE_SPREAD = [
    [
        sum(1 << ((8 * pos + bit) * _LANE) for bit in range(8) if value >> bit & 1)
        for value in range(256)
    ]
    for pos in range(8)
]
_LANE_ONES = sum(1 << (lane * _LANE) for lane in range(SIMHASH_BITS))
_LANE_TOPS = _LANE_ONES << (_LANE - 1)
_FLAG_TO_DIGIT = bytes.maketrans(b"\x00\x80", b"01")
_SPREAD_CACHE: dict[str, int] = {}
_CACHE_LIMIT = 200_000


def content_hash(body: str) -> str:
    """Hex SHA-256 of the UTF-8 body."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _spread(feature: str) -> int:
    spread = _SPREAD_CACHE.get(feature)
    if spread is None:
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        spread = sum(_BYTE_SPREAD[pos][byte] for pos, byte in enumerate(digest))
        if len(_SPREAD_CACHE) >= _CACHE_LIMIT:
            _SPREAD_CACHE.clear()  # bounded memory in a long-running worker
        _SPREAD_CACHE[feature] = spread
    return spread


def simhash(features: Collection[str]) -> str:
    """64-bit simhash of a set of ``features`` (each weighs one) as 16 hex digits.

    Presence, not frequency: a word repeated in one paragraph does not outweigh the rest,
    and the sum runs in C.
    """
    cache = _SPREAD_CACHE
    spreads = [cache.get(f) or _spread(f) for f in features]
    total = sum(spreads)
    # Bit i is set when lane i holds more than half the features. Adding the same offset
    # to every lane moves that test to the lane's top bit (no lane overflows: a lane holds
    # at most len(features) < 2**23), and the 64 top bits are gathered with byte ops.
    offset = (1 << (_LANE - 1)) - (len(spreads) // 2 + 1)
    tops = (total + offset * _LANE_ONES) & _LANE_TOPS
    flags = tops.to_bytes(_LANE * SIMHASH_BITS // 8, "little")[_LANE // 8 - 1 :: _LANE // 8]
    return f"{int(flags.translate(_FLAG_TO_DIGIT)[::-1], 2):016x}"


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex simhashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
