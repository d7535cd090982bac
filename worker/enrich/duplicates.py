"""Duplicate verdicts from fingerprints: pure functions, no Kafka, no Faust.

An article is a :class:`Candidate`: its id, 64-bit simhash, content hash and timestamp.
Two articles are copies when their bodies hash alike (``exact``) or their simhashes
differ in at most ``max_distance`` bits (``near``), and their timestamps are at most
``window`` seconds apart.

Near copies are found without comparing against everything: the simhash is cut into
:data:`BANDS` bands of :data:`BAND_BITS` bits; with ``max_distance`` below :data:`BANDS`,
two copies agree exactly on at least one band (the differing bits fall in at most
``max_distance`` bands), so only the articles that share a band value are compared.
Exact copies share every band, so they need no index of their own.

Order: an article is a duplicate only of one that *precedes* it, by ``(timestamp, id,
ref)``. A total order, not the order of arrival, so that the verdicts of the four bands
(made on different partitions, maybe at different times) can never point at each other
in a cycle, and a verdict made again after a crash is the same. ``duplicate_of`` is the
earliest match: the first-seen copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson

BANDS = 4
BAND_BITS = 16
_BAND_MASK = (1 << BAND_BITS) - 1
#: Hex digits of the content hash kept in the index (64 bits: a collision between two
#: different bodies inside one band bucket and one window is not a practical concern).
HASH_DIGITS = 16
#: A bound on one band bucket, against input where thousands of different bodies share a
#: band value (boilerplate pages): ~80 bytes an entry, rewritten on every write.
MAX_BUCKET_ENTRIES = 1000
EXACT = "exact"
NEAR = "near"


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the index keeps of one message."""

    id: str
    simhash: int
    content_hash: str  # the first HASH_DIGITS hex digits
    timestamp: float  # Unix seconds
    #: Which message this is (the stream uses its position in the join topic): two
    #: messages with one id (a re-send) are two candidates; one message read again is not.
    ref: str = ""

    def order(self) -> tuple[float, str, str]:
        return (self.timestamp, self.id, self.ref)

    def precedes(self, other: Candidate) -> bool:
        return self.order() < other.order()


@dataclass(frozen=True, slots=True)
class Match:
    """An earlier article that ``Candidate`` copies."""

    id: str
    distance: int
    exact: bool
    timestamp: float
    ref: str = ""

    @property
    def kind(self) -> str:
        return EXACT if self.exact else NEAR


def candidate(
    article_id: str,
    simhash_hex: str,
    content_hash: str,
    timestamp: float,
    ref: str | None = None,
) -> Candidate:
    """A :class:`Candidate` from a record's fields (``simhash`` as 16 hex digits); the
    message reference defaults to the id."""
    return Candidate(
        article_id,
        int(simhash_hex, 16),
        content_hash[:HASH_DIGITS],
        timestamp,
        article_id if ref is None else ref,
    )


def bands(simhash: int) -> list[int]:
    """The simhash's :data:`BANDS` band values, lowest bits first."""
    return [(simhash >> (BAND_BITS * i)) & _BAND_MASK for i in range(BANDS)]


def band_key(index: int, value: int) -> bytes:
    """The repartition and table key of band ``index`` holding ``value``."""
    return b"%d:%04x" % (index, value)


def distance(a: int, b: int) -> int:
    """Bits that differ between two simhashes."""
    return (a ^ b).bit_count()


def best_match(
    article: Candidate, entries: Iterable[Candidate], *, max_distance: int, window: float
) -> Match | None:
    """The earliest entry that ``article`` copies, or None.

    Entries that do not precede ``article``, or are more than ``window`` seconds older,
    are not matches, so ``article`` itself (its ``ref``) never is. An earlier message
    with the same id (a re-send) is: ``duplicate_of`` is then the article's own id. A
    body without content words has simhash 0, like every other such body: it matches
    only an exact copy (on ftfy's test cases, symbol-only strings were near copies).
    """
    best: Candidate | None = None
    best_distance = 0
    oldest = article.timestamp - window
    for entry in entries:
        if entry.timestamp < oldest or not entry.precedes(article):
            continue
        if best is not None and not entry.precedes(best):
            continue
        exact = entry.content_hash == article.content_hash
        if exact:
            bits = 0
        elif not (entry.simhash and article.simhash):
            continue  # no content words (simhash 0): only an exact copy matches
        else:
            bits = distance(entry.simhash, article.simhash)
        if bits <= max_distance:
            best, best_distance = entry, bits
    if best is None:
        return None
    exact = best.content_hash == article.content_hash
    return Match(best.id, best_distance, exact, best.timestamp, best.ref)


def earliest(matches: Iterable[Match | None]) -> Match | None:
    """The first-seen of several bands' matches (None when no band found one)."""
    found = [m for m in matches if m is not None]
    if not found:
        return None
    return min(found, key=lambda m: (m.timestamp, m.id, m.ref))


