"""Duplicates across feeds, in the stream: two Faust agents, two changelog-backed tables.

With ``dedup_enabled`` the enrich agent publishes each record to the internal *join*
topic (keyed by article id) instead of the enriched topic. From there:

1. **join agent, a record arrives**: it is kept in the ``dedup-pending`` table and its
   four band candidates (id, simhash, content hash, source timestamp) are sent to the
   *bands* topic, each keyed by its band value (``"<band>:<16 bits hex>"``), so the
   candidates of one band value meet on one partition, whichever raw partition and
   worker they came from.
2. **bands agent**: looks the candidate up in the ``dedup-buckets`` table (band value ->
   the articles of the window holding it), finds the earliest earlier copy within the
   distance (:func:`~worker.enrich.duplicates.best_match`), adds the candidate, and
   sends the band's verdict back to the join topic, to its record's partition (keyed by
   the record's name): it lands after the record.
3. **join agent, a verdict arrives**: stored beside the record; with all four, the
   record is published to the enriched topic with ``duplicate_of`` (the earliest of the
   four matches), ``duplicate_distance`` and ``duplicate_kind``, and, when it is first
   seen, to the unique topic; then the pending entries are deleted.

Delivery is at least once, as for the raw topic, and for the same reason the offsets are
ours, not Faust's: Faust's acknowledgements are off for both internal topics (it acks
events it skips after a rebalance, so its commits could pass messages never processed),
and a batch's offsets go to ``commit`` (the worker's consumer committer) only after its
outputs and table changes are acknowledged by the broker. A replayed record is fanned
out again and its verdicts are the same (the verdict order is ``(timestamp, id, ref)``,
not arrival); a verdict for a record already published is ignored. A record whose
verdicts do not all come within ``dedup_wait_seconds`` (a bands partition stuck in
recovery) is published with those that came, so nothing waits for ever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import faust
import orjson
from faust.types import TP

from worker.enrich import duplicates as dup
from worker.settings import Settings
from worker.stream.delivery import Changes, Start, changelog_writes, deliver, sender
from worker.stream.guard import OffsetGuard
from worker.stream.health import Health
from worker.stream.metrics import DedupMetrics
from worker.stream.processor import record_headers
from worker.stream.runner import SeekBack, admit_runs

log = logging.getLogger("article_worker")

#: Bytes the three duplicate fields add to a record: the enrich stage keeps this much
#: under ``output_max_bytes`` so that the marked record still fits.
DEDUP_HEADROOM = 512
SOURCE_TIMESTAMP_HEADER = "x-source-timestamp"
SWEEP_SECONDS = 10.0
_SWEEP_CHUNK = 2000
_VERDICT = b"\x00"


class DuplicateFinder:
    """The join and bands agents, their tables and the sweep, on ``app``.

    Args:
        app: the worker's Faust app (declare before it starts).
        settings: validated settings (``dedup_*``, topics, batch size).
        metrics: the duplicate metrics, updated as verdicts are published.
        health: its outage state is set while the broker refuses sends.
        on_broken: called once if a batch fails unexpectedly (a bug): the worker exits.
        commit: takes ``{TP: next offset}`` of a delivered batch, to be committed.
        guard, seek_back: as for :class:`~worker.stream.runner.BatchRunner`: each
            partition's messages are handled only in an unbroken run.
    """

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        metrics: DedupMetrics,
        health: Health,
        *,
        on_broken: Callable[[BaseException], None],
        commit: Callable[[dict[Any, int]], None],
        guard: OffsetGuard | None = None,
        seek_back: SeekBack | None = None,
    ) -> None:
        s = settings
        self.guard = guard
        self.seek_back = seek_back
        self.app = app
        self.settings = s
        self.metrics = metrics
        self.health = health
        self.on_broken = on_broken
        self.commit = commit
        # acks=False: Faust never commits these; _run does, after delivery.
        self.join_topic = app.topic(
            s.dedup_join_topic, key_type=bytes, value_type=bytes, acks=False
        )
        self.bands_topic = app.topic(
            s.dedup_bands_topic, key_type=bytes, value_type=bytes, acks=False
        )
        self.enriched_topic = app.topic(s.enriched_topic, key_type=bytes, value_type=bytes)
        self.unique_topic = app.topic(s.unique_topic, key_type=bytes, value_type=bytes)
        self.pending = app.Table(
            "dedup-pending",
            key_type=bytes,
            value_type=bytes,
            partitions=s.topic_partitions,
            help="Records waiting for their band verdicts, and the verdicts come so far.",
        )
        # Buckets not written for longer than the window hold nothing that can match:
        # the changelog may delete them (compaction keeps the last of the others).
        retention_ms = int((s.dedup_window_seconds + 86_400) * 1000)
        self.buckets = app.Table(
            "dedup-buckets",
            key_type=bytes,
            value_type=bytes,
            partitions=s.topic_partitions,
            extra_topic_configs={
                "cleanup.policy": "compact,delete",
                "retention.ms": str(retention_ms),
            },
            help="Band value -> the window's articles holding it.",
        )
        #: Per bands partition, the newest source timestamp seen (bucket expiry).
        self.newest: dict[int, float] = {}
        self._lock = asyncio.Lock()  # the join agent and the sweep both complete records
        self._broken = False
        app.agent(self.join_topic, name="dedup-join", concurrency=1)(self._join_agent)
        app.agent(self.bands_topic, name="dedup-bands", concurrency=1)(self._bands_agent)
        app.timer(interval=SWEEP_SECONDS, name="dedup-sweep")(self.sweep)

    # -- the agents --------------------------------------------------------------------

    async def _join_agent(self, stream: Any) -> None:
        await self._run(stream, self._join_batch)

    async def _bands_agent(self, stream: Any) -> None:
        await self._run(stream, self._bands_batch)

    async def _run(self, stream: Any, handle: Callable[[list[Any]], Awaitable[None]]) -> None:
        s = self.settings
        async for events in stream.take_events(s.batch_size, within=s.batch_wait_seconds):
            messages = [event.message for event in events]
            keep = await admit_runs(self.guard, self.seek_back, messages)
            if keep is not None:
                messages = [messages[i] for i in keep]
                if not messages:
                    continue
            try:
                await handle(messages)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                # Nothing of this batch is committed: hold it here (a later batch must
                # not be committed past it) and have the worker restart.
                log.critical("a dedup batch failed unexpectedly; stopping", exc_info=exc)
                if not self._broken:
                    self._broken = True
                    self.on_broken(exc)
                await asyncio.Event().wait()
            offsets: dict[Any, int] = {}
            for message in messages:
                tp = TP(message.topic, message.partition)
                offsets[tp] = max(offsets.get(tp, 0), message.offset + 1)
            self.commit(offsets)

    async def _join_batch(self, messages: list[Any]) -> None:
        async with self._lock:
            changes: Changes = {}
            sends: list[Start] = []
            done: list[tuple[dup.Match | None, float]] = []
            data = self.pending.data
            for message in messages:
                key, value, partition = message.key, message.value, message.partition
                if not key or not value:
                    continue
                if value[:1] == b"{":
                    self._on_record(message, changes, sends)
                elif key in data:  # else a verdict of a record already published
                    # A verdict's key is its record's reference (pending key), not the id.
                    band, _ = dup.decode_match(value)
                    verdict_key = key + _VERDICT + b"%d" % band
                    data[verdict_key] = value
                    changes[verdict_key] = (partition, value)
                    if all(key + _VERDICT + b"%d" % i in data for i in range(dup.BANDS)):
                        done.append(self._complete(key, partition, changes, sends))
            await self._settle(changes, sends)
        self._account(done)

    def _on_record(self, message: Any, changes: Changes, sends: list[Start]) -> None:
        record, partition = message.value, message.partition
        fields = orjson.loads(record)
        timestamp = source_timestamp(message)
        # Each record message is its own entry, even when two share an id (a re-send):
        # its place in the join topic names it, and stays the same when it is read again.
        # Zero-padded, so that the same id enriched again (a replay of the enrich stage
        # lands further on in the same partition) sorts after its first copy.
        ref = f"{partition}:{message.offset:012d}"
        article = dup.candidate(
            fields["id"], fields["simhash"], fields["content_hash"], timestamp, ref
        )
        meta = [timestamp, time.time(), partition, fields.get("schema_version", 1), fields["id"]]
        stored = orjson.dumps(meta) + b"\n" + record
        pending_key = ref.encode()
        self.pending.data[pending_key] = stored
        changes[pending_key] = (partition, stored)
        candidate = orjson.dumps(
            [article.id, article.simhash, article.content_hash, article.timestamp, article.ref]
        )
        for band, value in enumerate(dup.bands(article.simhash)):
            sends.append(sender(self.bands_topic, dup.band_key(band, value), candidate))

    def _complete(
        self,
        key: bytes,
        partition: int,
        changes: Changes,
        sends: list[Start],
    ) -> tuple[dup.Match | None, float]:
        """Publish the pending record ``key`` with the verdicts it has; forget it."""
        data = self.pending.data
        meta, record = _split_pending(data[key])
        matches = []
        for band in range(dup.BANDS):
            verdict = data.pop(key + _VERDICT + b"%d" % band, None)
            if verdict is not None:
                matches.append(dup.decode_match(verdict)[1])
                changes[key + _VERDICT + b"%d" % band] = (partition, None)
        del data[key]
        changes[key] = (partition, None)
        match = dup.earliest(matches)
        marked = dup.mark_record(record, match)
        headers = record_headers(meta[3])
        article_key = str(meta[4]).encode()
        sends.append(sender(self.enriched_topic, article_key, marked, headers))
        if match is None:
            sends.append(sender(self.unique_topic, article_key, marked, headers))
        return match, float(meta[1])

    async def _bands_batch(self, messages: list[Any]) -> None:
        window, distance = self.settings.dedup_window_seconds, self.settings.dedup_max_distance
        changes: Changes = {}
        sends: list[Start] = []
        data = self.buckets.data
        cap = time.time() + 3600.0  # a clock far ahead must not expire the whole index
        for message in messages:
            key, value, partition = message.key, message.value, message.partition
            if not key or not value:
                continue
            article = dup.Candidate(*orjson.loads(value))
            timestamp = article.timestamp
            newest = max(self.newest.get(partition, float("-inf")), min(timestamp, cap))
            self.newest[partition] = newest
            entries = dup.decode_entries(data.get(key))
            match = dup.best_match(article, entries, max_distance=distance, window=window)
            kept = dup.with_entry(entries, article, newest=newest, window=window, match=match)
            encoded = dup.encode_entries(kept) if kept else None
            if encoded is None:
                data.pop(key, None)
            else:
                data[key] = encoded
            changes[key] = (partition, encoded)
            band = int(key.split(b":", 1)[0])
            verdict = dup.encode_match(band, match)
            # To the record's own join partition, keyed by its reference.
            home = int(article.ref.split(":", 1)[0])
            reply = sender(self.join_topic, article.ref.encode(), verdict, partition=home)
            sends.append(reply)
        await deliver(changelog_writes(self.buckets, changes) + sends, self.health.outage)

    # -- publishing --------------------------------------------------------------------

    async def _settle(self, changes: Changes, sends: list[Start]) -> None:
        """Deliver a join batch: the outputs and new pending entries first, the deletions
        of published records only after those are acknowledged. A worker killed between
        the two publishes those records again (a duplicate); the other order could leave
        a record deleted whose output never arrived."""
        written = {k: v for k, v in changes.items() if v[1] is not None}
        deleted = {k: v for k, v in changes.items() if v[1] is None}
        await deliver(changelog_writes(self.pending, written) + sends, self.health.outage)
        if deleted:
            await deliver(changelog_writes(self.pending, deleted), self.health.outage)

    def _account(self, done: Iterable[tuple[dup.Match | None, float]]) -> None:
        now = time.time()
        m = self.metrics
        for match, arrived in done:
            if match is None:
                m.unique.inc()
            else:
                m.duplicates.labels(match.kind).inc()
            m.delay.observe(max(0.0, now - arrived))

    # -- the sweep ---------------------------------------------------------------------

    async def sweep(self) -> None:
        """Publish records waited on too long, forget expired buckets, and set the gauges.
        Runs every :data:`SWEEP_SECONDS`."""
        if self._broken:
            return
        await self._sweep_pending()
        await self._sweep_buckets()

    async def _sweep_pending(self) -> None:
        assigned = self._assigned(self.join_topic)
        wait = self.settings.dedup_wait_seconds
        async with self._lock:
            data = self.pending.data
            now = time.time()
            records = [k for k in list(data) if _VERDICT not in k]
            changes: Changes = {}
            sends: list[Start] = []
            done = []
            for key in records:
                meta, _ = _split_pending(data[key])
                partition = int(meta[2])
                # A record of a partition not held now is left alone: its owner publishes
                # it, and forgetting it here could lose it if the partition came back
                # without the table being read again from the changelog.
                if partition in assigned and now - float(meta[1]) > wait:
                    log.warning(
                        "published %s after %.0f s without all its band verdicts",
                        key.decode(errors="replace"),
                        now - float(meta[1]),
                    )
                    done.append(self._complete(key, partition, changes, sends))
            if changes or sends:
                await self._settle(changes, sends)
            self._account(done)
            held = [k for k in list(data) if _VERDICT not in k]
            self.metrics.pending.set(
                sum(1 for k in held if int(_split_pending(data[k])[0][2]) in assigned)
            )

    async def _sweep_buckets(self) -> None:
        window = self.settings.dedup_window_seconds
        data = self.buckets.data
        now = time.time()
        keys = list(data)
        newest = max(self.newest.values(), default=now)
        entries = 0
        for start in range(0, len(keys), _SWEEP_CHUNK):
            # Chunks, so that a large index does not hold the event loop.
            for key in keys[start : start + _SWEEP_CHUNK]:
                bucket = data.get(key)
                if bucket is None:
                    continue
                kept = dup.decode_entries(bucket)
                if all(e.timestamp < newest - window for e in kept):
                    # Dropped from memory only: the changelog's retention removes it there.
                    data.pop(key, None)
                else:
                    entries += len(kept)
            await asyncio.sleep(0)
        self.metrics.entries.set(entries)

    def _assigned(self, topic: Any) -> set[int]:
        name = topic.get_topic_name()
        return {tp.partition for tp in self.app.consumer.assignment() if tp.topic == name}


def source_timestamp(message: Any) -> float:
    """The raw message's timestamp, carried in a header by the enrich stage; else the
    join message's own."""
    headers = message.headers or ()
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if name == SOURCE_TIMESTAMP_HEADER:
            return float(value)
    return float(message.timestamp or time.time())


def source_header(timestamp: float | None) -> tuple[str, bytes]:
    """The header the enrich stage adds to a record bound for the join topic."""
    return (SOURCE_TIMESTAMP_HEADER, repr(timestamp if timestamp else time.time()).encode())


def _split_pending(stored: bytes) -> tuple[list[Any], bytes]:
    head, record = stored.split(b"\n", 1)
    return orjson.loads(head), record
