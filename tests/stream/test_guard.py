"""The offset guard: each partition's messages are published in an unbroken run from
where the group stands; a break asks for a seek back, a real gap is accepted."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from faust.types import TP

from tests.stream.test_health import Clock
from worker.stream.guard import WATCH_SECONDS, OffsetGuard

P0, P1 = TP("raw", 0), TP("raw", 1)


def msgs(*spec: tuple[int, int]) -> list[Any]:
    return [SimpleNamespace(topic="raw", partition=p, offset=o) for p, o in spec]


def guard(clock: Clock | None = None, **committed: int | None) -> OffsetGuard:
    g = OffsetGuard(clock=clock or Clock())
    g.start({TP("raw", int(k[1:])): v for k, v in committed.items()})
    return g


def test_an_unbroken_run_from_the_committed_offset_is_admitted() -> None:
    g = guard(p0=10, p1=0)
    batch = msgs((0, 10), (1, 0), (0, 11), (1, 1))
    assert g.admit(batch).admitted == [0, 1, 2, 3]
    assert g.admit(msgs((0, 12))).admitted == [0]
    assert g.expected == {("raw", 0): 13, ("raw", 1): 2}


def test_a_record_from_before_the_rebalance_asks_for_a_seek_back() -> None:
    # faust-streaming/faust#221: after the seek to 586, a record fetched before the
    # rebalance (590) arrives first; published, it would commit past 586-589.
    g = guard(p0=586, p1=0)
    first = g.admit(msgs((0, 590), (0, 591), (1, 0)))
    assert first.admitted == [2]  # the other partition goes on
    assert first.seeks == {("raw", 0): 586}
    assert g.admit(msgs((0, 586), (0, 587))).admitted == [0, 1]
    assert g.expected[("raw", 0)] == 588


def test_a_break_inside_a_batch_keeps_the_run_before_it() -> None:
    g = guard(p0=0)
    admission = g.admit(msgs((0, 0), (0, 1), (0, 3), (0, 4)))
    assert admission.admitted == [0, 1]
    assert admission.seeks == {("raw", 0): 2}


def test_the_same_gap_again_after_the_seek_is_real_and_accepted() -> None:
    # A transaction marker at offset 5: no consumer ever sees it.
    g = guard(p0=5)
    assert g.admit(msgs((0, 6))).seeks == {("raw", 0): 5}
    again = g.admit(msgs((0, 6), (0, 7)))
    assert again.admitted == [0, 1]
    assert again.seeks == {}


def test_a_new_gap_after_the_seek_asks_again() -> None:
    # Records fetched before the seek back may still come after it.
    g = guard(p0=5)
    assert g.admit(msgs((0, 9))).seeks == {("raw", 0): 5}
    assert g.admit(msgs((0, 12))).seeks == {("raw", 0): 5}
    assert g.admit(msgs((0, 5))).admitted == [0]


def test_messages_below_the_run_were_published_and_are_left_out() -> None:
    g = guard(p0=0)
    g.admit(msgs((0, 0), (0, 1), (0, 2)))
    assert g.admit(msgs((0, 1), (0, 2), (0, 3))).admitted == [2]


def test_gaps_are_accepted_once_the_rebalance_is_over() -> None:
    clock = Clock()
    g = guard(clock, p0=0)
    g.admit(msgs((0, 0)))
    clock.now += WATCH_SECONDS + 1
    admission = g.admit(msgs((0, 2)))  # a transaction marker at 1, long after
    assert admission.admitted == [0]
    assert admission.seeks == {}


def test_without_a_committed_offset_the_first_message_starts_the_run() -> None:
    g = guard(p0=None)
    assert g.admit(msgs((0, 40), (0, 41))).admitted == [0, 1]
    assert g.admit(msgs((0, 43))).seeks == {("raw", 0): 42}


def test_a_partition_never_started_is_not_watched() -> None:
    g = OffsetGuard(clock=Clock())
    assert g.admit(msgs((0, 0), (0, 5))).admitted == [0, 1]


def test_a_new_rebalance_starts_again_from_the_committed_offset() -> None:
    g = guard(p0=0)
    g.admit(msgs((0, 0), (0, 1), (0, 2)))
    g.start({P0: 1})  # commits lagged: 1 and 2 are read again, and published again
    assert g.admit(msgs((0, 1), (0, 2))).admitted == [0, 1]
    g.forget([P0, P1])
    assert g.expected == {}
