"""Running the enrichment core in helper processes, with a wall-clock budget per article.

The core is CPU-bound Python; inline, every millisecond it takes is a millisecond in
which the event loop cannot fetch, publish or answer /readyz. Helper processes put the
loop and the core on different cores. They are managed here rather than by a
``ProcessPoolExecutor`` because the pool can neither stop one slow article (a future
cannot be cancelled once running) nor say which message killed a helper.

Each helper is a fresh interpreter (``subprocess``, not ``fork``: forking a process
that runs threads and an event loop is unsafe) joined to the parent by a socket pair.
The parent sends a batch as one frame; the helper answers one frame per message, in
order, so the parent always knows which message the helper is on and gives each one
``timeout_seconds`` from the previous answer. Waiting happens on the event loop (a
reader on the socket), never by blocking it.

Failures, each bounded:

- over budget: the helper is killed (SIGKILL, which also stops a frozen one), the
  message becomes a ``timeout`` dead letter, a replacement takes the rest of the batch;
- helper died (OOM killer, a signal, a crash): replaced, and the message it was on is
  retried once in the replacement; dying twice on it makes it an ``internal_error``;
- replacements that cannot start (``HelperStartError`` after three in a row): raised,
  since no article is at fault and dead-lettering everything would hide it.

No orphans: multiprocessing is not used, so no resource tracker or fork server is
started. Each helper asks the kernel for SIGKILL when its parent dies
(``PR_SET_PDEATHSIG``), then checks that the parent did not die before it asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from worker.stream.helper import HEADER, PICKLE_PROTOCOL, MessageProcessor, loads, send_frame

if TYPE_CHECKING:
    from worker.stream.processor import Inbound, Outbound, Processor

log = logging.getLogger("article_worker")

START_ATTEMPTS = 3  # consecutive helpers that fail to start before process() gives up
CLOSE_WAIT_SECONDS = 1.0  # close(): how long helpers get to exit on EOF before SIGKILL
_CHILD_CODE = "from worker.stream.helper import main; main()"


# Called in each helper as factory(gazetteer, max_bytes, enriched_topic, dlq_topic); it
# must be picklable, i.e. a module-level function.
ProcessorFactory = Callable[[str, int, str, str], MessageProcessor]


def build_processor(
    gazetteer: str,
    max_bytes: int,
    enriched_topic: str,
    dlq_topic: str,
    output_max_bytes: int | None = None,
) -> Processor:
    """The enrich-or-dead-letter processor for these settings (loads the gazetteer)."""
    from worker.enrich import Enricher
    from worker.enrich.entities import Gazetteer
    from worker.stream.processor import Processor

    loaded = Gazetteer.from_path(Path(gazetteer)) if gazetteer else None
    enricher = Enricher(gazetteer=loaded, max_bytes=max_bytes)
    if output_max_bytes is None:
        return Processor(enricher, enriched_topic, dlq_topic)
    return Processor(enricher, enriched_topic, dlq_topic, output_max_bytes)


class HelperStartError(RuntimeError):
    """Helper processes kept failing to start; the batch cannot be processed."""


@dataclass(slots=True)
class OffloadCounters:
    """Monotonic counts, for metrics (``helpers_replaced`` is the restart count)."""

    helpers_started: int = 0  # every helper started, the first ones included
    helpers_replaced: int = 0  # killed or dead helpers replaced (timeouts included)
    helper_deaths: int = 0  # helpers that died unexpectedly while they had work
    timeouts: int = 0  # messages over the budget (dead-lettered as timeout)
    retries: int = 0  # messages retried in a replacement after their helper died
    died_twice: int = 0  # messages dead-lettered because their helper died twice


# -- the parent's side ----------------------------------------------------------------------


class _StuckError(Exception):
    """The helper did not answer before the deadline."""


class _DiedError(Exception):
    """The helper's end of the socket closed: it exited or was killed."""


