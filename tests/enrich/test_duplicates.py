"""Unit tests of the pure duplicate core, worker/enrich/duplicates.py."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SEEDS, load_enricher
from worker.enrich import Enriched
from worker.enrich import duplicates as dup
from worker.enrich.duplicates import Candidate, Match

U64 = st.integers(min_value=0, max_value=(1 << 64) - 1)
BIT = st.integers(min_value=0, max_value=63)
HOUR = 3600.0
WINDOW = 72 * HOUR


def cand(i: str, simhash: int, body: str = "", t: float = 0.0, ref: str | None = None) -> Candidate:
    """A candidate whose content hash is that of ``body`` (default: of its simhash); its
    message reference is its id unless given."""
    digest = hashlib.sha256((body or f"{simhash:x}").encode()).hexdigest()
    return dup.candidate(i, f"{simhash:016x}", digest, t, ref)


def match(article: Candidate, entries: list[Candidate], max_distance: int = 3) -> Match | None:
    return dup.best_match(article, entries, max_distance=max_distance, window=WINDOW)


# --- bands: the pigeonhole property -----------------------------------------------------
@given(U64, st.sets(BIT, max_size=3))
def test_values_within_distance_3_share_a_band_value(value: int, bits: set[int]) -> None:
    other = value ^ sum(1 << b for b in bits)
    assert dup.distance(value, other) == len(bits)
    assert any(x == y for x, y in zip(dup.bands(value), dup.bands(other), strict=True))


@given(U64)
def test_bands_cut_the_value_into_four_16_bit_parts(value: int) -> None:
    parts = dup.bands(value)
    assert len(parts) == dup.BANDS == 4
    assert all(0 <= p < 1 << 16 for p in parts)
    assert sum(p << (16 * i) for i, p in enumerate(parts)) == value


def test_four_bits_can_miss_every_band_so_the_index_refuses_distance_4() -> None:
    value = 0x0123_4567_89AB_CDEF
    other = value ^ (1 | 1 << 16 | 1 << 32 | 1 << 48)  # one bit in each band
    assert not any(x == y for x, y in zip(dup.bands(value), dup.bands(other), strict=True))
    with pytest.raises(ValueError, match="max_distance"):
        dup.Index(max_distance=4)
    with pytest.raises(ValueError, match="max_distance"):
        dup.Index(max_distance=-1)


def test_band_keys_differ_per_band_for_the_same_value() -> None:
    assert dup.band_key(0, 0xBEEF) == b"0:beef"
    assert dup.band_key(3, 0x00FF) == b"3:00ff"
    assert len({dup.band_key(i, 7) for i in range(dup.BANDS)}) == dup.BANDS


def test_candidate_parses_the_record_fields() -> None:
    c = dup.candidate("a", "ffffffffffffffff", "ab" * 32, 12.5)
    assert c == Candidate("a", (1 << 64) - 1, "ab" * 8, 12.5, "a")  # the ref defaults to the id
    assert dup.candidate("a", "00ff", "cd" * 32, 1.0, "raw-0@17").ref == "raw-0@17"
    assert len(c.content_hash) == dup.HASH_DIGITS


# --- best_match ------------------------------------------------------------------------------
def test_best_match_picks_the_earliest_match() -> None:
    article = cand("z", 0b1111, "copy", t=10 * HOUR)
    entries = [
        cand("c", 0b0111, "c", t=3 * HOUR),  # distance 1
        cand("b", 0b0000, "b", t=2 * HOUR),  # distance 4: no match
        cand("a", 0b0001, "a", t=5 * HOUR),  # distance 3, later than c
        cand("d", 0b1111, "d", t=3 * HOUR),  # distance 0, same time as c: id breaks the tie
    ]
    found = match(article, entries)
    assert found == Match("c", 1, False, 3 * HOUR, "c")
    assert found.kind == dup.NEAR
    assert match(article, entries, max_distance=0) == Match("d", 0, False, 3 * HOUR, "d")


def test_best_match_exact_when_the_bodies_hash_alike() -> None:
    article = cand("b", 0b101, "same body", t=HOUR)
    exact = match(article, [cand("a", 0b101, "same body")])
    assert exact == Match("a", 0, True, 0.0, "a")
    assert exact.kind == dup.EXACT
    near = match(article, [cand("a", 0b101, "other body")])  # same simhash, other body
    assert near == Match("a", 0, False, 0.0, "a")
    assert near.kind == dup.NEAR


def test_best_match_ignores_itself_later_entries_and_expired_ones() -> None:
    article = cand("m", 0xFF, t=100 * HOUR)
    assert match(article, [article]) is None
    assert match(article, [cand("n", 0xFF, t=101 * HOUR)]) is None  # later
    assert match(article, [cand("n", 0xFF, t=100 * HOUR)]) is None  # same time, later id
    assert match(article, [cand("l", 0xFF, t=100 * HOUR)]) is not None  # same time, earlier id
    assert match(article, [cand("a", 0xFF, t=100 * HOUR - WINDOW - 1)]) is None  # too old
    assert match(article, [cand("a", 0xFF, t=100 * HOUR - WINDOW)]) is not None  # the edge
    assert match(article, []) is None


def test_a_resend_matches_its_earlier_message_but_a_message_read_again_does_not() -> None:
    first = cand("same", 0xFF, "body", t=HOUR, ref="raw-0@10")
    resend = cand("same", 0xFF, "body", t=2 * HOUR, ref="raw-1@99")
    assert match(resend, [first]) == Match("same", 0, True, HOUR, "raw-0@10")
    again = cand("same", 0xFF, "body", t=HOUR, ref="raw-0@10")  # one message, read twice
    assert match(again, [first]) is None
    # within one timestamp and id the ref orders: the other message is earlier or later
    twin = cand("same", 0xFF, "body", t=HOUR, ref="raw-0@11")
    assert match(twin, [first]) is not None
    assert match(first, [twin]) is None


def test_earliest_of_the_bands_verdicts() -> None:
    a, b = Match("b", 2, False, 5.0), Match("a", 0, True, 5.0)
    assert dup.earliest([None, a, None, b]) is b  # same time: the smaller id
    first = dup.earliest([Match("z", 3, False, 1.0), a])
    assert first is not None
    assert first.id == "z"
    assert dup.earliest([None] * 4) is None
    assert dup.earliest([]) is None


# --- with_entry ------------------------------------------------------------------------------
def test_with_entry_drops_expired_entries_and_keeps_the_edge() -> None:
    old, edge, fresh = cand("old", 1, t=0.0), cand("edge", 2, t=HOUR), cand("fresh", 3, t=50 * HOUR)
    new = cand("new", 4, t=HOUR + WINDOW)
    kept = dup.with_entry([old, edge, fresh], new, newest=new.timestamp, window=WINDOW)
    assert kept == [edge, fresh, new]
    # an article older than the window (a late arrival) is not kept either
    late = cand("late", 5, t=0.5 * HOUR)
    assert dup.with_entry(kept, late, newest=new.timestamp, window=WINDOW) == kept


def test_with_entry_is_idempotent_for_the_same_id() -> None:
    first = cand("x", 1, t=HOUR)
    entries = [cand("a", 7, t=0.0), first]
    once = dup.with_entry(entries, first, newest=HOUR, window=WINDOW)
    assert once == entries
    assert dup.with_entry(once, first, newest=HOUR, window=WINDOW) == once
    # the same message again (its ref) replaces its entry, never doubles it
    again = cand("x", 1, t=2 * HOUR)
    assert dup.with_entry(once, again, newest=2 * HOUR, window=WINDOW) == [entries[0], again]
    # a re-send (same id, another message) is a second entry
    resend = cand("x", 1, t=2 * HOUR, ref="x#2")
    assert dup.with_entry(once, resend, newest=2 * HOUR, window=WINDOW) == [*once, resend]


# --- encodings -------------------------------------------------------------------------------
IDS = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40)
HASHES = st.text("0123456789abcdef", min_size=16, max_size=16)
TIMES = st.floats(min_value=0, max_value=4e9, allow_nan=False)
CANDIDATES = st.builds(Candidate, IDS, U64, HASHES, TIMES, IDS)
MATCHES = st.builds(Match, IDS, st.integers(0, 64), st.booleans(), TIMES, IDS)


@given(st.lists(CANDIDATES, max_size=20))
def test_entries_round_trip(entries: list[Candidate]) -> None:
    assert dup.decode_entries(dup.encode_entries(entries)) == entries


def test_an_absent_bucket_is_empty() -> None:
    assert dup.decode_entries(None) == []
    assert dup.decode_entries(b"") == []
    assert dup.decode_entries(dup.encode_entries([])) == []


@given(st.integers(0, dup.BANDS - 1), st.none() | MATCHES)
def test_matches_round_trip(band: int, found: Match | None) -> None:
    assert dup.decode_match(dup.encode_match(band, found)) == (band, found)


# --- mark_record -----------------------------------------------------------------------------
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
RECORDS = st.dictionaries(
    st.text(max_size=12).filter(lambda k: not k.startswith("duplicate_")), JSON_VALUES, max_size=8
)


def marked_fields(found: Match | None) -> dict[str, Any]:
    if found is None:
        return {"duplicate_of": None, "duplicate_distance": None, "duplicate_kind": None}
    return {
        "duplicate_of": found.id,
        "duplicate_distance": found.distance,
        "duplicate_kind": found.kind,
    }


@given(RECORDS, st.none() | MATCHES, st.sampled_from([b"", b"\n", b"  \r\n"]))
@settings(max_examples=200)
def test_mark_record_adds_the_three_fields(
    record: dict[str, Any], found: Match | None, tail: bytes
) -> None:
    marked = dup.mark_record(orjson.dumps(record) + tail, found)
    assert orjson.loads(marked) == {**record, **marked_fields(found)}
    assert list(orjson.loads(marked))[-3:] == [
        "duplicate_of",
        "duplicate_distance",
        "duplicate_kind",
    ]


def test_mark_record_of_an_enriched_record() -> None:
    result = load_enricher().enrich((SEEDS / "016_hi_mahakumbh_near_duplicate.txt").read_bytes())
    assert isinstance(result, Enriched)
    raw = orjson.dumps(result.record)
    found = Match('id "quoted" \\ कुंभ', 2, False, 1.0)
    assert orjson.loads(dup.mark_record(raw, found)) == {**result.record, **marked_fields(found)}
    assert orjson.loads(dup.mark_record(b"{}", None)) == marked_fields(None)


@pytest.mark.parametrize("value", [b"[1, 2]", b'"text"', b"", b"{} x"])
def test_mark_record_refuses_what_is_no_object(value: bytes) -> None:
    with pytest.raises(ValueError, match="not a JSON object"):
        dup.mark_record(value, None)


# --- Index -----------------------------------------------------------------------------------
def clustered(seed: int, n: int) -> list[Candidate]:
    """``n`` articles in a few stories: each a base simhash with 0-4 bits flipped, and a
    body that is the story's own or new; timestamps over less than one window."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    bases = [rng.getrandbits(64) for _ in range(rng.randint(1, 5))]
    out = []
    for i in range(n):
        story = rng.randrange(len(bases))
        flips = rng.sample(range(64), rng.choice([0, 0, 1, 2, 3, 4]))
        simhash = bases[story] ^ sum(1 << b for b in flips)
        body = f"{story}" if not flips and rng.random() < 0.7 else f"{story}-{i}"
        t = rng.choice([0.0, 1.0, 2.0, rng.uniform(0, 70 * HOUR)])  # ties in time happen
        out.append(cand(f"a{i:03d}", simhash, body, t))
    return out


