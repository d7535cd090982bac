"""Poison messages among valid articles, on the real broker: every valid article comes out,
and the poison is in the dead-letter topic with a reason, whatever Kafka refused on the way.

The test topics are made with the broker's default 1 MB message limit while the worker may
write up to 4 MiB, so the broker-side refusal and the dead-letter ladder are exercised too.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from tests.conftest import SEEDS
from tests.stream.conftest import Topics, consume

pytestmark = pytest.mark.kafka

BIG = 16 * 1024 * 1024


def _nested(depth: int) -> bytes:
    """JSON nested ``depth`` levels (written by hand: orjson refuses more than 255)."""
    return b'{"k":' * depth + b'"leaf"' + b"}" * depth


POISONS: dict[str, tuple[bytes | None, bytes, set[str]]] = {
    # an 11.7 MB record from a 600 KB article: over the worker's 4 MiB output limit
    "record_over_output_limit": (b"poison", b"1 " * 300_000, {"output_too_large"}),
    # a 1,000,000-character line: its record (about 3 MB) is refused by the 1 MB topic
    "record_refused_by_topic": (b"poison", b"a" * 1_000_000, {"output_too_large"}),
    # a 10 MB input: too large, and its dead letter too large for the dead-letter topic
    "input_of_10_mb": (b"poison", b"x" * 10_000_000, {"too_large"}),
    # a 500 KB id, also the key (feed keys JSON articles by id)
    "id_of_500_kb": (
        b"i" * 500_000,
        orjson.dumps({"id": "i" * 500_000, "body": "A short valid body."}),
        {"bad_field"},  # the core refuses an id over 512 characters
    ),
    # extra nested 300 levels (orjson writes at most 255)
    "extra_nested_300_deep": (
        b"poison",
        b'{"body": "A short valid body.", "meta": ' + _nested(300) + b"}",
        {"bad_field"},  # the core refuses nesting deeper than 64
    ),
}


def _articles(count: int) -> list[tuple[bytes, bytes]]:
    body = (SEEDS / "000_5ed99ae0c0ed6bfe.txt").read_text(encoding="utf-8")
    return [(f"a-{i}".encode(), orjson.dumps({"id": f"a-{i}", "body": body})) for i in range(count)]


def _allow_big_raw_messages(bootstrap: str, topic: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": str(BIG)}
                )
            ]
        )
    finally:
        admin.close()


@pytest.mark.parametrize("kind", sorted(POISONS))
def test_poison_among_1000_valid_articles(
    kind: str, bootstrap: str, topics: Topics, start_worker: Any
) -> None:
    key, poison, reasons = POISONS[kind]
    _allow_big_raw_messages(bootstrap, topics.raw)
    articles = _articles(1000)
    # The 600 KB article of 300,000 numbers takes the core seconds; this test is about
    # its size, so it gets time enough to reach the size limit.
    worker = start_worker(topics, ARTICLE_WORKER_ARTICLE_TIMEOUT_SECONDS="60")
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=BIG)
    try:
        for k, v in articles[:500]:
            producer.send(topics.raw, key=k, value=v)
        producer.send(topics.raw, key=key, value=poison)
        for k, v in articles[500:]:
            producer.send(topics.raw, key=k, value=v)
        producer.flush()
    finally:
        producer.close()

    out = consume(bootstrap, topics.enriched, 0, timeout=120, keys={k for k, _ in articles})
    missing = {k for k, _ in articles} - {m.key for m in out}
    assert not missing, f"{len(missing)} valid articles lost\n{worker.log.read_text()[-4000:]}"

    dead = consume(bootstrap, topics.dlq, 1, timeout=30)
    assert len(dead) == 1, [dict(m.headers).get("x-reject-reason") for m in dead]
    letter = dead[0]
    headers = dict(letter.headers)
    assert headers["x-reject-reason"].decode() in reasons
    assert headers["x-source-topic"].decode() == topics.raw
    assert int(headers["x-source-offset"]) >= 0
    assert poison.startswith(letter.value)  # the original, or a prefix of it
    if len(letter.value) < len(poison):
        assert int(headers["x-original-bytes"]) == len(poison)

    deadline = time.monotonic() + 15
    while (
        worker.metric("article_worker_messages_consumed_total") < 1001
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert worker.metric("article_worker_messages_consumed_total") == 1001
    assert worker.metric("article_worker_articles_enriched_total") == 1000
    assert worker.proc.poll() is None  # one bad message never stops the stream
    assert worker.stop() == 0
