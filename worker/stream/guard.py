"""Per input partition, the next offset the worker may publish, so that a batch is never
published (and committed) past a message it did not get.

Faust can hand over records out of order around a rebalance: records fetched before it
arrive after its seek to the committed offsets (faust-streaming/faust#221), and the
records read again from the committed offset are then dropped by Faust as already read.
Published, those early records would commit past the ones in between, and those would be
lost. The guard admits each partition's messages only in an unbroken run from where it
stands, and asks for a seek back to the first missing offset when a run breaks.

A gap can also be real: transaction markers, and records deleted by retention or
compaction, leave offsets no consumer sees. A gap met again, from the same offset to
the same offset, after the seek back, is accepted as such; and since records come out of
order only around a rebalance, a partition is watched for :data:`WATCH_SECONDS` after
each one only (a transactional producer's marker after each of its transactions would
otherwise cost a seek each).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

#: How long after a rebalance a partition's runs are checked.
WATCH_SECONDS = 60.0


class Positioned(Protocol):
    """A consumed message: its topic, partition and offset."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...


@dataclass(slots=True)
class Admission:
    """What :meth:`OffsetGuard.admit` decided for a batch."""

    #: Indexes of the messages to publish, in batch order.
    admitted: list[int]
    #: Partitions to seek back, and to which offset (the first one missing).
    seeks: dict[tuple[str, int], int]


@dataclass(slots=True)
class OffsetGuard:
    """The next offset to publish of each partition, from the committed offsets Faust
    seeks to at a rebalance (:meth:`start`) and the batches admitted since."""

    clock: Callable[[], float] = time.monotonic
    expected: dict[tuple[str, int], int] = field(default_factory=dict)
    #: Until when each partition is watched (set by :meth:`start`).
    watched_until: dict[tuple[str, int], float] = field(default_factory=dict)
    #: The last gap met on a partition (from, to) that a seek back was asked for.
    _gaps: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)

    def start(self, committed: Mapping[Any, int | None]) -> None:
        """Where the group stands on each partition (``{tp: offset}``, None when nothing
        was committed yet; then the first message admitted sets it)."""
        until = self.clock() + WATCH_SECONDS
        for tp, offset in committed.items():
            key = (tp.topic, tp.partition)
            self._gaps.pop(key, None)
            self.watched_until[key] = until
            if offset is None or offset < 0:
                self.expected.pop(key, None)
            else:
                self.expected[key] = offset

    def forget(self, tps: Sequence[Any]) -> None:
        """Partitions no longer held."""
        for tp in tps:
            key = (tp.topic, tp.partition)
            self.expected.pop(key, None)
            self._gaps.pop(key, None)
            self.watched_until.pop(key, None)

    def admit(self, messages: Sequence[Positioned]) -> Admission:
        """The messages of a batch that continue their partitions' runs; a message below
        its partition's next offset was published before (it is left out), one above it
        breaks the run: it and the rest of its partition in this batch are left out, and
        a seek back is asked for (unless the same gap was met after one already, or the
        partition's last rebalance is over :data:`WATCH_SECONDS` ago)."""
        admitted: list[int] = []
        seeks: dict[tuple[str, int], int] = {}
        now = self.clock()
        for index in sorted(range(len(messages)), key=lambda i: _order(messages[i])):
            m = messages[index]
            key = (m.topic, m.partition)
            if key in seeks:
                continue
            expected = self.expected.get(key, m.offset)
            if m.offset < expected:
                continue
            watched = self.watched_until.get(key, float("-inf")) > now
            if m.offset > expected and watched and self._gaps.get(key) != (expected, m.offset):
                self._gaps[key] = (expected, m.offset)
                seeks[key] = expected
                continue
            self._gaps.pop(key, None)
            self.expected[key] = m.offset + 1
            admitted.append(index)
        admitted.sort()
        return Admission(admitted, seeks)


def _order(m: Positioned) -> tuple[str, int, int]:
    return (m.topic, m.partition, m.offset)
