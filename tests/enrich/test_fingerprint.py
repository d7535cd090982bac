"""Exact and near-duplicate fingerprints."""

from __future__ import annotations

from worker.enrich.fingerprint import content_hash, hamming, simhash


def test_content_hash_is_sha256_of_utf8() -> None:
    assert content_hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert len(content_hash("नमस्ते")) == 64


def test_simhash_shape_and_determinism() -> None:
    words = ["रूस", "यूक्रेन", "युद्ध", "पुतिन"]
    assert simhash(words) == simhash(list(reversed(words)))  # order does not matter
    assert len(simhash(words)) == 16
    assert simhash([]) == "0000000000000000"


def test_simhash_distance_tracks_overlap() -> None:
    base = {f"शब्द{i}" for i in range(300)}
    near = base | {"नया"}
    other = {f"word{i}" for i in range(300)}
    assert hamming(simhash(base), simhash(near)) <= 3
    assert hamming(simhash(base), simhash(other)) >= 20
