"""The Faust application: an agent that enriches raw articles, metrics, health, shutdown.

Delivery: Faust only consumes. Its acknowledgements are off for the raw topic, so it
never commits; the agent hands each batch to a :class:`~worker.stream.runner.BatchRunner`,
which publishes outputs in order with the worker's own producers and moves the input
offsets only once every output before them is acknowledged:

* ``at_least_once``: an idempotent producer, then a consumer commit. A crash loses
  nothing; at worst a batch is processed twice.
* ``exactly_once``: per input partition, the batch's outputs and next offset in one
  Kafka transaction (:class:`~worker.stream.publisher.TransactionalPublisher`); a
  ``read_committed`` reader sees every output once. Faust's own ``exactly_once`` is not
  used (it sends outside transactions and breaks on rebalance upstream).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import threading
from collections.abc import Mapping
from typing import Any, cast

import faust
from faust.types import TP
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from worker.kafka_clients import KAFKA_ERRORS, new_faust_app
from worker.settings import Settings
from worker.stream.dedup import DEDUP_HEADROOM, DuplicateFinder, source_header
from worker.stream.guard import OffsetGuard
from worker.stream.health import Health
from worker.stream.lag import LagEstimator
from worker.stream.logs import install_repeat_filter
from worker.stream.metrics import Metrics, create_dedup_metrics, create_metrics, register_helpers
from worker.stream.offload import OffloadedProcessor, build_processor
from worker.stream.processor import RECORD_OVERHEAD, Inbound, MessageProcessor, Outbound
from worker.stream.publisher import AtLeastOncePublisher, Publisher, TransactionalPublisher
from worker.stream.runner import BatchRunner, ConsumerCommitter
from worker.stream.sensors import QuietMonitor

log = logging.getLogger("article_worker")

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST.split(";", 1)[0] + "; version=0.0.4"
#: How long a rebalance waits for in-flight batches of revoked partitions.
REVOKE_DRAIN_SECONDS = 10.0


class StreamWorker:
    """The Faust app wired to the enrichment core, publisher, metrics and health state.

    Args:
        settings: validated :class:`~worker.settings.Settings`.
        processor: what to do with each message, in the event loop, instead of the
            enrichment core (the benchmarks' passthrough baseline uses this); ``None``
            builds the core from the settings, in ``enrich_processes`` helpers.
    """

    def __init__(self, settings: Settings, *, processor: MessageProcessor | None = None) -> None:
        self.settings = settings
        self.metrics: Metrics = create_metrics()
        self.health = Health(settings.stall_seconds)
        self.exit_code = 0
        self.processor: MessageProcessor
        self._offload: OffloadedProcessor | None = None
        if processor is not None:
            self.processor = processor
        else:
            # With dedup, records go to the join topic first and gain three fields there.
            core = build_processor(
                settings.gazetteer,
                settings.max_bytes,
                settings.dedup_join_topic if settings.dedup_enabled else settings.enriched_topic,
                settings.dlq_topic,
                settings.output_max_bytes - (DEDUP_HEADROOM if settings.dedup_enabled else 0),
            )
            self.processor = core
            if settings.enrich_processes:
                self._offload = OffloadedProcessor(
                    core,
                    settings.enrich_processes,
                    settings.gazetteer,
                    settings.max_bytes,
                    timeout_seconds=settings.article_timeout_seconds,
                )
                offload = self._offload
                register_helpers(
                    self.metrics, lambda: offload.counters, pids=lambda: offload.unreaped_pids
                )
        self.dedup: DuplicateFinder | None = None
        self.guard = OffsetGuard()
        self.app = self._create_app()
        self.lag = LagEstimator(self.app, settings, self.metrics, self.health)
        self.committer: ConsumerCommitter | None = None
        self.publisher: Publisher
        if settings.processing_guarantee == "exactly_once":
            self.publisher = TransactionalPublisher(
                settings, self.health.outage, self._raw_assignment, self.lag.committed_offset
            )
        else:
            self.committer = ConsumerCommitter(self.app, self.health)
            self.publisher = AtLeastOncePublisher(settings, self.health.outage, self.committer.note)
            if settings.dedup_enabled:  # at least once only (settings refuse the other)
                self.dedup = DuplicateFinder(
                    self.app,
                    settings,
                    create_dedup_metrics(self.metrics.registry),
                    self.health,
                    on_broken=self._on_broken,
                    commit=self.committer.note,
                    guard=self.guard,
                    seek_back=self._seek_back,
                )
        self.runner = BatchRunner(
            self._process,
            self.publisher,
            self.metrics,
            self.health,
            depth=settings.concurrency,
            dlq_topic=settings.dlq_topic,
            on_broken=self._on_broken,
            guard=self.guard,
            seek_back=self._seek_back,
        )
        self.lag.positions = self.runner.positions
        self._publisher_started: asyncio.Future[None] | None = None
        self._revoked_since_assigned = False
        self._revoking = False  # from a revocation until the next assignment
        self._worker: _Worker | None = None

    def _create_app(self) -> faust.App:
        s = self.settings
        app = new_faust_app(
            s,
            on_seek_to_committed=self._on_seek_to_committed,
            store="memory://",
            key_serializer="raw",
            value_serializer="raw",
            # Faust's transactions are not used (see the module docstring).
            processing_guarantee="at_least_once",
            topic_partitions=s.topic_partitions,
            topic_replication_factor=s.topic_replication_factor,
            topic_disable_leader=True,
            consumer_auto_offset_reset="earliest",
            consumer_group_instance_id=s.group_instance_id or None,
            # No tables, so no standbys: with none, Faust uses Kafka's round-robin
            # assignor instead of its own, which asserts that a member's web address
            # never changes and so breaks a static member restarted on a new port.
            # With dedup on, Faust's own assignor is used for its tables (it places each
            # changelog partition with its source partition); see README for static members.
            table_standby_replicas=0,
            broker_session_timeout=s.session_timeout_seconds,
            broker_heartbeat_interval=s.heartbeat_interval_seconds,
            web_enabled=True,
            web_host=s.web_host,
            web_bind=s.web_host,
            web_port=s.web_port,
            # Faust's assignor tells members apart by this URL, and web_host is 0.0.0.0 in
            # a container: the host name (a pod's or container's own) keeps replicas apart.
            canonical_url=f"http://{socket.gethostname()}:{s.web_port}",
            datadir=s.data_dir,
            monitor=QuietMonitor(),
            # Faust's producer sends the dedup stage's records: as large as ours.
            producer_max_request_size=s.output_max_bytes + RECORD_OVERHEAD,
            producer_compression_type=s.compression_codec,
        )
        # acks=False: Faust never commits this topic's offsets; the runner does.
        raw = app.topic(s.raw_topic, key_type=bytes, value_type=bytes, acks=False)
        app.agent(raw, name="enrich", concurrency=1)(self._agent)
        app.timer(interval=s.lag_interval_seconds, name="consumer-lag")(self._update_lag)

        # mode's signal types want (sender, *args, signal=...) receivers; ours name their args.
        app.on_partitions_assigned.connect(cast(Any, self._on_assigned))
        app.on_partitions_revoked.connect(cast(Any, self._on_revoked))
        self._add_pages(app)
        return app

    # -- the agent ---------------------------------------------------------------------

    async def _agent(self, stream: Any) -> None:
        await self._start_publisher()
        batch, wait = self.settings.batch_size, self.settings.batch_wait_seconds
        async for events in stream.take_events(batch, within=wait):
            await self.runner.submit([event.message for event in events])

    async def _process(self, inbound: list[Inbound]) -> list[Outbound]:
        if self._offload is not None:
            outs = await self._offload.process(inbound)
        else:
            outs = [self.processor.process(i) for i in inbound]
        if self.dedup is not None:
            # The raw message's timestamp orders the copies and bounds the window.
            join = self.settings.dedup_join_topic
            outs = [
                dataclasses.replace(o, headers=[*o.headers, source_header(i.timestamp)])
                if o.topic == join
                else o
                for i, o in zip(inbound, outs, strict=True)
            ]
        return outs

    async def _start_publisher(self) -> None:
        if self._publisher_started is None or (
            self._publisher_started.done() and self._publisher_started.exception()
        ):
            started = self._publisher_started = asyncio.get_running_loop().create_future()
            delay = 0.5
            try:
                while True:
                    try:
                        await self.publisher.start()
                        break
                    except KAFKA_ERRORS as exc:
                        self.health.outage.failing(exc)
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, 5.0)
            except BaseException as exc:  # a restarted agent tries again
                started.set_exception(exc)
                raise
            started.set_result(None)
        await self._publisher_started

    def _on_broken(self, _exc: BaseException) -> None:
        # Nothing after the failed batch can be committed; exit non-zero so that the
        # orchestrator restarts the worker from the committed offsets.
        self.exit_code = 1
        if self._worker is not None:
            self._worker.stop_gracefully(signal.SIGTERM)

    async def drain(self) -> None:
        """Finish the batches in flight and commit them; called on SIGTERM before Faust stops."""
        self.runner.closed = True
        # Leave time to commit what did finish before the grace timer ends the process.
        await self.runner.drain(max(1.0, self.settings.shutdown_grace_seconds - 5.0))
        if self.committer is not None:
            await self.committer.flush(5.0)
            await self.committer.stop()
        with contextlib.suppress(*KAFKA_ERRORS):
            await self.publisher.stop()

    # -- group membership --------------------------------------------------------------

    def _raw_assignment(self) -> set[TP]:
        return {tp for tp in self.app.consumer.assignment() if tp.topic == self.settings.raw_topic}

    async def _update_lag(self) -> None:
        await self.lag.update(self._raw_assignment())

    async def _on_assigned(self, _sender: Any, assigned: set[TP], **_: Any) -> None:
        # No consumer position calls here: they raced with Faust's own seeking. The
        # transactional producers start here, so a previous owner is fenced before the
        # first batch of its partitions is read.
        # One assignment ends each rebalance (the full set, eager protocol), so it is what
        # counts a rebalance; the gauge is set from it, not adjusted.
        self._revoking = False
        self.metrics.rebalances.inc()
        self.metrics.assigned_partitions.set(
            sum(1 for tp in assigned if tp.topic == self.settings.raw_topic)
        )
        self.health.joined()
        log.info("assigned partitions: %s", sorted(f"{tp.topic}-{tp.partition}" for tp in assigned))
        if self._revoked_since_assigned:
            self.runner.min_message_generation = self.app.consumer_generation_id
            self._revoked_since_assigned = False
        await self.publisher.on_assigned(
            [tp for tp in assigned if tp.topic == self.settings.raw_topic]
        )

    def _on_seek_to_committed(self, committed: Mapping[Any, int | None]) -> None:
        if self._revoking:
            # Faust also seeks while a revocation stops the flow; the batches still
            # publishing then lie past the committed offsets by right. The seek after the
            # assignment is the one the stream goes on from.
            return
        s = self.settings
        # The topics whose offsets the worker commits itself (not the tables' changelogs).
        ours = {s.raw_topic}
        if s.dedup_enabled:
            ours |= {s.dedup_join_topic, s.dedup_bands_topic}
        self.guard.start({tp: offset for tp, offset in committed.items() if tp.topic in ours})

    async def _seek_back(self, seeks: dict[tuple[str, int], int]) -> None:
        for (topic, partition), offset in seeks.items():
            log.warning(
                "%s-%d: a message after offset %d came before it (fetched before a "
                "rebalance); reading the partition again from %d",
                topic,
                partition,
                offset,
                offset,
            )
        try:
            await self.app.consumer.seek_wait(
                {TP(t, p): offset for (t, p), offset in seeks.items()}
            )
        except Exception as exc:  # noqa: BLE001 - e.g. revoked meanwhile: its next owner reads it
            log.warning("seeking back failed: %s: %s", type(exc).__name__, exc)

    async def _on_revoked(self, _sender: Any, revoked: set[TP], **_: Any) -> None:
        # Finish (and commit) what is in flight, so the next owner does not redo it;
        # what is not done by then is left to be read again (see BatchRunner.generation).
        self._revoking = True
        self.guard.forget(list(revoked))
        raw = [tp for tp in revoked if tp.topic == self.settings.raw_topic]
        if not raw:  # the empty revocation before the first assignment
            return
        # Held no more: a revocation takes them all (aiokafka's protocol is eager), so set,
        # not lowered (it cannot drift below zero); the next assignment sets it again.
        self.metrics.assigned_partitions.set(0)
        if not await self.runner.drain(REVOKE_DRAIN_SECONDS):
            log.warning("batches still in flight at a rebalance; their new owner redoes them")
        if self.committer is not None:
            await self.committer.flush(REVOKE_DRAIN_SECONDS)
        self.runner.generation += 1
        self._revoked_since_assigned = True
        await self.publisher.on_revoked(raw)
        for tp in revoked:
            self.runner.positions.pop(tp, None)
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
        self._worker = worker
        code = 0
        try:
            worker.execute_from_commandline()
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            if self._offload is not None:
                self._offload.close()
            self.lag.close()
        return code or self.exit_code


class _Worker(faust.Worker):
    """faust's Worker with Kubernetes-friendly signals: drain first, a grace limit, and a
    second signal that exits at once."""

    def __init__(self, stream_worker: StreamWorker, **kwargs: Any) -> None:
        super().__init__(stream_worker.app, **kwargs)
        # No terminal spinner: with it, a log level of warning or above made faust set the
        # root logger to DEBUG (for the spinner's handler), and every debug call of aiokafka
        # (one per message sent) built a record: a third of a passthrough's CPU time.
        self.spinner = None
        self._stream_worker = stream_worker
        self._stop_requested = False
        self._drain_task: asyncio.Future[None] | None = None

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        # mode sets the handlers up itself, after our own start: filter them here.
        super().on_setup_root_logger(logger, level)
        install_repeat_filter()

    async def on_startup_finished(self) -> None:
        # faust's Worker owns app.on_startup_finished, so "started" is marked here.
        await super().on_startup_finished()
        self._stream_worker.health.started = True

    def _on_sigint(self) -> None:
        self.stop_gracefully(signal.SIGINT)

    def _on_sigterm(self) -> None:
        self.stop_gracefully(signal.SIGTERM)

    def stop_gracefully(self, sig: signal.Signals) -> None:
        if self._stop_requested:
            log.warning("second %s: exiting now", sig.name)
            os._exit(128 + sig.value)
        self._stop_requested = True
        self._stream_worker.health.stopping = True
        grace = self._stream_worker.settings.shutdown_grace_seconds
        log.info(
            "%s: finishing in-flight batches, committing, leaving the group (grace %.0f s)",
            sig.name,
            grace,
        )

        def give_up() -> None:
            log.error("shutdown took longer than %.0f s; exiting", grace)
            os._exit(1)

        timer = threading.Timer(grace, give_up)
        timer.daemon = True
        timer.start()

        async def drain_then_stop() -> None:
            try:
                await self._stream_worker.drain()
            finally:
                self._schedule_shutdown(sig)

        self._drain_task = asyncio.ensure_future(drain_then_stop(), loop=self.loop)