@given(st.integers(0, 2**32), st.integers(1, 40))
@settings(max_examples=300, deadline=None)
def test_index_over_a_shuffled_order_makes_no_cycles(seed: int, n: int) -> None:
    articles = clustered(seed, n)
    random.Random(seed + 1).shuffle(articles)  # noqa: S311 - arrival is not (timestamp, id) order
    index = dup.Index()
    verdicts: dict[str, Match | None] = {}
    by_id = {a.id: a for a in articles}
    arrived: list[Candidate] = []
    for article in articles:
        verdicts[article.id] = found = index.add(article)
        # the band index finds what comparing with every earlier arrival finds
        assert found == match(article, arrived)
        arrived.append(article)
    for article in articles:
        seen = {article.id}
        current = article
        while (found := verdicts[current.id]) is not None:
            target = by_id[found.id]
            assert target.precedes(current)
            assert found.distance == dup.distance(target.simhash, current.simhash) <= 3
            assert found.exact == (target.content_hash == current.content_hash)
            assert target.id not in seen
            seen.add(target.id)
            current = target
        assert verdicts[current.id] is None  # every chain ends at a first-seen story


def test_index_in_order_marks_copies_of_the_first_seen() -> None:
    index = dup.Index()
    first = cand("a", 0xF0F0, "story", t=0.0)
    assert index.add(first) is None
    assert index.add(cand("b", 0xF0F0, "story", t=HOUR)) == Match("a", 0, True, 0.0, "a")
    assert index.add(cand("c", 0xF0F7, "story with a fix", t=2 * HOUR)) == Match(
        "a", 3, False, 0.0, "a"
    )
    assert index.add(cand("d", 0xF00F, "another story", t=3 * HOUR)) is None  # 8 bits away
    # past the window the first copy is forgotten: the next copy is first-seen again
    assert index.add(cand("e", 0xF0F0, "story", t=WINDOW + 5 * HOUR)) is None
    assert all(len(entries) <= 2 for entries in index.buckets.values())


