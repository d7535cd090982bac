"""Fingerprints of the normalized body: exact (SHA-256) and near-duplicate (64-bit simhash).

The simhash features are word tokens under :func:`~worker.enrich.normalize.matching_key`,
so nukta and case variants of the same story hash alike, and grammar words are dropped
so that two unrelated Hindi stories do not look alike merely for sharing ``है`` and ``के``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

SIMHASH_BITS = 64
# Each feature's 64 digest bits are spread one per byte of a 64-byte Python int (bit i
# in byte i), so that summing features is one big-int addition each instead of 64 Python
# operations: up to _GROUP features add without a carry from one byte into the next.
_GROUP = 255
_BIT_BYTES = [bytes(value >> bit & 1 for bit in range(8)) for value in range(256)]
_BYTE_ONES = int.from_bytes(b"\x01" * SIMHASH_BITS, "little")
_BYTE_TOPS = _BYTE_ONES << 7
# More features are summed in groups, each group's bytes widened to 24-bit lanes, which
# hold counts up to 2**23: more words than the 1 MiB input limit allows.
_LANE = 24
_LANE_ONES = sum(1 << (lane * _LANE) for lane in range(SIMHASH_BITS))
_LANE_TOPS = _LANE_ONES << (_LANE - 1)
_FLAG_TO_DIGIT = bytes.maketrans(b"\x00\x80", b"01")
_SPREAD_CACHE: dict[str, int] = {}
_CACHE_LIMIT = 200_000


def content_hash(body: str) -> str:
    """Hex SHA-256 of the UTF-8 body."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _spread(feature: str) -> int:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(b"".join(map(_BIT_BYTES.__getitem__, digest)), "little")


def _spreads(features: Collection[str]) -> list[int]:
    """Each feature's spread, from the cache: the features not in it are spread once
    (the difference with a dict looks each one up in C) and remembered."""
    cache = _SPREAD_CACHE
    distinct = features if isinstance(features, set) else set(features)
    if len(distinct) > _CACHE_LIMIT // 4:
        return list(map(_spread, features))  # a huge set: spread each, keep none
    new = distinct.difference(cache)
    if new:
        if len(cache) + len(new) > _CACHE_LIMIT:
            cache.clear()  # bounded memory in a long-running worker
            new = distinct
        cache.update(zip(new, map(_spread, new), strict=True))
    try:
        return list(map(cache.__getitem__, features))
    except KeyError:  # emptied by another thread meanwhile
        return list(map(_spread, features))


def simhash(features: Collection[str]) -> str:
    """64-bit simhash of a set of ``features`` (each weighs one) as 16 hex digits.

    Presence, not frequency: a word repeated in one paragraph does not outweigh the rest,
    and the sum runs in C.
    """
    spreads = _spreads(features)
    n = len(spreads)
    # Bit i is set when more than half the features have it, i.e. n // 2 + 1 or more.
    # Adding the same offset to every counter moves that test to the counter's top bit
    # (no counter overflows), and the 64 top bits are gathered with byte operations.
    if n <= _GROUP:
        tops = (sum(spreads) + ((1 << 7) - (n // 2 + 1)) * _BYTE_ONES) & _BYTE_TOPS
        flags = tops.to_bytes(SIMHASH_BITS, "little")
    else:
        total = 0
        wide = bytearray(SIMHASH_BITS * _LANE // 8)
        for start in range(0, n, _GROUP):
            wide[:: _LANE // 8] = sum(spreads[start : start + _GROUP]).to_bytes(
                SIMHASH_BITS, "little"
            )
            total += int.from_bytes(wide, "little")
        tops = (total + ((1 << (_LANE - 1)) - (n // 2 + 1)) * _LANE_ONES) & _LANE_TOPS
        flags = tops.to_bytes(SIMHASH_BITS * _LANE // 8, "little")[_LANE // 8 - 1 :: _LANE // 8]
    return f"{int(flags.translate(_FLAG_TO_DIGIT)[::-1], 2):016x}"


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex simhashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
