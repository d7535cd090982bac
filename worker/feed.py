"""``article-worker feed``: send raw articles to the raw topic with kafka-python.

Messages are the files' bytes, unchanged (the worker, not the feeder, judges them), keyed
by the JSON ``id`` when there is one. The producer uses ``acks=all`` and idempotence, so
a retried send is not duplicated. On a terminal a progress line shows the rate and ETA;
a summary ends the run; the exit status is 1 when any message failed or any file could
not be read.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError

from worker.settings import Settings
from worker.sources import Item, read_items


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
) -> FeedResult:
    """Send every article under ``paths`` ``repeat`` times, at most ``rate`` per second."""
    errors = progress_stream or sys.stderr
    items: list[Item] = list(read_items(paths))
    result = FeedResult()
    for item in items:
        if item.data is None:
            result.unreadable.append(item.label)
            errors.write(f"article-worker feed: cannot read {item.label}: {item.error}\n")
    messages = [(message_key(i.data), i.data) for i in items if i.data is not None]
    total = len(messages) * repeat
    compression = compression or settings.producer_compression
    producer = producer or KafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        compression_type=None if compression == "none" else compression,
        linger_ms=5,
        client_id=f"{settings.app_id}-feed",
    )
    progress = Progress(total, errors)
    start = time.monotonic()
    futures = []
    try:
        for n in range(total):
            key, value = messages[n % len(messages)]
            if rate:
                # Paced against the start, so a slow moment is caught up, not accumulated.
                wait = start + n / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            futures.append(producer.send(topic or settings.raw_topic, key=key, value=value))
            result.bytes += len(value)
            if len(futures) >= 1000:
                _settle(futures, result)
            progress.update(n + 1)
        producer.flush()
        _settle(futures, result)
    finally:
        producer.close()
    progress.update(total, final=True)
    result.seconds = time.monotonic() - start
    return result


def _settle(futures: list[Any], result: FeedResult) -> None:
    for future in futures:
        try:
            future.get(timeout=60)
            result.sent += 1
        except KafkaError as exc:
            result.failed += 1
            sys.stderr.write(f"article-worker feed: send failed: {exc}\n")
    futures.clear()
