"""The Faust application: an agent that enriches raw articles, metrics, health, shutdown.

Delivery: the agent awaits the broker's acknowledgement of each output (enriched record
or dead letter) before it takes the next message, and Faust commits an offset only once
every message before it has been fully handled. A crash therefore loses nothing; at
worst a message is processed twice (at least once). ``processing_guarantee =
exactly_once`` switches Faust to Kafka transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from typing import Any, cast

import faust
from aiokafka.errors import KafkaError
from faust.types import TP
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from worker.settings import Settings
from worker.stream.health import Health
from worker.stream.metrics import Metrics, create_metrics
from worker.stream.offload import OffloadedProcessor, build_processor
from worker.stream.processor import Inbound, Outbound, Processor

log = logging.getLogger("article_worker")

PUBLISH_RETRY_MAX_SECONDS = 5.0
METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST.split(";", 1)[0] + "; version=0.0.4"


class PassthroughProcessor:
    """Forwards every message unchanged: the baseline the benchmark compares against."""

    def __init__(self, enriched_topic: str) -> None:
        self.enriched_topic = enriched_topic

    def process(self, message: Inbound) -> Outbound:
        return Outbound(self.enriched_topic, message.key, message.value or b"", [], None, None, 0.0)


class StreamWorker:
    """The Faust app wired to the enrichment core, metrics and health state.

    Args:
        settings: validated :class:`~worker.settings.Settings`.
        passthrough: forward messages unchanged instead of enriching (benchmark baseline).
    """

    def __init__(self, settings: Settings, *, passthrough: bool = False) -> None:
        self.settings = settings
        self.metrics: Metrics = create_metrics()
        self.health = Health(settings.stall_seconds)
        self._positions: dict[TP, int] = {}
        self._admin: Any = None  # a kafka-python admin client, made on first need
        self.processor: Processor | PassthroughProcessor
        self._offload: OffloadedProcessor | None = None
        if passthrough:
            self.processor = PassthroughProcessor(settings.enriched_topic)
        else:
            self.processor = build_processor(
                settings.gazetteer, settings.max_bytes, settings.enriched_topic, settings.dlq_topic
            )
            if settings.enrich_processes:
                self._offload = OffloadedProcessor(
                    self.processor,
                    settings.enrich_processes,
                    settings.gazetteer,
                    settings.max_bytes,
                )
        self.app = self._create_app()

    def _create_app(self) -> faust.App:
        s = self.settings
        app = faust.App(
            s.app_id,
            broker=s.broker,
            store="memory://",
            key_serializer="raw",
            value_serializer="raw",
            processing_guarantee=s.processing_guarantee,
            topic_partitions=s.topic_partitions,
            topic_replication_factor=s.topic_replication_factor,
            topic_disable_leader=True,
            consumer_auto_offset_reset="earliest",
            broker_commit_interval=1.0,
            producer_acks=-1,
            producer_compression_type=None
            if s.producer_compression == "none"
            else s.producer_compression,
            web_enabled=True,
            web_host=s.web_host,
            web_port=s.web_port,
            datadir=s.data_dir,
        )
        raw = app.topic(s.raw_topic, key_type=bytes, value_type=bytes)
        self.outputs = {
            name: app.topic(name, key_type=bytes, value_type=bytes)
            for name in (s.enriched_topic, s.dlq_topic)
        }
        app.agent(raw, name="enrich", concurrency=s.concurrency)(self._agent)
        app.timer(interval=s.lag_interval_seconds, name="consumer-lag")(self._update_lag)
        # mode's signal types want (sender, *args, signal=...) receivers; ours name their args.
        app.on_partitions_assigned.connect(cast(Any, self._on_assigned))
        app.on_partitions_revoked.connect(cast(Any, self._on_revoked))
        self._add_pages(app)
        return app

    # -- the agent ---------------------------------------------------------------------

    async def _agent(self, stream: Any) -> None:
        batch, wait = self.settings.batch_size, self.settings.batch_wait_seconds
        async for events in stream.take_events(batch, within=wait):
            # Faust acks these events only when this iteration is over, i.e. after every
            # output of the batch was acknowledged by the broker.
            await self.handle([event.message for event in events])

    async def handle(self, messages: list[Any]) -> None:
        """Process consumed messages and publish their outputs; returns once all are acked."""
        m = self.metrics
        m.consumed.inc(len(messages))
        m.input_bytes.inc(sum(len(msg.value) for msg in messages if msg.value))
        m.in_flight.inc(len(messages))
        try:
            inbound = [
                Inbound(msg.topic, msg.partition, msg.offset, msg.key, msg.value, msg.timestamp)
                for msg in messages
            ]
            if self._offload is not None:
                outs = await self._offload.process(inbound)
            else:
                outs = [self.processor.process(i) for i in inbound]
            await asyncio.gather(*(self._publish(out) for out in outs))
        finally:
            m.in_flight.dec(len(messages))
        now = time.time()
        for msg, out in zip(messages, outs, strict=True):
            m.processing.observe(out.duration)
            if msg.timestamp:
                m.end_to_end.observe(max(0.0, now - msg.timestamp))
            if out.reason is None:
                m.enriched.inc()
                if out.language:
                    m.language(out.language)
            else:
                m.reject(out.reason)
            tp = msg.tp
            self._positions[tp] = max(self._positions.get(tp, 0), msg.offset + 1)
        m.last_processed.set(now)
        self.health.mark_progress()

    async def _publish(self, out: Outbound) -> None:
        """Send and wait for the broker's acknowledgement, retrying while it is away."""
        topic = self.outputs[out.topic]
        delay = 0.1
        while True:
            try:
                pending = await topic.send(
                    key=out.key, value=out.value, headers=out.headers, force=True
                )
                await pending
                return
            except KafkaError as exc:
                # Not acknowledged: the input offset stays uncommitted, so retrying here
                # (or a restart) cannot lose the message.
                log.warning("publish to %s failed (%s); retrying in %.1f s", out.topic, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, PUBLISH_RETRY_MAX_SECONDS)

    # -- lag, group membership -----------------------------------------------------------

    async def _update_lag(self) -> None:
        consumer = self.app.consumer
        tps = [tp for tp in consumer.assignment() if tp.topic == self.settings.raw_topic]
        total = 0
        if tps:
            highwaters = await consumer.highwaters(*tps)
            for tp in tps:
                # Before the first message of a partition is processed, its committed
                # offset (or its start, if none) is where the worker stands.
                position = self._positions.get(tp)
                if position is None:
                    position = (await self._resting_positions(tps)).get(tp)
                if position is None:
                    continue
                lag = max(0, highwaters.get(tp, position) - position)
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(lag)
                total += lag
        self.health.lag = total

    async def _resting_positions(self, tps: list[TP]) -> dict[TP, int]:
        """Where the group stands on partitions this worker has not read from yet: the
        committed offset, else the log start (``auto_offset_reset`` is earliest)."""
        from kafka import TopicPartition
        from kafka.admin import KafkaAdminClient

        def committed() -> dict[TP, int]:
            if self._admin is None:
                self._admin = KafkaAdminClient(bootstrap_servers=self.settings.bootstrap_servers)
            group = self.settings.app_id
            offsets = self._admin.list_group_offsets({group: None}).get(group, {})
            found = {tp: offsets.get(TopicPartition(tp.topic, tp.partition)) for tp in tps}
            return {tp: o.offset for tp, o in found.items() if o is not None and o.offset >= 0}

        try:
            found = await asyncio.get_running_loop().run_in_executor(None, committed)
        except Exception as exc:  # noqa: BLE001 - lag is an estimate; try again next time
            log.debug("committed offsets unavailable: %s", exc)
            return {}
        missing = [tp for tp in tps if tp not in found]
        if missing:
            earliest = await self.app.consumer.earliest_offsets(*missing)
            # The driver may key its answer by its own TopicPartition type.
            found.update({TP(k.topic, k.partition): v for k, v in earliest.items()})
        return found

    async def _on_assigned(self, _sender: Any, assigned: set[TP], **_: Any) -> None:
        # Only bookkeeping here: asking the consumer for positions inside the rebalance
        # callback raced with Faust's own seeking and could skip a partition's first messages.
        self.health.joined()
        log.info("assigned partitions: %s", sorted(f"{tp.topic}-{tp.partition}" for tp in assigned))

    async def _on_revoked(self, _sender: Any, revoked: set[TP], **_: Any) -> None:
        for tp in revoked:
            self._positions.pop(tp, None)
            with contextlib.suppress(KeyError):  # never set: no lag was computed for it yet
                self.metrics.lag.remove(tp.topic, str(tp.partition))

    # -- HTTP ------------------------------------------------------------------------------

    def _add_pages(self, app: faust.App) -> None:
        # Faust makes a View class of each function (it becomes the class's ``get``), so
        # these are plain functions closing over the worker, not bound methods.
        metrics, health = self.metrics, self.health

        async def metrics_view(view: Any, _request: Any) -> Any:
            # aiohttp wants the charset apart from the content type; the text is ASCII.
            return view.bytes(generate_latest(metrics.registry), content_type=METRICS_CONTENT_TYPE)

        async def livez(view: Any, _request: Any) -> Any:
            return view.json({"status": "ok"})

        async def readyz(view: Any, _request: Any) -> Any:
            ready, reason = health.readiness()
            return view.json({"ready": ready, "reason": reason}, status=200 if ready else 503)

        app.page("/metrics")(metrics_view)
        app.page("/livez")(livez)
        app.page("/readyz")(readyz)

    # -- running ---------------------------------------------------------------------------

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; return the exit status."""
        worker = _Worker(self, loglevel=self.settings.log_level, quiet=True)
        try:
            worker.execute_from_commandline()
        except SystemExit as exc:
            return int(exc.code or 0)
        finally:
            if self._offload is not None:
                self._offload.close()
            if self._admin is not None:
                self._admin.close()
        return 0


class _Worker(faust.Worker):
    """faust's Worker with Kubernetes-friendly signals: a grace limit, and a second signal
    that exits at once."""

    def __init__(self, stream_worker: StreamWorker, **kwargs: Any) -> None:
        super().__init__(stream_worker.app, **kwargs)
        self._stream_worker = stream_worker

    async def on_startup_finished(self) -> None:
        # faust's Worker owns app.on_startup_finished, so "started" is marked here.
        await super().on_startup_finished()
        self._stream_worker.health.started = True

    def _on_sigint(self) -> None:
        self._stop_gracefully(signal.SIGINT)

    def _on_sigterm(self) -> None:
        self._stop_gracefully(signal.SIGTERM)

    def _stop_gracefully(self, sig: signal.Signals) -> None:
        if self._signal_stop_time:
            log.warning("second %s: exiting now", sig.name)
            os._exit(128 + sig.value)
        self._stream_worker.health.stopping = True
        grace = self._stream_worker.settings.shutdown_grace_seconds
        log.info(
            "%s: finishing in-flight messages, committing, leaving the group (grace %.0f s)",
            sig.name,
            grace,
        )

        def give_up() -> None:
            log.error("shutdown took longer than %.0f s; exiting", grace)
            os._exit(1)

        timer = threading.Timer(grace, give_up)
        timer.daemon = True
        timer.start()
        self._schedule_shutdown(sig)
