"""``article-worker feed``: send raw articles to the raw topic with kafka-python.

Messages are the files' bytes, unchanged (the worker, not the feeder, judges them), keyed
by the JSON ``id`` when there is one. The producer uses ``acks=all`` and idempotence, so
a retried send is not duplicated. On a terminal a progress line shows the rate and ETA;
a summary ends the run; the exit status is 1 when any message failed or any file could
not be read.

Accounting: a message is *sent* when the broker acknowledged it and *failed* only when it
never was. The producer retries without limit until its delivery timeout (``--timeout``,
:data:`DEFAULT_TIMEOUT_SECONDS`) and only then fails a message, and the feeder waits for
that verdict instead of giving up on its own clock, so a broker that comes back within
the timeout gets every message once (idempotence) and the summary says so. While the
broker does not acknowledge anything, a notice on stderr says what the feeder waits for.
A failed message may still be in the topic when its request was appended but the answer
was lost as the broker went down (Kafka cannot tell the client): at most those in flight.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import orjson
from kafka.errors import KafkaTimeoutError

from worker.kafka_clients import KAFKA_ERRORS, new_kafka_python_producer
from worker.settings import Settings
from worker.sources import Item, read_items
from worker.stream.topics import topic_limits


@dataclass(slots=True)
class FeedResult:
    sent: int = 0
    failed: int = 0
    unreadable: list[str] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unreadable


def message_key(data: bytes) -> bytes | None:
    """The article's ``id`` as the Kafka key, when the message is a JSON object with one."""
    if not data.lstrip().startswith(b"{"):
        return None
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    value = obj.get("id") if isinstance(obj, dict) else None
    if isinstance(value, str) and value.strip():
        return value.strip().encode("utf-8")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode()
    return None


