"""Exact and near-duplicate fingerprints."""

from __future__ import annotations

import hashlib

import pytest

from worker.enrich import fingerprint
from worker.enrich.fingerprint import content_hash, hamming, simhash


def test_content_hash_is_sha256_of_utf8() -> None:
    # Known answers, from coreutils' sha256sum: `printf 'नमस्ते' | sha256sum`.
    assert content_hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert (
        content_hash("नमस्ते") == "ddb08d77c2d511947652161b35987022711aa216387b041dd459a03eb66a8304"
    )


def reference_simhash(features: set[str]) -> str:
    """The textbook simhash, one bit at a time: bit i is set when more than half of the
    features' 64-bit BLAKE2b digests (little-endian) have bit i set."""
    digests = [
        int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "little")
        for f in features
    ]
    bits = sum(1 << i for i in range(64) if 2 * sum(d >> i & 1 for d in digests) > len(digests))
    return f"{bits:016x}"


def test_simhash_matches_the_bitwise_definition() -> None:
    words = ["रूस", "यूक्रेन", "युद्ध", "पुतिन"]
    assert simhash(words) == simhash(list(reversed(words)))  # order does not matter
    for features in (words, words[:3], [f"शब्द{i}" for i in range(301)], ["a"]):
        assert simhash(features) == reference_simhash(set(features)), features
    assert simhash([]) == "0000000000000000"


def test_simhash_distance_tracks_overlap() -> None:
    base = {f"शब्द{i}" for i in range(300)}
    near = base | {"नया"}
    other = {f"word{i}" for i in range(300)}
    assert hamming(simhash(base), simhash(near)) <= 3
    assert hamming(simhash(base), simhash(other)) >= 20


@pytest.mark.parametrize("n", [1, 2, 3, 254, 255, 256, 509, 510, 511, 766, 2000])
def test_simhash_in_byte_counters_and_in_groups(n: int) -> None:
    # Up to 255 features are summed in one byte per bit; more, in groups of 255 widened
    # to 24-bit counters. Both agree with the bitwise definition at and around the edges.
    features = {f"word{i}" for i in range(n)}
    assert simhash(features) == reference_simhash(features)
    assert simhash(sorted(features)) == simhash(features)  # any collection, not only a set


def test_simhash_cache_is_bounded_and_does_not_change_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fingerprint, "_CACHE_LIMIT", 100)
    monkeypatch.setattr(fingerprint, "_SPREAD_CACHE", {})
    sets = [{f"set{k}-word{i}" for i in range(20)} for k in range(7)]
    for features in [*sets, sets[0], sets[6]]:  # the sixth set empties the full table
        assert simhash(features) == reference_simhash(features)
        assert len(fingerprint._SPREAD_CACHE) <= 100
    big = {f"big{i}" for i in range(30)}  # more than a quarter of the table: not stored
    assert simhash(big) == reference_simhash(big)
    assert not big & fingerprint._SPREAD_CACHE.keys()
