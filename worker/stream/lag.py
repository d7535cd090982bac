"""Consumer lag: the raw topic's high-water marks minus where the worker stands.

Where the worker stands on a partition is the offset after its last published batch
(:attr:`~worker.stream.runner.BatchRunner.positions`); before its first batch there, the
group's committed offset, else the log start (``auto_offset_reset`` is earliest). The
group's offsets come from a kafka-python admin client, made on first need.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faust.types import TP

from worker.kafka_clients import KAFKA_ERRORS, new_admin
from worker.settings import Settings
from worker.stream.health import Health
from worker.stream.metrics import Metrics

log = logging.getLogger("article_worker")

#: Longest a lag estimate may take; a broker that does not answer in time is "down".
LAG_TIMEOUT_SECONDS = 10.0
LAG_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, *KAFKA_ERRORS)
#: While Kafka is away, a lag request is only a probe for its return, so it is short and
#: made at most this often: aiokafka retries it every ``retry_backoff_ms`` for as long as
#: it may, and at the normal timeout the probes alone kept a reconnect loop busy.
OUTAGE_PROBE_SECONDS = 2.0
OUTAGE_PROBE_EVERY_SECONDS = 5.0


class LagEstimator:
    """Sets the lag gauges and the health's lag from ``app``'s consumer and ``positions``.

    Args:
        app: the Faust app (its consumer gives high-water marks and log starts).
        settings, metrics, health: the worker's.
    """

    def __init__(self, app: Any, settings: Settings, metrics: Metrics, health: Health) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics
        self.health = health
        #: The offset after the last published batch of each partition (the runner's).
        self.positions: dict[TP, int] = {}
        self._admin: Any = None
        self._last_probe = float("-inf")

    async def update(self, tps: set[TP]) -> None:
        """One estimate over ``tps``; never raises (a failure marks an outage)."""
        timeout = LAG_TIMEOUT_SECONDS
        if self.health.outage.since is not None:
            now = self.health.clock()
            if now - self._last_probe < OUTAGE_PROBE_EVERY_SECONDS:
                return
            self._last_probe, timeout = now, OUTAGE_PROBE_SECONDS
        try:
            await asyncio.wait_for(self._compute(sorted(tps)), timeout)
        except LAG_ERRORS as exc:
            # A lag estimate that cannot be had says the broker is away; it must never
            # end the worker (Faust treats a timer's exception as a crash).
            self.health.outage.failing(exc if str(exc) else TimeoutError("lag request timed out"))
        except Exception as exc:  # noqa: BLE001 - an estimate; never worth a crash
            log.debug("lag estimate failed: %r", exc)

    async def _compute(self, tps: list[TP]) -> None:
        total = 0
        if tps:
            highwaters = await self.app.consumer.highwaters(*tps)
            resting: dict[TP, int] | None = None
            for tp in tps:
                # Before the first batch of a partition is published, its committed
                # offset (or its start, if none) is where the worker stands.
                position = self.positions.get(tp)
                if position is None:
                    if resting is None:
                        resting = await self._resting_positions(tps)
                    position = resting.get(tp)
                if position is None:
                    continue
                lag = max(0, highwaters.get(tp, position) - position)
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(lag)
                total += lag
        self.health.set_lag(total)
        if self.health.publishing_since is None:
            # An idle worker has no publish or commit to see Kafka come back: without
            # this, an outage the lag request saw would keep it not-ready for good. With
            # outputs in flight, their acknowledgement is what ends the outage.
            self.health.outage.recovered()

    def _group_offsets(self, tps: list[TP]) -> dict[TP, int]:
        """The group's committed offsets (kafka-python admin; run in a thread)."""
        from kafka import TopicPartition

        if self._admin is None:
            self._admin = new_admin(self.settings, client_id=f"{self.settings.app_id}-lag")
        group = self.settings.app_id
        offsets = self._admin.list_group_offsets({group: None}).get(group, {})
        found = {tp: offsets.get(TopicPartition(tp.topic, tp.partition)) for tp in tps}
        return {tp: o.offset for tp, o in found.items() if o is not None and o.offset >= 0}

    async def committed_offset(self, tp: TP) -> int:
        """The group's committed offset of ``tp``, -1 if none."""
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, self._group_offsets, [tp])
        return found.get(tp, -1)

    async def _resting_positions(self, tps: list[TP]) -> dict[TP, int]:
        """Where the group stands on partitions this worker has not published yet: the
        committed offset, else the log start (``auto_offset_reset`` is earliest)."""
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, self._group_offsets, tps)
        missing = [tp for tp in tps if tp not in found]
        if missing:
            earliest = await self.app.consumer.earliest_offsets(*missing)
            # The driver may key its answer by its own TopicPartition type.
            found.update({TP(k.topic, k.partition): v for k, v in earliest.items()})
        return found

    def close(self) -> None:
        """Close the admin client, if one was made."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