class Progress:
    """A one-line progress display on a terminal; silent otherwise."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total = total
        self.stream = stream
        self.enabled = stream.isatty()
        self.start = time.monotonic()
        self._last = 0.0

    def update(self, done: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self._last < 0.2):
            return
        self._last = now
        elapsed = max(now - self.start, 1e-9)
        rate = done / elapsed
        eta = (self.total - done) / rate if rate > 0 else 0.0
        width = 30
        filled = int(width * done / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r[{bar}] {done}/{self.total} {rate:,.0f} msg/s ETA {eta:4.0f} s ")
        if final:
            self.stream.write("\n")
        self.stream.flush()


#: Default of ``--timeout``: how long the producer keeps retrying a message the broker has
#: not acknowledged before it counts as failed (also the longest ``send`` may block for
#: metadata or buffer space). Generous, so that a broker restart or a short outage costs
#: nothing: kafka-python's own default is 120 s.
DEFAULT_TIMEOUT_SECONDS = 300.0
#: With no acknowledgement for this long while messages wait, a notice says so ...
NOTICE_AFTER_SECONDS = 5.0
#: ... and is repeated this often while it lasts.
NOTICE_EVERY_SECONDS = 15.0
#: Past the delivery timeout, how long flush() still waits for the producer's verdicts.
FLUSH_MARGIN_SECONDS = 30.0
LINGER_MS = 5
#: Failed messages reported one by one; the count in the summary covers the rest.
REPORTED_FAILURES = 10


def feed(
    settings: Settings,
    paths: Sequence[str],
    *,
    topic: str | None = None,
    rate: float | None = None,
    repeat: int = 1,
    compression: str | None = None,
    progress_stream: IO[str] | None = None,
    producer: Any = None,
    timeout_s: float = DEFAULT_TIMEOUT_SECONDS,
) -> FeedResult:
    """Send every article under ``paths`` ``repeat`` times, at most ``rate`` per second.

    ``timeout_s`` bounds each message: not acknowledged that long after it was handed to
    the producer (retries included), it counts as failed.
    """
    errors = progress_stream or sys.stderr
    items: list[Item] = list(read_items(paths))
    result = FeedResult()
    for item in items:
        if item.data is None:
            result.unreadable.append(item.label)
            errors.write(f"article-worker feed: cannot read {item.label}: {item.error}\n")
    messages = [(i.label, message_key(i.data), i.data) for i in items if i.data is not None]
    total = len(messages) * repeat
    compression = compression or settings.producer_compression
    delivery_ms = max(int(timeout_s * 1000), 1000)
    target = topic or settings.raw_topic
    broker = ", ".join(settings.bootstrap_servers)
    # kafka-python connects in the constructor and gives up after about 30 s (then the
    # command exits 1, "cannot reach Kafka"); say what the wait is about meanwhile.
    connecting = threading.Timer(
        NOTICE_AFTER_SECONDS,
        lambda: errors.write(f"article-worker feed: connecting to Kafka at {broker} ...\n"),
    )
    connecting.daemon = True
    connecting.start()
    try:
        producer = producer or _new_producer(settings, compression, delivery_ms)
    finally:
        connecting.cancel()
    progress = Progress(total, errors)
    deliveries = _Deliveries(errors, broker, timeout_s, progress)
    start = time.monotonic()
    refused = 0  # never handed to the producer
    try:
        for n in range(total):
            label, key, value = messages[n % len(messages)]
            if rate:
                # Paced against the start, so a slow moment is caught up, not accumulated.
                wait = start + n / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            deliveries.handing()
            try:
                future = producer.send(target, key=key, value=value)
            except KafkaTimeoutError as exc:
                # No metadata or no buffer space within the timeout: the broker has been
                # away that long, so the rest would only wait as long again each.
                deliveries.not_handed()
                refused += total - n
                deliveries.report(label, exc, f"giving up on {total - n} unsent message(s)")
                break
            except KAFKA_ERRORS as exc:  # e.g. larger than the producer's request limit
                deliveries.not_handed()
                refused += 1
                deliveries.report(label, exc)
                continue
            future.add_callback(deliveries.acknowledged)
            future.add_errback(deliveries.failed, label)
            result.bytes += len(value)
            progress.update(n + 1)
        try:
            producer.flush(timeout=timeout_s + FLUSH_MARGIN_SECONDS)
        except KafkaTimeoutError:
            deliveries.write(
                f"no verdict from the producer {timeout_s + FLUSH_MARGIN_SECONDS:g} s after "
                "the last send; giving up on the messages still waiting"
            )
    finally:
        if deliveries.waiting():  # flush gave up, or an interrupt
            _abandon(producer)
        acknowledged, failed, waiting = deliveries.stop()
        result.sent = acknowledged
        result.failed = failed + waiting + refused
        with contextlib.suppress(KafkaTimeoutError):
            producer.close(timeout=0 if waiting else None)
    progress.update(total, final=True)
    result.seconds = time.monotonic() - start
    return result


def _new_producer(settings: Settings, compression: str, delivery_ms: int) -> Any:
    """The feeder's producer: idempotent, acks=all, and the delivery rules above."""
    return new_kafka_python_producer(
        settings,
        acks="all",
        enable_idempotence=True,
        compression_type=None if compression == "none" else compression,
        linger_ms=LINGER_MS,
        client_id=f"{settings.app_id}-feed",
        # The producer, not the feeder, decides when a message has failed: retries are
        # unlimited (the default) until delivery_timeout_ms, which must be at least
        # request_timeout_ms + linger_ms.
        delivery_timeout_ms=delivery_ms,
        request_timeout_ms=min(30_000, delivery_ms - LINGER_MS),
        max_block_ms=delivery_ms,
        # Back within 2 s of a broker's return, not after kafka-python's 30 s backoff
        # (the Java client's default is 1 s).
        reconnect_backoff_max_ms=2000,
        # What a raw topic created by the worker takes (the broker judges the rest).
        max_request_size=max(topic_limits(settings)[settings.raw_topic][0], 1024 * 1024),
    )


