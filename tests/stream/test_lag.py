"""The lag estimate: gauges, and what its success or failure says about Kafka's reach."""

from __future__ import annotations

import asyncio

from faust.types import TP
from kafka.errors import KafkaConnectionError

from tests.stream.test_health import Clock
from worker.settings import Settings
from worker.stream.health import Health
from worker.stream.lag import OUTAGE_PROBE_EVERY_SECONDS, LagEstimator
from worker.stream.metrics import create_metrics

RAW = TP("articles.raw", 0)


class FakeConsumer:
    """High-water marks from a dict, or the error a dead broker gives."""

    def __init__(self) -> None:
        self.highwater = 10
        self.error: BaseException | None = None
        self.calls = 0

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return dict.fromkeys(tps, self.highwater)


class FakeApp:
    def __init__(self) -> None:
        self.consumer = FakeConsumer()


def _estimator(clock: Clock) -> tuple[LagEstimator, FakeApp, Health]:
    app = FakeApp()
    health = Health(stall_seconds=10, clock=clock)
    health.started = True
    health.joined()
    lag = LagEstimator(app, Settings(), create_metrics(process=False), health)
    lag.positions[RAW] = 4
    return lag, app, health


def test_a_lag_estimate_sets_the_gauge_and_the_health_lag() -> None:
    lag, _, health = _estimator(Clock())
    asyncio.run(lag.update({RAW}))
    assert health.lag == 6
    assert lag.metrics.lag.labels(RAW.topic, "0")._value.get() == 6  # type: ignore[attr-defined]


def test_an_idle_worker_sees_kafka_come_back_through_its_lag_request() -> None:
    clock = Clock()
    lag, app, health = _estimator(clock)
    app.consumer.error = KafkaConnectionError("broker down")
    asyncio.run(lag.update({RAW}))
    clock.now += 11
    assert health.readiness()[1].startswith("cannot reach Kafka for 11 s")
    app.consumer.error = None
    asyncio.run(lag.update({RAW}))
    assert health.readiness() == (True, "ok")
    assert health.outage.since is None


def test_with_outputs_in_flight_only_their_acknowledgement_ends_an_outage() -> None:
    # A broker that answers metadata but not produce requests is still an outage for
    # the stream; the lag request alone must not hide it (or log it as over every 5 s).
    clock = Clock()
    lag, app, health = _estimator(clock)
    app.consumer.error = KafkaConnectionError("broker down")
    asyncio.run(lag.update({RAW}))
    health.publishing_since = clock.now
    app.consumer.error = None
    asyncio.run(lag.update({RAW}))
    assert health.outage.since is not None


def test_while_kafka_is_away_the_lag_request_is_a_probe_every_5_s() -> None:
    clock = Clock()
    lag, app, health = _estimator(clock)
    app.consumer.error = KafkaConnectionError("broker down")
    asyncio.run(lag.update({RAW}))  # the failure that starts the outage
    for _ in range(10):  # the timer's next ten seconds, one a second
        clock.now += 1
        asyncio.run(lag.update({RAW}))
    assert app.consumer.calls == 1 + 2
    app.consumer.error = None
    clock.now += OUTAGE_PROBE_EVERY_SECONDS
    asyncio.run(lag.update({RAW}))
    assert health.outage.since is None
    asyncio.run(lag.update({RAW}))  # back to one request a tick
    assert app.consumer.calls == 1 + 2 + 2
