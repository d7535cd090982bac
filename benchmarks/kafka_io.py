"""The harness's own Kafka work: topics, feeding a backlog or a paced stream, reading back.

All clients come from :mod:`worker.kafka_clients` (kafka-python), so the security settings
reach them as they reach the worker. Topics are created with ``message.timestamp.type =
LogAppendTime``: every record's timestamp is then the broker's clock when it was
appended, for inputs and outputs alike, so rates and latencies are broker time (no
producer's clock or batching delay is in them).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.workload import Article
from worker.kafka_clients import new_admin, new_kafka_python_consumer, new_kafka_python_producer
from worker.settings import Settings
from worker.stream.topics import MAX_MESSAGE_BYTES, topic_limits

LOG_APPEND_TIME = 1  # kafka-python's record.timestamp_type for broker timestamps


@dataclass(frozen=True, slots=True)
class TopicSet:
    """One configuration's fresh topics and consumer group."""

    raw: str
    enriched: str
    dlq: str
    group: str

    @property
    def outputs(self) -> tuple[str, str]:
        return (self.enriched, self.dlq)

    @classmethod
    def named(cls, prefix: str) -> TopicSet:
        return cls(f"{prefix}.raw", f"{prefix}.enriched", f"{prefix}.dlq", prefix)


def create_topics(settings: Settings, topics: TopicSet) -> None:
    """Create ``topics`` with the worker's size limits and broker timestamps."""
    from kafka.admin import NewTopic

    named = dataclasses.replace(
        settings, raw_topic=topics.raw, enriched_topic=topics.enriched, dlq_topic=topics.dlq
    )
    limits = topic_limits(named)
    admin = new_admin(settings, client_id=f"{topics.group}-admin")
    try:
        admin.create_topics(
            [
                NewTopic(
                    name,
                    settings.topic_partitions,
                    settings.topic_replication_factor,
                    topic_configs={
                        MAX_MESSAGE_BYTES: str(limits[name][0]),
                        "message.timestamp.type": "LogAppendTime",
                    },
                )
                for name in (topics.raw, topics.enriched, topics.dlq)
            ]
        )
        admin.wait_for_topics([topics.raw, topics.enriched, topics.dlq], timeout_ms=30000)
    finally:
        admin.close()


def delete_all(settings: Settings, topics: Sequence[str], groups: Sequence[str]) -> list[str]:
    """Delete ``topics`` and consumer ``groups`` (each may be missing); the problems met."""
    problems: list[str] = []
    admin = new_admin(settings, client_id="bench-cleanup")
    try:
        existing = set(admin.list_topics())
        mine = [t for t in topics if t in existing]
        if mine:
            try:
                admin.delete_topics(mine, timeout_ms=30000)
            except Exception as exc:  # noqa: BLE001 - report it and go on cleaning up
                problems.append(f"delete_topics: {type(exc).__name__}: {exc}")
        for group in groups:
            try:
                admin.delete_groups([group])
            except Exception as exc:  # noqa: BLE001 - never created (a run that failed early)
                if "GroupIdNotFound" not in type(exc).__name__ + str(exc):
                    problems.append(f"delete_groups {group}: {type(exc).__name__}: {exc}")
    finally:
        admin.close()
    return problems


def send(
    settings: Settings,
    topic: str,
    articles: Iterable[Article],
    rate: float = 0.0,
) -> float:
    """Send ``articles`` to ``topic`` (at ``rate`` per second if given, else at once) and
    wait until all are acknowledged; the seconds sending took."""
    # A backlog goes in large batches (it is not measured); a paced feed in small ones,
    # so that no message waits in the producer for the next.
    producer = new_kafka_python_producer(
        settings,
        acks="all",
        linger_ms=5 if rate else 50,
        batch_size=16 * 1024 if rate else 1024 * 1024,
        max_request_size=settings.output_max_bytes,
    )
    start = time.monotonic()
    try:
        for n, article in enumerate(articles):
            if rate:
                wait = start + n / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            producer.send(topic, key=article.key, value=article.value)
        producer.flush(timeout=120)
        return time.monotonic() - start
    finally:
        producer.close()


def _partitions(consumer: Any, topics: Iterable[str]) -> list[Any]:
    from kafka import TopicPartition

    return [
        TopicPartition(topic, p)
        for topic in topics
        for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]


def wait_for_outputs(
    settings: Settings,
    topics: Sequence[str],
    count: int,
    *,
    stall_seconds: float,
    alive: Callable[[], bool] = lambda: True,
) -> int:
    """Wait until ``topics`` hold ``count`` records between them (end offsets only, so the
    measured process keeps the CPU); the number found. Gives up when the number has not
    grown for ``stall_seconds`` or ``alive()`` turns false."""
    consumer = new_kafka_python_consumer(settings, enable_auto_commit=False)
    try:
        tps = _partitions(consumer, topics)
        found, last, moved = 0, -1, time.monotonic()
        while True:
            found = sum(consumer.end_offsets(tps).values())
            if found >= count or not alive():
                return found
            if found != last:
                last, moved = found, time.monotonic()
            elif time.monotonic() - moved > stall_seconds:
                return found
            time.sleep(0.5)
    finally:
        consumer.close()


@dataclass(frozen=True, slots=True)
class Records:
    """What a topic set holds: key -> first broker timestamp (ms), and counts."""

    stamps: dict[bytes, int]
    records: int
    per_topic: dict[str, int]
    log_append_time: bool
    reasons: dict[str, int]  # dead letters by x-reject-reason


def read_all(settings: Settings, topics: Sequence[str], timeout: float = 120.0) -> Records:
    """Every record of ``topics`` up to their current end: key -> timestamp of its first
    record, and the record counts (more records than keys means duplicates)."""
    consumer = new_kafka_python_consumer(
        settings, enable_auto_commit=False, max_partition_fetch_bytes=8 * 1024 * 1024
    )
    try:
        tps = _partitions(consumer, topics)
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        consumer.seek_to_beginning(*tps)
        stamps: dict[bytes, int] = {}
        per_topic = dict.fromkeys(topics, 0)
        records, log_append = 0, True
        reasons: dict[str, int] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(consumer.position(tp) >= ends[tp] for tp in tps):
                break
            for tp, batch in consumer.poll(timeout_ms=500).items():
                for record in batch:
                    if record.offset >= ends[tp]:
                        continue
                    records += 1
                    per_topic[tp.topic] += 1
                    log_append = log_append and record.timestamp_type == LOG_APPEND_TIME
                    stamps.setdefault(record.key, record.timestamp)
                    for name, value in record.headers or ():
                        if name == "x-reject-reason":
                            reason = value.decode("utf-8", "replace")
                            reasons[reason] = reasons.get(reason, 0) + 1
        return Records(stamps, records, per_topic, log_append, reasons)
    finally:
        consumer.close()


def broker_version(settings: Settings) -> str | None:
    """The broker's version as kafka-python infers it from the API versions it offers."""
    admin = new_admin(settings, client_id="bench-version")
    try:
        brokers = admin.describe_cluster()["brokers"]
        data = admin.get_broker_version_data(brokers[0]["broker_id"])
        return str(data.broker_version_str)
    except Exception:  # noqa: BLE001 - a description, not a measurement
        return None
    finally:
        admin.close()
