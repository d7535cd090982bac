"""A Faust monitor without per-message bookkeeping.

Faust calls its monitor (a sensor) for every message in and out of a stream: counters,
timestamps and a dictionary per event, for Faust's own statistics pages, which this
worker does not serve (its metrics are :mod:`worker.stream.metrics`). Those calls were
a measurable part of a passthrough's cost per message; the rest of the monitor (commit,
send, rebalance and web-request timings) is kept.
"""

from __future__ import annotations

from typing import Any

from faust.sensors.monitor import Monitor


class QuietMonitor(Monitor):
    """:class:`faust.sensors.Monitor` minus the hooks called once per message."""

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        """Nothing per message (see the module docstring)."""

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        """Nothing per event; no state, so ``on_stream_event_out`` gets None."""

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        """Nothing per event."""

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        """Nothing per message."""

    def track_tp_end_offset(self, tp: Any, offset: int) -> None:
        """Nothing per message: the worker computes its own lag (``consumer_lag``)."""
