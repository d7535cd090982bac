"""Liveness and readiness of the worker, decided from state the agent keeps up to date."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Health:
    """Readiness: started, a member of the consumer group, not stopping, and not stalled.

    Stalled means there is lag (messages waiting in assigned partitions) and nothing
    was processed for ``stall_seconds``; with no lag, an idle worker is healthy.
    """

    stall_seconds: float
    clock: Callable[[], float] = time.monotonic
    started: bool = False
    in_group: bool = False
    stopping: bool = False
    lag: int = 0
    last_progress: float = field(default=0.0)

    def mark_progress(self) -> None:
        self.last_progress = self.clock()

    def joined(self) -> None:
        self.in_group = True
        self.mark_progress()  # a new assignment starts the stall clock afresh

    def readiness(self) -> tuple[bool, str]:
        """(ready, reason) for /readyz."""
        if self.stopping:
            return False, "stopping"
        if not self.started:
            return False, "starting"
        if not self.in_group:
            return False, "not yet a member of the consumer group"
        idle = self.clock() - self.last_progress
        if self.lag > 0 and idle > self.stall_seconds:
            return False, f"stalled: lag {self.lag}, nothing processed for {idle:.0f} s"
        return True, "ok"
