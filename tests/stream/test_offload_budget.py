"""The helper processes' own logic: the per-article budget, helpers that die, splitting
a batch across helpers, cancellation and close().

Helpers here run :func:`misbehaving_factory`'s processor: the real one, except for
messages that ask it to sleep, to kill its own process, or to raise. That is the shell's
own logic under test (the core is not mocked: every other message is really enriched).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from worker.stream.offload import (
    HelperStartError,
    OffloadedProcessor,
    build_processor,
)
from worker.stream.processor import Inbound, Outbound, Processor

MAX_BYTES = 1024 * 1024
SEED_BODIES = [p.read_bytes() for p in sorted(SEEDS.glob("0*"))][:4]


class MisbehavingProcessor:
    """The real processor, but ``sleep:S`` sleeps S seconds first, ``die`` SIGKILLs its
    own process, ``die-once:PATH`` does so only if PATH does not exist yet (and creates
    it), ``die-once-then-sleep:PATH`` sleeps 30 s when it does not die, ``raise`` raises. Its outputs say which helper made them (``x-test-pid``) and
    for which offset (``x-test-offset``; the dead letters made in the parent have
    ``x-source-offset``)."""

    def __init__(self, real: Processor) -> None:
        self.real = real

    def process(self, message: Inbound) -> Outbound:
        value = message.value or b""
        if value.startswith(b"sleep:"):
            time.sleep(float(value.split(b":", 1)[1]))
        elif value == b"die":
            os.kill(os.getpid(), signal.SIGKILL)
        elif value.startswith(b"die-once:"):
            marker = Path(value.split(b":", 1)[1].decode())
            if not marker.exists():
                marker.touch()
                os.kill(os.getpid(), signal.SIGKILL)
        elif value.startswith(b"die-once-then-sleep:"):
            marker = Path(value.split(b":", 1)[1].decode())
            if not marker.exists():
                marker.touch()
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(30)
        elif value == b"raise":
            raise RuntimeError("deliberate")
        out = self.real.process(message)
        out.headers.append(("x-test-pid", str(os.getpid()).encode()))
        out.headers.append(("x-test-offset", str(message.offset).encode()))
        return out


def misbehaving_factory(
    gazetteer: str, max_bytes: int, enriched_topic: str, dlq_topic: str
) -> MisbehavingProcessor:
    return MisbehavingProcessor(build_processor(gazetteer, max_bytes, enriched_topic, dlq_topic))


def failing_factory(
    gazetteer: str, max_bytes: int, enriched_topic: str, dlq_topic: str
) -> Processor:
    raise OSError("no gazetteer today")


INLINE = build_processor("", MAX_BYTES, "enriched", "dlq")


def offloaded(processes: int = 1, timeout: float = 5.0) -> OffloadedProcessor:
    return OffloadedProcessor(
        INLINE, processes, "", MAX_BYTES, timeout_seconds=timeout, factory=misbehaving_factory
    )


def inbound(values: list[bytes]) -> list[Inbound]:
    return [Inbound("raw", 0, i, f"k{i}".encode(), v) for i, v in enumerate(values)]


def header(out: Outbound, name: str) -> bytes | None:
    return dict(out.headers).get(name)


def offsets(outs: list[Outbound]) -> list[int]:
    return [int(header(o, "x-test-offset") or header(o, "x-source-offset") or -1) for o in outs]


def same_as_inline(out: Outbound, message: Inbound) -> bool:
    expected = INLINE.process(message)
    return (out.topic, out.key, out.value, out.reason) == (
        expected.topic,
        expected.key,
        expected.value,
        expected.reason,
    )


def alive(pid: int) -> bool:
    """Running (not a zombie, not gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in {"Z", "X"}


def test_a_slow_article_is_a_timeout_and_the_rest_are_enriched_in_order() -> None:
    budget = 0.5
    values = [SEED_BODIES[0], SEED_BODIES[1], b"sleep:30", SEED_BODIES[2], SEED_BODIES[3]]
    messages = inbound(values)
    worker = offloaded(timeout=budget)
    try:
        asyncio.run(worker.process(inbound([SEED_BODIES[0]])))  # helper loaded
        first = worker.helper_pids
        started = time.monotonic()
        outs = asyncio.run(worker.process(messages))
        elapsed = time.monotonic() - started
    finally:
        worker.close()
    assert offsets(outs) == [m.offset for m in messages]  # order kept
    slow = outs[2]
    assert slow.reason == "timeout"
    assert header(slow, "x-reject-reason") == b"timeout"
    assert slow.value == b"sleep:30"  # a dead letter keeps the original bytes
    assert budget <= slow.duration < budget + 0.3
    for out, message in zip(outs, messages, strict=True):
        if out is not slow:
            assert out.reason is None
            assert same_as_inline(out, message)
    # The two after it were done by a replacement helper, not by the killed one.
    assert header(outs[0], "x-test-pid") == header(outs[1], "x-test-pid") == str(first[0]).encode()
    assert header(outs[3], "x-test-pid") != header(outs[0], "x-test-pid")
    assert not alive(first[0])
    # About the budget plus one helper start, far from the 30 s the article would take.
    assert elapsed < budget + 10
    assert worker.counters.timeouts == 1
    assert worker.counters.helpers_replaced == 1


def test_a_helper_killed_mid_batch_is_replaced_and_every_output_comes_out() -> None:
    values = [SEED_BODIES[0], b"sleep:1.5", SEED_BODIES[1], SEED_BODIES[2]]
    messages = inbound(values)
    worker = offloaded()

    async def kill_during_batch() -> list[Outbound]:
        await worker.process(inbound([SEED_BODIES[0]]))
        task = asyncio.ensure_future(worker.process(messages))
        await asyncio.sleep(0.5)  # the helper is in the sleep now
        os.kill(worker.helper_pids[0], signal.SIGKILL)
        return await task

    try:
        outs = asyncio.run(kill_during_batch())
    finally:
        worker.close()
    assert offsets(outs) == [m.offset for m in messages]
    assert all(o.reason is None for o in outs)  # the killed one's message was retried
    assert all(same_as_inline(o, m) for o, m in zip(outs, messages, strict=True))
    assert header(outs[0], "x-test-pid") != header(outs[1], "x-test-pid")
    assert worker.counters.helper_deaths == 1
    assert worker.counters.retries == 1
    assert worker.counters.helpers_replaced == 1


def test_a_message_that_kills_its_helper_twice_is_an_internal_error(tmp_path: Path) -> None:
    once = b"die-once:" + str(tmp_path / "marker").encode()
    messages = inbound([SEED_BODIES[0], b"die", SEED_BODIES[1], once, SEED_BODIES[2]])
    worker = offloaded()
    try:
        outs = asyncio.run(worker.process(messages))
    finally:
        worker.close()
    assert offsets(outs) == [m.offset for m in messages]
    assert outs[1].reason == "internal_error"
    detail = header(outs[1], "x-reject-detail") or b""
    assert b"helper process died (killed by SIGKILL) twice" in detail
    assert outs[1].value == b"die"
    assert outs[3].reason is None  # died once, then went through in the replacement
    assert all(outs[i].reason is None for i in (0, 2, 4))
    assert worker.counters.helper_deaths == 3
    assert worker.counters.retries == 2
    assert worker.counters.died_twice == 1
    assert worker.counters.helpers_replaced == 3


def test_deaths_are_counted_per_message(tmp_path: Path) -> None:
    # The first dies once, then times out in the replacement; the second dies once: it
    # must get its own retry, not inherit the first one's death.
    first = b"die-once-then-sleep:" + str(tmp_path / "a").encode()
    second = b"die-once:" + str(tmp_path / "b").encode()
    messages = inbound([first, second, SEED_BODIES[0]])
    worker = offloaded(timeout=0.5)
    try:
        outs = asyncio.run(worker.process(messages))
    finally:
        worker.close()
    assert [o.reason for o in outs] == ["timeout", None, None]
    assert offsets(outs) == [0, 1, 2]
    assert worker.counters.helper_deaths == 2
    assert worker.counters.retries == 2


def test_an_exception_in_the_helper_is_an_internal_error() -> None:
    worker = offloaded()
    try:
        outs = asyncio.run(worker.process(inbound([b"raise", SEED_BODIES[0]])))
    finally:
        worker.close()
    assert outs[0].reason == "internal_error"
    assert header(outs[0], "x-reject-detail") == b"RuntimeError: deliberate"
    assert outs[1].reason is None
    assert worker.counters.helpers_replaced == 0  # the helper itself was fine


def test_two_helpers_split_a_batch_and_keep_its_order() -> None:
    messages = inbound([b"sleep:1", *SEED_BODIES, b"sleep:1", *SEED_BODIES])
    worker = offloaded(processes=2)
    try:
        asyncio.run(worker.process(inbound(SEED_BODIES[:2])))  # both helpers loaded
        started = time.monotonic()
        outs = asyncio.run(worker.process(messages))
        elapsed = time.monotonic() - started
        pids = worker.helper_pids
    finally:
        worker.close()
    assert offsets(outs) == [m.offset for m in messages]
    assert all(same_as_inline(o, m) for o, m in zip(outs, messages, strict=True))
    # Contiguous halves: the first half in one helper, the second in the other.
    makers = [header(o, "x-test-pid") for o in outs]
    assert set(makers[:5]) != set(makers[5:])
    assert len(set(makers[:5])) == len(set(makers[5:])) == 1
    assert {int(m or 0) for m in makers} == set(pids)
    # The two one-second sleeps, one in each half, ran at the same time.
    assert elapsed < 1.9


def test_concurrent_batches_share_the_helpers() -> None:
    worker = offloaded(processes=2)

    async def two_at_once() -> tuple[list[Outbound], list[Outbound]]:
        a = inbound([SEED_BODIES[0], b"sleep:0.3", SEED_BODIES[1]])
        b = [Inbound("raw", 1, i, f"b{i}".encode(), v) for i, v in enumerate(SEED_BODIES)]
        first, second = await asyncio.gather(worker.process(a), worker.process(b))
        return first, second

    try:
        first, second = asyncio.run(two_at_once())
    finally:
        worker.close()
    assert offsets(first) == [0, 1, 2]
    assert offsets(second) == [0, 1, 2, 3]
    assert {header(o, "x-source-partition") for o in first + second} == {None}
    assert all(o.reason is None for o in first + second)


def test_a_cancelled_batch_leaves_no_stale_answers() -> None:
    worker = offloaded()

    async def cancel_then_reuse() -> list[Outbound]:
        task = asyncio.ensure_future(worker.process(inbound([b"sleep:0.5", SEED_BODIES[0]])))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await worker.process(inbound([SEED_BODIES[1], SEED_BODIES[2]]))

    try:
        outs = asyncio.run(cancel_then_reuse())
    finally:
        worker.close()
    # Answers of the cancelled batch would have been taken for these: they are not.
    assert offsets(outs) == [0, 1]
    assert same_as_inline(outs[0], inbound([SEED_BODIES[1]])[0])
    assert worker.counters.helpers_replaced == 1


def test_helpers_that_cannot_start_raise() -> None:
    worker = OffloadedProcessor(INLINE, 1, "", MAX_BYTES, factory=failing_factory)
    try:
        with pytest.raises(HelperStartError):
            asyncio.run(worker.process(inbound([SEED_BODIES[0]])))
    finally:
        worker.close()
    assert worker.counters.helpers_started == 3 + 1  # three tries, and a spare for later


def test_close_stops_every_helper_even_a_frozen_one() -> None:
    worker = offloaded(processes=2)
    asyncio.run(worker.process(inbound(SEED_BODIES[:2])))
    pids = worker.helper_pids
    os.kill(pids[0], signal.SIGSTOP)  # cannot read its EOF: close() must kill it
    started = time.monotonic()
    worker.close()
    assert time.monotonic() - started < 3
    assert not any(alive(pid) for pid in pids)
    assert worker.helper_pids == []
    worker.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(worker.process(inbound([SEED_BODIES[0]])))


ORPHAN_SCRIPT = """
import os, sys, time
from worker.stream.offload import OffloadedProcessor, build_processor
p = OffloadedProcessor(build_processor("", 1 << 20, "e", "d"), 2, "", 1 << 20)
print(" ".join(map(str, p.helper_pids)), flush=True)
time.sleep(1.5)  # the helpers are loaded (or still loading) by now
if sys.argv[1] == "exit":
    os._exit(1)  # what app.py's grace timeout does
time.sleep(60)
"""


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_helpers_end_with_their_parent(how: str) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT, how], stdout=subprocess.PIPE, cwd=SEEDS.parent
    )
    assert parent.stdout is not None
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 2
    if how == "kill":
        time.sleep(1.5)
        parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in pids)
