"""Liveness and readiness of the worker, decided from state the agent keeps up to date."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("article_worker")

#: While Kafka stays unreachable, how often the "still failing" reminder is logged.
REMINDER_SECONDS = 60.0


@dataclass(slots=True)
class Outage:
    """Whether the worker can talk to Kafka, logged as state changes rather than per error.

    The first failure is logged once as a warning, then a reminder every
    :data:`REMINDER_SECONDS`, and recovery once; :class:`Health` turns not-ready when a
    failure has lasted ``stall_seconds``.
    """

    clock: Callable[[], float] = time.monotonic
    since: float | None = None
    failures: int = 0
    last_error: str = ""
    _reminded: float = 0.0

    def failing(self, exc: BaseException) -> None:
        now = self.clock()
        self.failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"[:300]
        if self.since is None:
            self.since = self._reminded = now
            log.warning("cannot reach Kafka (%s); retrying until it answers", self.last_error)
        elif now - self._reminded >= REMINDER_SECONDS:
            self._reminded = now
            log.warning(
                "Kafka still unreachable after %.0f s (%d failures; last: %s)",
                now - self.since,
                self.failures,
                self.last_error,
            )

    def recovered(self) -> None:
        if self.since is not None:
            log.warning(
                "Kafka reachable again after %.0f s (%d failures)",
                self.clock() - self.since,
                self.failures,
            )
            self.since = None
            self.failures = 0

    def seconds(self) -> float:
        """How long the current failure has lasted (0 when there is none)."""
        return 0.0 if self.since is None else self.clock() - self.since


@dataclass(slots=True)
class Health:
    """Readiness: started, a member of the consumer group, not stopping, able to reach
    Kafka, and not stalled.

    Stalled means there is lag (messages waiting in assigned partitions) and nothing
    was processed for ``stall_seconds``; with no lag, an idle worker is healthy, and the
    stall clock starts afresh when lag appears after an idle spell. Unreachable means a
    publish, commit or lag request has failed continuously for ``stall_seconds``, or a
    batch has waited that long for its outputs to be acknowledged.
    """

    stall_seconds: float
    clock: Callable[[], float] = time.monotonic
    started: bool = False
    in_group: bool = False
    stopping: bool = False
    lag: int = 0
    last_progress: float = field(default=0.0)
    outage: Outage = field(default_factory=Outage)
    publishing_since: float | None = None

    def __post_init__(self) -> None:
        self.outage.clock = self.clock

    def mark_progress(self) -> None:
        self.last_progress = self.clock()

    def joined(self) -> None:
        self.in_group = True
        self.mark_progress()  # a new assignment starts the stall clock afresh

    def set_lag(self, lag: int) -> None:
        if lag > 0 and self.lag == 0:
            # Idle time before a burst is not a stall.
            self.mark_progress()
        self.lag = lag

    def readiness(self) -> tuple[bool, str]:
        """(ready, reason) for /readyz."""
        if self.stopping:
            return False, "stopping"
        if not self.started:
            return False, "starting"
        if not self.in_group:
            return False, "not yet a member of the consumer group"
        down = self.outage.seconds()
        if down >= self.stall_seconds:
            return False, f"cannot reach Kafka for {down:.0f} s: {self.outage.last_error}"
        now = self.clock()
        if self.publishing_since is not None and now - self.publishing_since >= self.stall_seconds:
            waited = now - self.publishing_since
            return False, f"outputs not acknowledged for {waited:.0f} s"
        idle = now - self.last_progress
        if self.lag > 0 and idle > self.stall_seconds:
            return False, f"stalled: lag {self.lag}, nothing processed for {idle:.0f} s"
        return True, "ok"
