"""Sends that are retried until the broker acknowledges them: the dedup stage's outputs,
verdicts and table changes.

A send is a :data:`Start`, a callable that hands one message to a producer and returns
its acknowledgement future, so that a failed one can be started again as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from worker.kafka_clients import KAFKA_ERRORS
from worker.stream.health import Outage

#: Longest wait between two tries of a send the broker refused.
RETRY_MAX_SECONDS = 5.0

#: Hands one message to a producer; returns its acknowledgement future.
Start = Callable[[], Awaitable[Any]]

#: A batch's table changes: key -> (changelog partition, last value; None deletes).
Changes = dict[bytes, tuple[int, bytes | None]]


def sender(
    topic: Any,
    key: bytes,
    value: bytes,
    headers: list[tuple[str, bytes]] | None = None,
    partition: int | None = None,
) -> Start:
    """A send of ``key``/``value`` to the Faust ``topic`` (on ``partition``, if given)."""

    async def start() -> Any:
        # force: not attached to the current event (attachments are sent when Faust
        # commits that event, which it never does for the dedup topics).
        return await topic.send(
            key=key, value=value, headers=headers, partition=partition, force=True
        )

    return start


def changelog_writes(table: Any, changes: Changes) -> list[Start]:
    """One changelog write of the Faust ``table`` per key changed in a batch, with its last
    value: a retry cannot reorder two writes of one key."""

    def writer(partition: int, key: bytes, value: bytes | None) -> Start:
        async def start() -> Any:
            return table.send_changelog(
                partition, key, value, key_serializer="raw", value_serializer="raw"
            )

        return start

    return [writer(p, k, v) for k, (p, v) in changes.items()]


async def deliver(starts: list[Start], outage: Outage) -> None:
    """Start every send and wait for every acknowledgement; start again what failed with
    a Kafka error, with backoff, until it is acknowledged. ``outage`` is told of the
    failures and of the recovery.

    Raises:
        Exception: any other error of a send or of its acknowledgement (a bug), at once.
    """
    delay = 0.1
    while starts:
        failed: list[Start] = []
        error: BaseException | None = None
        futures: list[tuple[Start, Any]] = []
        for start in starts:
            try:
                futures.append((start, await start()))
            except KAFKA_ERRORS as exc:
                failed.append(start)
                error = exc
        results = await asyncio.gather(*(f for _, f in futures), return_exceptions=True)
        for (start, _), result in zip(futures, results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, BaseException):
                if not isinstance(result, (*KAFKA_ERRORS, TimeoutError)):
                    raise result
                failed.append(start)
                error = result
        if error is None:
            if delay > 0.1:
                outage.recovered()
            return
        outage.failing(error)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX_SECONDS)
        starts = failed