def _abandon(producer: Any) -> None:
    """Stop the producer's I/O thread without sending what is left, so nothing is
    delivered after it was counted as failed. kafka-python (3.0.12) has no public way:
    its ``close(timeout=0)`` raises while batches are incomplete, and an idempotent
    producer that lost its broker does not expire batches (no producer id, no expiry
    check) until the broker is back."""
    sender = getattr(producer, "_sender", None)
    if sender is None or not hasattr(sender, "force_close"):
        return
    sender.force_close()  # fails every incomplete batch ("closed forcefully")
    sender.join(5)


class _Deliveries:
    """The producer's verdicts, counted as they come (on its I/O thread), and a notice on
    ``stream`` while the broker acknowledges nothing."""

    def __init__(self, stream: IO[str], broker: str, timeout_s: float, progress: Progress):
        self.stream = stream
        self.broker = broker
        self.timeout_s = timeout_s
        self.progress = progress
        self._lock = threading.Lock()
        self._handed = self._acked = self._failed = self._reported = 0
        self._last = time.monotonic()  # last acknowledgement, or when the wait began
        self._noticed = 0.0  # when the last notice was written (0: none, or recovered)
        self._acked_at_notice = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="feed-notice", daemon=True)
        self._thread.start()

    def handing(self) -> None:
        with self._lock:
            if self._handed == self._acked + self._failed:  # nothing was waiting
                self._last = time.monotonic()
            self._handed += 1

    def not_handed(self) -> None:
        with self._lock:
            self._handed -= 1

    def acknowledged(self, _metadata: Any) -> None:
        with self._lock:
            self._acked += 1
            self._last = time.monotonic()

    def failed(self, label: str, exc: BaseException) -> None:
        with self._lock:
            self._failed += 1
        self.report(label, exc)

    def report(self, label: str, exc: BaseException, then: str = "") -> None:
        with self._lock:
            self._reported += 1
            shown = self._reported
        if shown <= REPORTED_FAILURES or then:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            self.write(f"not sent: {label}: {detail}" + (f"; {then}" if then else ""))
        elif shown == REPORTED_FAILURES + 1:
            self.write("further failures are counted in the summary only")

    def waiting(self) -> int:
        with self._lock:
            return self._handed - self._acked - self._failed

    def stop(self) -> tuple[int, int, int]:
        """Stop watching: (acknowledged, failed, still waiting); a message still waiting
        was never acknowledged, so it counts as failed. Later verdicts are not counted."""
        self._stopped.set()
        self._thread.join(timeout=2)
        with self._lock:
            counts = (self._acked, self._failed, self._handed - self._acked - self._failed)
            self._handed = self._acked = self._failed = 0
        if self._noticed and counts[0] > self._acked_at_notice:
            self._recovered(counts[0])
        return counts

    def _recovered(self, acked: int) -> None:
        self.write(f"Kafka answers again; {acked} message(s) acknowledged so far")
        self._noticed = 0.0

    def write(self, line: str) -> None:
        lead = "\n" if self.progress.enabled else ""
        self.stream.write(f"{lead}article-worker feed: {line}\n")
        self.stream.flush()

    def _watch(self) -> None:
        while not self._stopped.wait(0.5):
            now = time.monotonic()
            with self._lock:
                waiting = self._handed - self._acked - self._failed
                quiet = now - self._last
                acked = self._acked
            if self._noticed and acked > self._acked_at_notice:
                self._recovered(acked)
            elif (
                waiting
                and quiet >= NOTICE_AFTER_SECONDS
                and now - self._noticed >= NOTICE_EVERY_SECONDS
            ):
                self._noticed, self._acked_at_notice = now, acked
                self.write(
                    f"no acknowledgement from Kafka at {self.broker} for {quiet:.0f} s; "
                    f"{waiting} message(s) waiting; still retrying (one not acknowledged "
                    f"within about --timeout {self.timeout_s:g} s counts as failed)"
                )
