"""Keeping logs readable through an outage: each repeated message at most a few times.

While Kafka is away, aiokafka and Faust log the same connection error for every retry
(thousands of lines a second were measured). The worker logs outages as state changes
itself (:class:`~worker.stream.health.Outage`); this filter lets each distinct message
template through ``burst`` times per ``window`` seconds, then says how many it held back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

#: Loggers whose repeats are limited; the worker's own logger is left alone.
NOISY_LOGGERS = ("aiokafka", "faust", "mode", "kafka")


class RepeatFilter(logging.Filter):
    """Passes each (logger, level, message template) ``burst`` times per ``window`` s."""

    def __init__(
        self, burst: int = 3, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.clock = clock
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(NOISY_LOGGERS):
            return True
        key = (record.name, record.levelno, str(record.msg)[:200])
        now = self.clock()
        start, count = self._seen.get(key, (now, 0))
        if now - start >= self.window:
            held = count - self.burst
            if held > 0:
                record.msg = (
                    f"{record.msg} [{held} similar messages held back in {self.window:.0f} s]"
                )
            start, count = now, 0
        self._seen[key] = (start, count + 1)
        if len(self._seen) > 10_000:  # templates are few; this only bounds memory
            self._seen.clear()
        return count < self.burst


def install_repeat_filter(**options: float) -> RepeatFilter:
    """Attach a :class:`RepeatFilter` to every handler of the root logger."""
    repeat = RepeatFilter(**options)  # type: ignore[arg-type]
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    for handler in root.handlers:
        handler.addFilter(repeat)
    return repeat
