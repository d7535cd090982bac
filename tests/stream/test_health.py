"""Readiness rules."""

from __future__ import annotations

from typing import Any

from worker.stream.health import Health


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_readiness_lifecycle() -> None:
    clock = Clock()
    health = Health(stall_seconds=10, clock=clock)
    assert health.readiness() == (False, "starting")
    health.started = True
    assert health.readiness()[0] is False
    health.joined()
    assert health.readiness() == (True, "ok")
    health.lag = 5
    clock.now += 11
    ready, reason = health.readiness()
    assert not ready
    assert reason.startswith("stalled: lag 5")
    health.mark_progress()
    assert health.readiness() == (True, "ok")
    health.lag = 0
    clock.now += 1000
    assert health.readiness() == (True, "ok")  # idle without lag is healthy
    health.stopping = True
    assert health.readiness() == (False, "stopping")


def test_lag_after_an_idle_spell_is_not_a_stall() -> None:
    clock = Clock()
    health = Health(stall_seconds=10, clock=clock)
    health.started = True
    health.joined()
    clock.now += 3600  # idle for an hour, no lag
    health.set_lag(50)  # a burst arrives
    assert health.readiness() == (True, "ok")
    clock.now += 11
    health.set_lag(50)
    assert health.readiness()[1].startswith("stalled: lag 50")


def test_an_outage_turns_not_ready_after_stall_seconds_and_back() -> None:
    clock = Clock()
    health = Health(stall_seconds=10, clock=clock)
    health.started = True
    health.joined()
    health.outage.failing(ConnectionError("refused"))
    assert health.readiness() == (True, "ok")  # a blip is not an outage
    clock.now += 10
    health.outage.failing(ConnectionError("refused"))
    ready, reason = health.readiness()
    assert not ready
    assert reason.startswith("cannot reach Kafka for 10 s: ConnectionError: refused")
    health.outage.recovered()
    assert health.readiness() == (True, "ok")


def test_outputs_waiting_too_long_are_not_ready() -> None:
    clock = Clock()
    health = Health(stall_seconds=10, clock=clock)
    health.started = True
    health.joined()
    health.publishing_since = clock.now
    clock.now += 12
    assert health.readiness() == (False, "outputs not acknowledged for 12 s")


def test_outage_is_logged_once_then_reminded(caplog: Any) -> None:
    clock = Clock()
    health = Health(stall_seconds=10, clock=clock)
    with caplog.at_level("WARNING", logger="article_worker"):
        for _ in range(1000):  # a thousand failures in the first minute
            health.outage.failing(TimeoutError("no answer"))
            clock.now += 0.05
        clock.now += 60
        health.outage.failing(TimeoutError("no answer"))
        health.outage.recovered()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3, messages
    assert messages[0].startswith("cannot reach Kafka")
    assert "still unreachable" in messages[1]
    assert messages[2].startswith("Kafka reachable again after 110 s (1001 failures)")