def test_exact_copies_are_not_indexed_so_a_bucket_stays_small() -> None:
    index = dup.Index()
    original = cand("story-0", 0x1234_5678_9ABC_DEF0, "body", t=0.0)
    assert index.add(original) is None
    for n in range(1, 1001):
        found = index.add(cand(f"story-{n}", original.simhash, "body", t=float(n)))
        assert found is not None
        assert (found.id, found.exact) == ("story-0", True)
    # A near copy is indexed (a later copy may be near it and not the original).
    near = cand("story-near", original.simhash ^ 0b11, "other body", t=2000.0)
    assert index.add(near) == Match("story-0", 2, False, 0.0, "story-0")
    # Band 0 of the near copy is a bucket of its own; it shares the other three.
    assert sorted(len(entries) for entries in index.buckets.values()) == [1, 1, 2, 2, 2]


def test_a_bucket_keeps_at_most_its_bound_the_latest() -> None:
    entries = [cand(f"a-{n}", n, t=float(n)) for n in range(dup.MAX_BUCKET_ENTRIES)]
    article = cand("late", 1 << 40, t=float(dup.MAX_BUCKET_ENTRIES))
    kept = dup.with_entry(entries, article, newest=article.timestamp, window=WINDOW)
    assert len(kept) == dup.MAX_BUCKET_ENTRIES
    assert kept[-1] == article
    assert "a-0" not in {e.id for e in kept}


def test_bodies_without_content_words_match_only_exact_copies() -> None:
    # Symbol-only strings of ftfy's test cases ('∆°', '┒(⌣˛⌣)┎') have no features: their
    # simhashes are all 0, which is no evidence that they are alike.
    empty = cand("sym-0", 0, "∆°", t=0.0)
    other = cand("sym-1", 0, "┒(⌣˛⌣)┎", t=1.0)
    same = cand("sym-2", 0, "∆°", t=2.0)
    index = dup.Index()
    assert index.add(empty) is None
    assert index.add(other) is None
    found = index.add(same)
    assert found is not None
    assert (found.id, found.exact) == ("sym-0", True)
