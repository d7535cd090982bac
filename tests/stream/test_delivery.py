"""Sends retried until acknowledged: Kafka errors are retried with the outage reported,
anything else (a bug) propagates at once."""

from __future__ import annotations

import asyncio

import aiokafka.errors
import pytest

from tests.stream.fakes import FakeTable, FakeTopic
from worker.stream.delivery import changelog_writes, deliver, sender
from worker.stream.health import Outage


def test_a_refused_send_is_retried_and_the_outage_reported() -> None:
    topic, outage = FakeTopic("t"), Outage()
    seen: list[tuple[bool, int]] = []
    topic.on_call = lambda: seen.append((outage.since is not None, outage.failures))
    topic.raises = [aiokafka.errors.KafkaConnectionError("down")] * 2
    asyncio.run(deliver([sender(topic, b"k", b"{}")], outage))
    assert [s.key for s in topic.sent] == [b"k"]
    assert seen == [(False, 0), (True, 1), (True, 2)]  # failing while retried
    assert (outage.since, outage.failures) == (None, 0)  # then recovered


def test_a_failed_acknowledgement_is_retried() -> None:
    topic, outage = FakeTopic("t"), Outage()
    topic.fails = [aiokafka.errors.KafkaConnectionError("down")]
    asyncio.run(deliver([sender(topic, b"k", b"{}", partition=3)], outage))
    assert [(s.key, s.partition) for s in topic.sent] == [(b"k", 3)]
    assert topic.calls == 2
    assert outage.since is None


def test_only_what_failed_is_sent_again() -> None:
    ok, refusing, outage = FakeTopic("ok"), FakeTopic("refusing"), Outage()
    refusing.fails = [aiokafka.errors.KafkaTimeoutError("slow")]
    asyncio.run(deliver([sender(ok, b"a", b"1"), sender(refusing, b"b", b"2")], outage))
    assert (ok.calls, refusing.calls) == (1, 2)
    assert [s.key for s in ok.sent + refusing.sent] == [b"a", b"b"]


@pytest.mark.parametrize("where", ["send", "acknowledgement"])
def test_a_non_kafka_error_is_not_retried(where: str) -> None:
    topic, outage = FakeTopic("t"), Outage()
    if where == "send":
        topic.raises = [ValueError("a bug")]
    else:
        topic.fails = [ValueError("a bug")]
    with pytest.raises(ValueError, match="a bug"):
        asyncio.run(deliver([sender(topic, b"k", b"{}")], outage))
    assert topic.calls == 1
    assert topic.sent == []
    assert outage.failures == 0


def test_changelog_writes_carry_each_keys_last_value() -> None:
    table, outage = FakeTable(), Outage()
    changes = {b"a": (1, b"x"), b"b": (2, None)}
    asyncio.run(deliver(changelog_writes(table, changes), outage))
    assert table.changelog == [(1, b"a", b"x"), (2, b"b", None)]