def with_entry(
    entries: Sequence[Candidate],
    article: Candidate,
    *,
    newest: float,
    window: float,
    match: Match | None = None,
) -> list[Candidate]:
    """What a band bucket keeps after ``article``: the entries newer than ``newest -
    window``, and ``article`` once (a message read again replaces its entry).

    An exact copy (``match``, found in this bucket) is not added: a later copy that would
    match it matches the entry it copies instead, at the same distance and earlier, so a
    story sent a thousand times keeps one entry, not a thousand rewritten on each copy.
    The window counts from that first entry: a story re-sent for longer than the window
    is first-seen again once its first copy expires.
    At most :data:`MAX_BUCKET_ENTRIES` are kept (the latest), whatever the input.
    """
    oldest = newest - window
    kept = [e for e in entries if e.timestamp >= oldest and e.ref != article.ref]
    if article.timestamp >= oldest and not (match is not None and match.exact):
        kept.append(article)
    if len(kept) > MAX_BUCKET_ENTRIES:
        kept = sorted(kept, key=Candidate.order)[-MAX_BUCKET_ENTRIES:]
    return kept


def encode_entries(entries: Sequence[Candidate]) -> bytes:
    """A band bucket as compact JSON (one array per entry)."""
    encoded = orjson.dumps([[e.id, e.simhash, e.content_hash, e.timestamp, e.ref] for e in entries])
    # orjson's bytes keep the buffer it wrote into (4 KiB or more for a small document);
    # a copy of the right size, since the stream keeps one per bucket for the window.
    return bytes(memoryview(encoded))


def decode_entries(data: bytes | None) -> list[Candidate]:
    """The inverse of :func:`encode_entries`; an absent bucket is empty."""
    if not data:
        return []
    return [Candidate(i, s, h, t, r) for i, s, h, t, r in orjson.loads(data)]


def encode_match(band: int, match: Match | None) -> bytes:
    """One band's verdict as a JSON array (``[band]`` when it found no match)."""
    if match is None:
        return orjson.dumps([band])
    return orjson.dumps([band, match.id, match.distance, match.exact, match.timestamp, match.ref])


def decode_match(data: bytes) -> tuple[int, Match | None]:
    """The inverse of :func:`encode_match`."""
    fields = orjson.loads(data)
    if len(fields) == 1:
        return int(fields[0]), None
    band, match_id, bits, exact, timestamp, ref = fields
    return int(band), Match(str(match_id), int(bits), bool(exact), float(timestamp), str(ref))


def mark_record(record: bytes, match: Match | None) -> bytes:
    """The record (orjson's JSON object) with ``duplicate_of``, ``duplicate_distance`` and
    ``duplicate_kind`` added; all three null for a first-seen story.

    Spliced in before the closing brace rather than parsed and serialized again: the
    record is the worker's own compact JSON and can be a few megabytes.
    """
    if match is None:
        fields = b'"duplicate_of":null,"duplicate_distance":null,"duplicate_kind":null'
    else:
        fields = b'"duplicate_of":%s,"duplicate_distance":%d,"duplicate_kind":"%s"' % (
            orjson.dumps(match.id),
            match.distance,
            match.kind.encode(),
        )
    body = record.rstrip()
    if not body.endswith(b"}"):
        raise ValueError("not a JSON object")
    if body == b"{}":
        return b"{" + fields + b"}"
    return body[:-1] + b"," + fields + b"}"


class Index:
    """Every band bucket in one dict: the stream's verdicts without Kafka.

    The streaming worker keeps the same buckets in Faust tables spread over partitions;
    this one serves tests, the labelled-set evaluation and the benchmark. Entries are
    dropped from a bucket when it is next written, once older than the newest timestamp
    seen minus ``window``.
    """

    def __init__(self, *, max_distance: int = 3, window: float = 72 * 3600.0) -> None:
        if not 0 <= max_distance < BANDS:
            raise ValueError(f"max_distance must be 0-{BANDS - 1}: bands find no more")
        self.max_distance = max_distance
        self.window = window
        self.buckets: dict[bytes, list[Candidate]] = {}
        self.newest = float("-inf")

    def add(self, article: Candidate) -> Match | None:
        """The first-seen copy ``article`` duplicates (None if it is new); then index it."""
        self.newest = max(self.newest, article.timestamp)
        matches = []
        for index, value in enumerate(bands(article.simhash)):
            key = band_key(index, value)
            entries = self.buckets.get(key, [])
            match = best_match(article, entries, max_distance=self.max_distance, window=self.window)
            matches.append(match)
            self.buckets[key] = with_entry(
                entries, article, newest=self.newest, window=self.window, match=match
            )
        return earliest(matches)
