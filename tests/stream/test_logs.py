"""The repeat filter: a noisy library's same message passes a few times per window."""

from __future__ import annotations

import logging

from worker.stream.logs import RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_repeats_are_held_back_and_counted() -> None:
    clock = Clock()
    repeat = RepeatFilter(burst=3, window=60, clock=clock)
    passed = [
        repeat.filter(record("aiokafka.conn", "Unable connect to node %s", n)) for n in range(500)
    ]
    assert passed.count(True) == 3
    clock.now += 61
    again = record("aiokafka.conn", "Unable connect to node %s", 1)
    assert repeat.filter(again)
    assert "[497 similar messages held back in 60 s]" in again.getMessage()


def test_the_workers_own_messages_and_distinct_templates_pass() -> None:
    repeat = RepeatFilter(burst=1, window=60, clock=Clock())
    assert all(repeat.filter(record("article_worker", "same")) for _ in range(10))
    assert repeat.filter(record("aiokafka.conn", "one"))
    assert repeat.filter(record("aiokafka.conn", "two"))
    assert not repeat.filter(record("aiokafka.conn", "two"))
