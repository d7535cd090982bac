"""Readiness rules."""

from __future__ import annotations

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
