"""CPU time of one call, best of a few tries, for the core's linear-cost checks.

CPU time of this process (``time.process_time``), so that other work on a shared
two-core machine does not count; each try starts after a garbage collection and with the
repair's memos cleared, so a retried input never times as cache hits.

A try is repeated only while it could still change the verdict: a measurement that must
stay under a limit stops at the first try under it (more tries can only lower the best),
so a passing check costs one run of the large input instead of three.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from worker.enrich import mojibake

GROWTH_LIMIT = 8.0  # for 4x the size; linear is 4, quadratic 16
FLOOR_SECONDS = 0.01  # below this, the small input's time is noise
CEILING_SECONDS = 2.0  # at 1 MiB: the worker's default per-article budget
TRIES = 3


def best_cpu_seconds(
    call: Callable[[], object],
    tries: int = 3,
    good_enough: Callable[[float], bool] | None = None,
) -> float:
    """The least CPU time of up to ``tries`` runs of ``call``, stopping early at the first
    that ``good_enough`` accepts."""
    best = float("inf")
    # Whatever exists before the first try is set aside from the collector (gc.freeze):
    # late in a whole run the heap holds a great many objects (corpora, Hypothesis), and
    # a full collection before each try cost more than the call being timed. The
    # collection before a try still clears whatever the previous try left, and no
    # collection during the call has the old heap to walk; unfreeze hands it back after.
    gc.freeze()
    try:
        for _ in range(tries):
            mojibake.clear_caches()
            gc.collect()
            start = time.process_time()
            call()
            best = min(best, time.process_time() - start)
            if good_enough is not None and good_enough(best):
                break
    finally:
        gc.unfreeze()
    return best


def growth(small: Callable[[], object], large: Callable[[], object]) -> tuple[float, float, float]:
    """``(t_small, t_large, limit)`` for an input four times the size of another.

    The two are timed in turns, the large one first, so that every small try runs in the
    state the large input leaves the allocator in: timed before it (a fresh heap), the
    small input ran up to twice as fast as after it, and the ratio of the two bests then
    measured the heap, not the core (9.1 against 8 in one full run). The small input
    gets all its tries (its best sets the limit, so a noisy high reading would only
    loosen it); the large one is not tried again once within ``GROWTH_LIMIT`` times the
    small one's best so far, floored at ``FLOOR_SECONDS``.
    """
    t_small = t_large = float("inf")
    for _ in range(TRIES):
        if t_large > GROWTH_LIMIT * max(t_small, FLOOR_SECONDS) or t_small == float("inf"):
            t_large = min(t_large, best_cpu_seconds(large, 1))
        t_small = min(t_small, best_cpu_seconds(small, 1))
    return t_small, t_large, GROWTH_LIMIT * max(t_small, FLOOR_SECONDS)


def within_ceiling(call: Callable[[], object]) -> float:
    """The best CPU time of ``call`` (a 1 MiB input), stopping at the first try under
    ``CEILING_SECONDS``."""
    return best_cpu_seconds(call, TRIES, lambda t: t < CEILING_SECONDS)
