"""Numbers from measurements: percentiles, rates from broker timestamps, ratios, targets."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: The latency percentiles reported (p50, p90, p99, p99.9).
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linearly interpolated between the
    closest ranks (numpy's default). Raises ValueError on an empty sequence."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0-100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def pkey(q: float) -> str:
    """The JSON key of percentile ``q``: ``p50``, ``p99``, ``p99.9``."""
    return f"p{q:g}"


def summarize(values: Sequence[float], unit_scale: float = 1.0) -> dict[str, float]:
    """Count, mean, max and the :data:`PERCENTILES` of ``values`` (times ``unit_scale``)."""
    if not values:
        return {"n": 0}
    out: dict[str, float] = {"n": len(values)}
    for q in PERCENTILES:
        out[pkey(q)] = percentile(values, q) * unit_scale
    out["mean"] = sum(values) / len(values) * unit_scale
    out["max"] = max(values) * unit_scale
    return out


def rate_from_timestamps(stamps_ms: Iterable[int]) -> tuple[float, float]:
    """(messages per second, span in seconds) from the timestamps of the outputs.

    The first output marks the start, and the rate counts the outputs stamped after it
    over the span from the first to the last: the outputs stamped with the first are
    a batch that was processed before the span began (a worker publishes a batch of 100
    at once), so counting them would overstate the rate by a batch, a third with a 300
    message backlog. Start-up before the first output is not counted either. With the
    span under a millisecond (all in one tick), it is taken as 1 ms.
    """
    ordered = sorted(stamps_ms)
    if len(ordered) < 2:
        return 0.0, 0.0
    span = (ordered[-1] - ordered[0]) / 1000
    if span <= 0:
        return (len(ordered) - 1) / 1e-3, span
    after = len(ordered) - bisect.bisect_right(ordered, ordered[0])
    return after / span, span


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the divisor is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def median(values: Sequence[float]) -> float:
    """The median (the 50th percentile)."""
    return percentile(values, 50)


@dataclass(frozen=True, slots=True)
class Target:
    """One of the issue's targets, with the figure it is judged on."""

    name: str
    goal: str  # as written in the table: ">= 5,000/s"
    value: float | None
    shown: str  # the figure as shown: "1,761/s"
    met: bool | None  # None: not measured in this run

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "goal": self.goal,
            "value": self.value,
            "shown": self.shown,
            "met": self.met,
        }


def at_least(name: str, goal: str, value: float | None, bound: float, shown: str) -> Target:
    """A target met when ``value >= bound``."""
    return Target(name, goal, value, shown, None if value is None else value >= bound)


def at_most(name: str, goal: str, value: float | None, bound: float, shown: str) -> Target:
    """A target met when ``value <= bound``."""
    return Target(name, goal, value, shown, None if value is None else value <= bound)
