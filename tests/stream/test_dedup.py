"""The duplicate finder's own logic, without a broker: fan-out, join, replays, the sweep.

A real (never started) Faust app declares the finder; its two tables and four topics are
then swapped for stand-ins that record changelog writes and sends and acknowledge them at
once. The test routes the bands-topic sends into ``_bands_batch`` and the verdicts back
into ``_join_batch``, as the broker would. The real tables and topics are tested against
the broker in test_dedup_kafka.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import orjson
import pytest
from faust.types import TP
from prometheus_client import CollectorRegistry

from tests.stream.fakes import FakeTable, FakeTopic, message
from worker.enrich import duplicates as dup
from worker.settings import Settings
from worker.stream import dedup
from worker.stream.dedup import SOURCE_TIMESTAMP_HEADER, DuplicateFinder, source_timestamp
from worker.stream.health import Health
from worker.stream.metrics import create_dedup_metrics
from worker.stream.topics import topic_limits

# Source times an hour ago: _bands_batch caps timestamps at an hour past the real clock.
T0 = float(int(time.time())) - 3600.0
BASE = 0x0123456789ABCDEF
NEAR = BASE ^ 0b101  # two bits apart, both in band 0: bands 1-3 agree
OTHER = 0xFEDCBA9876543210
HASH_A, HASH_B = "aa" * 32, "bb" * 32


class Harness:
    """One worker holding every partition, with the broker's routing done by hand."""

    def __init__(self, tmp_path: Path, **overrides: Any) -> None:
        self.settings = Settings(dedup_enabled=True, data_dir=str(tmp_path), **overrides)
        app = faust.App("dedup-test", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
        self.registry = CollectorRegistry()
        self.health = Health(stall_seconds=30)
        self.broken: list[BaseException] = []
        self.commits: list[dict[Any, int]] = []
        f = DuplicateFinder(
            app,
            self.settings,
            create_dedup_metrics(self.registry),
            self.health,
            on_broken=self.broken.append,
            commit=self.commits.append,
        )
        self.pending, self.buckets = FakeTable(), FakeTable()
        f.pending, f.buckets = self.pending, self.buckets  # type: ignore[assignment]
        self.join, self.bands = FakeTopic("join"), FakeTopic("bands")
        self.enriched, self.unique = FakeTopic("enriched"), FakeTopic("unique")
        f.join_topic, f.bands_topic = self.join, self.bands  # type: ignore[assignment]
        f.enriched_topic, f.unique_topic = self.enriched, self.unique  # type: ignore[assignment]
        self.assigned = {0, 1, 2, 3}
        f._assigned = lambda _topic: self.assigned  # type: ignore[method-assign,assignment]
        self.finder = f
        self.join_queue: list[Any] = []
        self.bands_queue: list[Any] = []
        self._offsets: dict[tuple[str, int], int] = {}
        self._routed = {"join": 0, "bands": 0}

    def _next(self, topic: str, partition: int) -> int:
        offset = self._offsets.get((topic, partition), 0)
        self._offsets[topic, partition] = offset + 1
        return offset

    def feed(
        self, article_id: str, simhash: int, content_hash: str, *, partition: int, at: float
    ) -> Any:
        """A record as the enrich stage sends it to the join topic (source time ``at``)."""
        value = orjson.dumps(
            {"id": article_id, "simhash": f"{simhash:016x}", "content_hash": content_hash}
            | {"schema_version": 3, "title": "t"}
        )
        headers = [("content-type", b"application/json"), dedup.source_header(at)]
        # The join message's own time is later than any source time: the header must win.
        m = message(
            article_id.encode(),
            value,
            partition,
            self._next("join", partition),
            headers=headers,
            timestamp=T0 + 99_999,
        )
        self.join_queue.append(m)
        return m

    def _route(self) -> None:
        for s in self.join.sent[self._routed["join"] :]:
            assert s.partition is not None, "a verdict goes to its record's partition"
            offset = self._next("join", s.partition)
            self.join_queue.append(message(s.key, s.value, s.partition, offset))
        for s in self.bands.sent[self._routed["bands"] :]:
            partition = int(s.key.split(b":")[0])  # any fixed key -> partition map will do
            self.bands_queue.append(message(s.key, s.value, partition, 0))
        self._routed = {"join": len(self.join.sent), "bands": len(self.bands.sent)}

    async def run_join(self) -> None:
        batch, self.join_queue = self.join_queue, []
        await self.finder._join_batch(batch)
        self._route()

    async def run_bands(self, take: Callable[[Any], bool] | None = None) -> None:
        batch = [m for m in self.bands_queue if take is None or take(m)]
        self.bands_queue = [m for m in self.bands_queue if take is not None and not take(m)]
        await self.finder._bands_batch(batch)
        self._route()

    async def settle(self) -> None:
        while self.join_queue or self.bands_queue:
            if self.join_queue:
                await self.run_join()
            if self.bands_queue:
                await self.run_bands()

    def published(self, topic: FakeTopic) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for s in topic.sent:
            out.setdefault(s.key.decode(), []).append(orjson.loads(s.value))
        return out

    def sample(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(f"article_worker_{name}", labels)
        return 0.0 if value is None else value


def ref(partition: int, offset: int) -> str:
    """A record's reference: its place in the join topic, as the finder writes it."""
    return f"{partition}:{offset:012d}"


def key(partition: int, offset: int, band: int | None = None) -> bytes:
    """The pending key of a record (``band`` None) or of one of its verdicts."""
    suffix = b"" if band is None else b"\x00%d" % band
    return ref(partition, offset).encode() + suffix


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def verdicts(record: dict[str, Any]) -> tuple[Any, Any, Any]:
    return record["duplicate_of"], record["duplicate_kind"], record["duplicate_distance"]


# -- the join and the bands ----------------------------------------------------------------


def test_a_record_fans_out_four_band_candidates_and_waits(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def scenario() -> None:
        h.feed("a", BASE, HASH_A, partition=2, at=T0)
        await h.run_join()

    run(scenario())
    keys = [s.key for s in h.bands.sent]
    assert keys == [b"0:cdef", b"1:89ab", b"2:4567", b"3:0123"]
    assert all(re.fullmatch(rb"[0-3]:[0-9a-f]{4}", k) for k in keys)
    candidate = [orjson.loads(s.value) for s in h.bands.sent]
    assert candidate == [["a", BASE, HASH_A[:16], T0, ref(2, 0)]] * 4
    stored = h.pending.data[key(2, 0)]
    assert stored.split(b"\n", 1)[1].startswith(b'{"id":"a"')
    assert h.pending.changelog == [(2, key(2, 0), stored)]
    assert h.enriched.sent == []
    assert h.unique.sent == []


@pytest.mark.parametrize(
    ("simhash", "content_hash", "expected"),
    [(BASE, HASH_A, ("a", "exact", 0)), (NEAR, HASH_B, ("a", "near", 2))],
)
def test_after_four_verdicts_the_record_is_published_marked(
    tmp_path: Path, simhash: int, content_hash: str, expected: tuple[str, str, int]
) -> None:
    h = Harness(tmp_path)

    async def scenario() -> None:
        h.feed("a", BASE, HASH_A, partition=0, at=T0)
        await h.settle()
        h.feed("b", simhash, content_hash, partition=1, at=T0 + 60)
        await h.run_join()
        await h.run_bands()
        replies = h.join.sent[-4:]
        assert {(s.key, s.partition) for s in replies} == {(key(1, 0), 1)}
        assert h.published(h.enriched).keys() == {"a"}  # b waits for its verdicts
        await h.run_join()

    run(scenario())
    enriched, unique = h.published(h.enriched), h.published(h.unique)
    assert [verdicts(r) for r in enriched["a"]] == [(None, None, None)]
    assert [verdicts(r) for r in enriched["b"]] == [expected]
    assert enriched["b"][0]["title"] == "t"  # the record itself is kept
    assert unique == {"a": enriched["a"]}
    assert h.enriched.sent[-1].headers == [
        ("content-type", b"application/json"),
        ("x-schema-version", b"3"),
    ]
    # Every pending key (records and verdicts) is gone, in memory and in the changelog.
    assert h.pending.data == {}
    last = h.pending.last_values()
    assert {key(0, 0), key(1, 0), key(1, 0, 0), key(1, 0, 3)} <= set(last)
    assert set(last.values()) == {None}
    kind = expected[1]
    assert h.sample("duplicates_total", kind=kind) == 1
    assert h.sample("duplicates_total", kind={"exact": "near", "near": "exact"}[kind]) == 0
    assert h.sample("unique_total") == 1
    assert h.sample("dedup_seconds_count") == 2


def test_a_verdict_for_a_record_already_published_is_ignored(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def scenario() -> None:
        h.feed("a", BASE, HASH_A, partition=0, at=T0)
        await h.settle()
        before = (len(h.pending.changelog), len(h.enriched.sent), len(h.unique.sent))
        late = dup.encode_match(2, dup.Match("x", 0, True, T0 - 1, ref(3, 3)))
        h.join_queue += [message(key(0, 0), late, 0, 9), message(key(3, 77), late, 3, 9)]
        h.join_queue.append(message(key(0, 0), None, 0, 10))  # a null value is skipped
        await h.run_join()
        assert (len(h.pending.changelog), len(h.enriched.sent), len(h.unique.sent)) == before

    run(scenario())
    assert h.pending.data == {}
    assert h.sample("unique_total") == 1
    assert h.sample("duplicates_total", kind="exact") == 0


def test_a_record_read_again_gets_the_same_verdict_and_one_entry(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def scenario() -> None:
        a = h.feed("a", BASE, HASH_A, partition=0, at=T0)
        await h.settle()
        b = h.feed("b", NEAR, HASH_B, partition=1, at=T0 + 60)
        c = h.feed("c", BASE, HASH_A, partition=2, at=T0 + 120)
        await h.settle()
        # All read again (offsets not committed): a now meets its later copies in its
        # buckets, b and c meet their own entries.
        h.join_queue += [a, b, c]
        await h.settle()

    run(scenario())
    enriched = h.published(h.enriched)
    assert [verdicts(r) for r in enriched["a"]] == [(None, None, None)] * 2
    assert [verdicts(r) for r in enriched["b"]] == [("a", "near", 2)] * 2
    assert [verdicts(r) for r in enriched["c"]] == [("a", "exact", 0)] * 2
    assert len(h.published(h.unique)["a"]) == 2
    assert h.published(h.unique).keys() == {"a"}
    # One entry per message and bucket; the exact copy c needs none (it matches a).
    refs = {k: sorted(e.ref for e in dup.decode_entries(v)) for k, v in h.buckets.data.items()}
    assert refs == {
        b"0:cdef": [ref(0, 0)],
        b"0:cdea": [ref(1, 0)],
        **{k: [ref(0, 0), ref(1, 0)] for k in (b"1:89ab", b"2:4567", b"3:0123")},
    }


def test_the_source_timestamp_orders_copies_not_arrival(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def scenario() -> None:
        h.feed("late", BASE, HASH_A, partition=0, at=T0 + 100)
        await h.settle()
        # Processed after "late" but stamped before it: not a copy of what came later.
        h.feed("early", BASE, HASH_A, partition=1, at=T0)
        await h.settle()
        h.feed("third", NEAR, HASH_B, partition=2, at=T0 + 200)
        await h.settle()

    run(scenario())
    enriched = h.published(h.enriched)
    assert verdicts(enriched["late"][0]) == (None, None, None)
    assert verdicts(enriched["early"][0]) == (None, None, None)
    assert verdicts(enriched["third"][0]) == ("early", "near", 2)  # the first-seen copy
    assert h.published(h.unique).keys() == {"late", "early"}


def test_source_timestamp_header_then_message_time() -> None:
    header = [(SOURCE_TIMESTAMP_HEADER, b"1700000000.5")]
    assert source_timestamp(SimpleNamespace(headers=header, timestamp=5.0)) == 1700000000.5
    as_dict = {SOURCE_TIMESTAMP_HEADER: b"12.25"}
    assert source_timestamp(SimpleNamespace(headers=as_dict, timestamp=5.0)) == 12.25
    assert source_timestamp(SimpleNamespace(headers=None, timestamp=5.0)) == 5.0
    assert dedup.source_header(12.25) == (SOURCE_TIMESTAMP_HEADER, b"12.25")


# Shares band 0 with BASE only: it lands in BASE's band-0 bucket and copies nothing.
BOGUS = BASE ^ 0xFFFF_FFFF_FFFF_0000
FAR = 10 * 365 * 86_400.0


def bogus_candidate(ref: str) -> bytes:
    return orjson.dumps(["bogus", BOGUS, HASH_B[:16], T0 + FAR, ref])


def test_a_far_future_clock_does_not_expire_the_index(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def scenario() -> None:
        h.feed("a", BASE, HASH_A, partition=0, at=T0)
        await h.settle()
        await h.finder._bands_batch([message(b"0:cdef", bogus_candidate(ref(1, 0)), 0, 9)])

    run(scenario())
    kept = {e.id for e in dup.decode_entries(h.buckets.data[b"0:cdef"])}
    assert kept == {"a", "bogus"}
    assert h.finder.newest[0] < time.time() + 3601  # capped at an hour past the clock


def test_a_far_future_clock_first_on_a_partition_does_not_expire_the_index(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path)
    # As after a restart: the bucket recovered from the changelog, no newest time yet.
    a = dup.Candidate("a", BASE, HASH_A[:16], T0, ref(0, 0))
    h.buckets.data[b"0:cdef"] = dup.encode_entries([a])
    run(h.finder._bands_batch([message(b"0:cdef", bogus_candidate(ref(1, 0)), 0, 9)]))
    kept = {e.id for e in dup.decode_entries(h.buckets.data[b"0:cdef"])}
    assert kept == {"a", "bogus"}


# -- the sweep -----------------------------------------------------------------------------


def held_back(m: Any) -> bool:
    """Bands partitions 2 and 3 are "recovering": their candidates wait."""
    return bool(m.partition >= 2)


def test_the_sweep_leaves_other_workers_records_and_publishes_stuck_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(tmp_path, dedup_wait_seconds=30.0)

    async def scenario() -> bytes:
        h.feed("a", BASE, HASH_A, partition=0, at=T0)
        await h.settle()
        h.feed("b", BASE, HASH_A, partition=1, at=T0 + 60)  # will have 2 of its 4 verdicts
        h.feed("c", OTHER, HASH_B, partition=3, at=T0 + 60)  # its partition moves away
        d = h.feed("d", OTHER ^ 1, HASH_B, partition=0, at=T0 + 60)  # arrives 60 s later
        d_key = key(d.partition, d.offset)
        await h.run_join()
        await h.run_bands(lambda m: not held_back(m))
        await h.run_join()
        assert h.pending.data.keys() >= {key(1, 0), key(1, 0, 0), key(1, 0, 1), key(3, 0), d_key}
        meta, record = dedup._split_pending(h.pending.data[d_key])
        meta[1] += 60
        h.pending.data[d_key] = orjson.dumps(meta) + b"\n" + record
        h.assigned = {0, 1, 2}
        writes = len(h.pending.changelog)
        now = time.time() + 31  # past b's and c's wait, not d's
        monkeypatch.setattr(dedup, "time", SimpleNamespace(time=lambda: now))
        await h.finder.sweep()
        new = h.pending.changelog[writes:]
        # b's entries deleted in its own partition's changelog; c's left alone: its
        # partition's owner publishes it (forgetting it could lose it if the partition
        # came back without its table being read again).
        assert sorted(k for _, k, _ in new) == [key(1, 0), key(1, 0, 0), key(1, 0, 1)]
        assert {(p, v) for p, _, v in new} == {(1, None)}
        assert key(3, 0) in h.pending.data
        # The verdicts held back for b come at last, and are ignored.
        await h.run_bands(lambda m: orjson.loads(m.value)[0] == "b")
        await h.run_join()
        return d_key

    d_key = asyncio.run(scenario())
    # d still waits, with the 2 verdicts it has so far; c stays, not counted.
    held = {k for k in h.pending.data if k.startswith(key(3, 0))}
    assert set(h.pending.data) - held == {d_key, d_key + b"\x000", d_key + b"\x001"}
    assert key(3, 0) in held
    enriched = h.published(h.enriched)
    assert enriched.keys() == {"a", "b"}
    assert verdicts(enriched["b"][0]) == ("a", "exact", 0)  # the verdicts it had
    assert h.sample("dedup_pending") == 1
    assert h.sample("duplicates_total", kind="exact") == 1
    assert h.sample("dedup_seconds_sum") >= 31  # b waited that long
    assert h.broken == []


def test_the_sweep_counts_entries_and_drops_expired_buckets(tmp_path: Path) -> None:
    h = Harness(tmp_path, dedup_window_seconds=3600.0)
    now = T0 + 10 * 3600.0
    fresh = dup.Candidate("fresh", BASE, HASH_A[:16], now - 60, ref(0, 1))
    old = [dup.Candidate(f"old{i}", BASE, HASH_A[:16], now - 7200 - i, ref(0, i)) for i in (2, 3)]
    h.buckets.data = {
        b"0:cdef": dup.encode_entries(old),
        b"1:89ab": dup.encode_entries([*old, fresh]),
    }
    h.finder.newest = {0: now - 100, 1: now}
    run(h.finder.sweep())
    assert set(h.buckets.data) == {b"1:89ab"}  # kept whole: it still holds a live entry
    assert h.sample("dedup_entries") == 3
    assert h.buckets.changelog == []  # the changelog's retention deletes the other


# -- the topics ----------------------------------------------------------------------------


def test_topic_limits_add_the_unique_and_internal_topics_with_dedup() -> None:
    plain = topic_limits(Settings())
    limits = topic_limits(Settings(dedup_enabled=True, app_id="w"))
    added = {"articles.unique", "w-dedup-join", "w-dedup-bands"}
    assert set(limits) == set(plain) | added
    assert not added & set(plain)
    enriched = limits["articles.enriched"]
    assert all(limits[name] == enriched for name in added)


class _Event:
    def __init__(self, message: Any) -> None:
        self.message = message


class _Stream:
    """What the agents iterate: take_events over fixed batches."""

    def __init__(self, batches: list[list[Any]]) -> None:
        self.batches = batches

    async def take_events(self, _size: int, **_within: float) -> Any:
        for batch in self.batches:
            yield [_Event(m) for m in batch]


def _message(topic: str, partition: int, offset: int) -> Any:
    return SimpleNamespace(
        topic=topic, partition=partition, offset=offset, key=b"k", value=b"[0]", headers=[]
    )


def test_a_batch_is_committed_after_it_is_handled_never_before_or_after_a_failure(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path)
    handled: list[int] = []

    async def handle(messages: list[Any]) -> None:
        assert len(h.commits) == len(handled)  # nothing committed before its delivery
        handled.append(len(messages))

    batches = [
        [_message("join", 0, 5), _message("join", 1, 2), _message("join", 0, 6)],
        [_message("join", 1, 3)],
    ]
    asyncio.run(h.finder._run(_Stream(batches), handle))
    assert h.commits == [
        {TP("join", 0): 7, TP("join", 1): 3},
        {TP("join", 1): 4},
    ]

    async def fail(_messages: list[Any]) -> None:
        raise RuntimeError("a bug")

    async def run_failing() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(h.finder._run(_Stream(batches), fail), 0.5)

    asyncio.run(run_failing())
    # The failed batch is held (the agent waits), nothing more is committed, and the
    # worker is told to stop, once.
    assert len(h.commits) == 2
    assert [type(e) for e in h.broken] == [RuntimeError]
