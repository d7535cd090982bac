"""Exact and near-duplicate fingerprints."""

from __future__ import annotations

import hashlib

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