class _Helper:
    """One helper process and the parent's end of its socket (non-blocking)."""

    def __init__(self, init_frame: bytes) -> None:
        ours, theirs = socket.socketpair()
        try:
            # The parent pid is passed rather than read in the child, so the child can
            # tell whether the parent it was started by is still the one it has.
            self.proc = subprocess.Popen(  # noqa: S603 - our interpreter, our code
                [sys.executable, "-c", _CHILD_CODE, str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            # Only the child may hold its end: its death must show here as EOF.
            theirs.close()
        self.sock = ours
        self.ready = False
        self.started_at = time.monotonic()
        self._buffer = bytearray()
        # Small: it fits the socket buffer before the child reads. A child that is already
        # gone shows as EOF at the first read, a failed start like any other.
        with contextlib.suppress(OSError):
            send_frame(ours, init_frame)
        ours.setblocking(False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def read(self, deadline: float) -> tuple[str, Any]:
        """The next frame; raises _StuckError at ``deadline`` (monotonic), _DiedError on EOF."""
        while True:
            if len(self._buffer) >= HEADER.size:
                end = HEADER.size + HEADER.unpack_from(self._buffer)[0]
                if len(self._buffer) >= end:
                    frame = bytes(self._buffer[HEADER.size : end])
                    del self._buffer[:end]
                    return cast(tuple[str, Any], loads(frame))
            try:
                chunk = self.sock.recv(1 << 20)
            except BlockingIOError:
                # Only after a read found nothing: a late check of the clock (the loop was
                # busy) must not turn an answer already waiting here into a timeout.
                await _wait_fd(self.sock, deadline, write=False)
                continue
            except OSError as exc:
                raise _DiedError from exc
            if not chunk:
                raise _DiedError
            self._buffer += chunk

    async def send(self, payload: bytes, deadline: float) -> None:
        view = memoryview(HEADER.pack(len(payload)) + payload)
        while view:
            try:
                view = view[self.sock.send(view) :]
            except BlockingIOError:
                await _wait_fd(self.sock, deadline, write=True)
            except OSError as exc:
                raise _DiedError from exc

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.sock.close()

    async def exit_status(self) -> str:
        """How the helper ended, for logs and dead letters (it may take a moment to reap)."""
        for _ in range(50):
            code = self.proc.poll()
            if code is not None:
                return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
            await asyncio.sleep(0.01)
        return "still exiting"


async def _wait_fd(sock: socket.socket, deadline: float, *, write: bool) -> None:
    """Until ``sock`` is readable (writable), or raise :class:`_StuckError` at ``deadline``."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _StuckError
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    fd = sock.fileno()
    (loop.add_writer if write else loop.add_reader)(fd, wake)
    try:
        done, _ = await asyncio.wait({ready}, timeout=remaining)
    finally:
        (loop.remove_writer if write else loop.remove_reader)(fd)
    if not done:
        raise _StuckError


@dataclass(slots=True)
class _Slot:
    """A helper lent to one chunk; ``clean`` once the chunk ended with the helper idle."""

    helper: _Helper
    clean: bool = False


class OffloadedProcessor:
    """Processes messages in ``processes`` helper processes, ``timeout_seconds`` each.

    Helpers run a copy of ``processor`` (which also makes the dead letters decided here),
    or, given a ``factory``, what ``factory(gazetteer, max_bytes, enriched_topic,
    dlq_topic)`` returns in each (tests use it for deliberately slow processors).
    Helpers are started from the calling thread, and the kernel ties ``PDEATHSIG`` to
    that thread: create and use this from the event loop's (main) thread.
    """

    def __init__(
        self,
        processor: Processor,
        processes: int,
        gazetteer: str,
        max_bytes: int,
        *,
        timeout_seconds: float = 2.0,
        factory: ProcessorFactory | None = None,
        startup_timeout_seconds: float = 60.0,
    ) -> None:
        if processes < 1 or timeout_seconds <= 0 or startup_timeout_seconds <= 0:
            raise ValueError("processes must be >= 1 and the timeouts positive")
        from worker.enrich import errors

        self._processor = processor
        self._timeout_reason, self._internal_error = errors.TIMEOUT, errors.INTERNAL_ERROR
        self._timeout = timeout_seconds
        self._startup_timeout = startup_timeout_seconds
        args = (gazetteer, max_bytes, processor.enriched_topic, processor.dlq_topic)
        # Without a factory, helpers run a copy of ``processor`` as it is now: every
        # setting it was given (output_max_bytes, ...) included, and no gazetteer to load.
        # Pickled now, so an unpicklable factory (a lambda) fails here, not in a helper.
        payload = pickle.dumps(processor if factory is None else factory, PICKLE_PROTOCOL)
        self._init = pickle.dumps(
            (list(sys.path), factory is not None, payload, args), PICKLE_PROTOCOL
        )
        self.counters = OffloadCounters()
        self._helpers: set[_Helper] = set()
        self._idle: list[_Helper] = []
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._dying: list[subprocess.Popen[bytes]] = []
        self._closed = False
        # Started now, without waiting: they load the core while Faust connects.
        self._idle.extend(self._spawn() for _ in range(processes))

    @property
    def helper_pids(self) -> list[int]:
        """Process ids of the live helpers."""
        return sorted(h.pid for h in self._helpers)

    @property
    def unreaped_pids(self) -> list[int]:
        """Process ids of every helper not yet waited for: the live ones and those killed
        but not yet reaped. Their CPU time is still in /proc; a reaped one's is in this
        process's cutime/cstime (see :class:`~worker.stream.metrics.HelperProcessCollector`)."""
        procs = [h.proc for h in self._helpers] + self._dying
        return sorted(p.pid for p in procs if p.returncode is None)

    async def process(self, messages: list[Inbound]) -> list[Outbound]:
        """Outputs in input order; the batch is split across the helpers that are idle."""
        if self._closed:
            raise RuntimeError("OffloadedProcessor is closed")
        if not messages:
            return []
        slots = [_Slot(h) for h in await self._acquire(len(messages))]
        try:
            chunks = _split(messages, len(slots))
            # return_exceptions: every chunk must be over before its helper is released.
            results = await asyncio.gather(
                *(self._run(slot, chunk) for slot, chunk in zip(slots, chunks, strict=True)),
                return_exceptions=True,
            )
        finally:
            for slot in slots:
                self._release(slot)
        outs: list[Outbound] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            outs.extend(result)
        return outs

    async def _run(self, slot: _Slot, chunk: list[Inbound]) -> list[Outbound]:
        outs: list[Outbound] = []
        deaths = 0  # of helpers while on chunk[len(outs)]
        failed_starts = 0
        while len(outs) < len(chunk):
            helper = slot.helper
            try:
                await self._ready(helper)
            except (_DiedError, _StuckError) as exc:
                failed_starts += 1
                if failed_starts >= START_ATTEMPTS:  # release() puts a fresh one in its place
                    raise HelperStartError(
                        f"{failed_starts} helper processes in a row failed to start"
                    ) from exc
                self._replace(slot)
                continue
            failed_starts = 0
            start, deadline = time.perf_counter(), time.monotonic() + self._timeout
            try:
                # The send counts against the first message's budget: a frozen helper
                # that stops reading is stuck on it as much as one that stops answering.
                await helper.send(pickle.dumps(chunk[len(outs) :], PICKLE_PROTOCOL), deadline)
                while len(outs) < len(chunk):
                    tag, value = await helper.read(deadline)
                    if tag != "out":
                        detail = str(value)
                        value = self._processor.dead_letter(
                            chunk[len(outs)], self._internal_error, detail, start
                        )
                    outs.append(value)
                    deaths = 0
                    start, deadline = time.perf_counter(), time.monotonic() + self._timeout
            except _StuckError:
                outs.append(self._timed_out(slot, chunk[len(outs)], start))
                deaths = 0  # an earlier death on that message must not count for the next
            except _DiedError:
                deaths += 1
                out = await self._died(slot, chunk[len(outs)], start, deaths)
                if out is not None:
                    outs.append(out)
                    deaths = 0
        slot.clean = True
        return outs

    def _timed_out(self, slot: _Slot, message: Inbound, start: float) -> Outbound:
        self.counters.timeouts += 1
        log.warning(
            "%s/%d offset %d took over %g s; killing helper %d",
            *(message.topic, message.partition, message.offset, self._timeout, slot.helper.pid),
        )
        self._replace(slot)
        detail = f"enrichment took longer than {self._timeout:g} s; helper process killed"
        return self._processor.dead_letter(message, self._timeout_reason, detail, start)

    async def _died(
        self, slot: _Slot, message: Inbound, start: float, deaths: int
    ) -> Outbound | None:
        """Replace the dead helper; the message's dead letter on its second death, else
        None (retry it)."""
        status = await slot.helper.exit_status()
        self.counters.helper_deaths += 1
        log.error(
            "helper %d died (%s) on %s/%d offset %d; %s",
            *(slot.helper.pid, status, message.topic, message.partition, message.offset),
            "dead-lettering it" if deaths >= 2 else "retrying it in a new helper",
        )
        self._replace(slot)
        if deaths < 2:
            self.counters.retries += 1
            return None
        self.counters.died_twice += 1
        detail = f"helper process died ({status}) twice while processing this message"
        return self._processor.dead_letter(message, self._internal_error, detail, start)

    async def _ready(self, helper: _Helper) -> None:
        """Wait for the helper's ready frame (the budget starts once it has loaded)."""
        if helper.ready:
            return
        tag, value = await helper.read(helper.started_at + self._startup_timeout)
        if tag != "ready":
            log.error("helper %d could not start:\n%s", helper.pid, value)
            raise _DiedError
        helper.ready = True

    def _spawn(self) -> _Helper:
        if self._closed:
            raise RuntimeError("OffloadedProcessor is closed")
        self._dying = [p for p in self._dying if p.poll() is None]
        helper = _Helper(self._init)
        self._helpers.add(helper)
        self.counters.helpers_started += 1
        return helper

    def _kill(self, helper: _Helper) -> None:
        helper.kill()
        self._helpers.discard(helper)
        # Not waited for here (that could hold the loop); reaped at the next spawn or close.
        if helper.proc.poll() is None:
            self._dying.append(helper.proc)

    def _replace(self, slot: _Slot) -> None:
        self._kill(slot.helper)
        slot.helper = self._spawn()
        self.counters.helpers_replaced += 1

    async def _acquire(self, want: int) -> list[_Helper]:
        """At least one idle helper and at most ``want``."""
        while not self._idle:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                self._wake()  # we may have been woken: pass it on, or a helper stays idle
                raise
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
        taken, self._idle = self._idle[:want], self._idle[want:]
        self._wake()  # some left: the next in line may take them
        return taken

    def _release(self, slot: _Slot) -> None:
        if self._closed:
            self._kill(slot.helper)
            return
        if not slot.clean:
            # Failed or cancelled mid-chunk: its remaining answers would be taken for
            # those of the next batch. Not reusable.
            self._replace(slot)
        self._idle.append(slot.helper)
        self._wake()

    def _wake(self) -> None:
        if self._idle:
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(None)
                    return

    def close(self) -> None:
        """Stop every helper: EOF lets idle ones exit; stragglers are killed. Idempotent."""
        self._closed = True
        helpers, self._idle = list(self._helpers), []
        for helper in helpers:
            helper.sock.close()
        deadline = time.monotonic() + CLOSE_WAIT_SECONDS
        for helper in helpers:
            try:
                helper.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                helper.proc.kill()
                helper.proc.wait()
            self._helpers.discard(helper)
        for proc in self._dying:
            proc.wait()
        self._dying = []


def _split(messages: Sequence[Inbound], parts: int) -> list[list[Inbound]]:
    """``parts`` contiguous chunks of near-equal size, so concatenation keeps the order."""
    size, extra = divmod(len(messages), parts)
    chunks, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        chunks.append(list(messages[start:end]))
        start = end
    return chunks
