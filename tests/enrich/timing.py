"""CPU time of one call, best of a few tries, for the core's linear-cost checks.

CPU time of this process (``time.process_time``), so that other work on a shared
two-core machine does not count; each try starts after a garbage collection and with the
repair's memos cleared, so a retried input never times as cache hits.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from worker.enrich import mojibake


def best_cpu_seconds(
    call: Callable[[], object],
    tries: int = 3,
    good_enough: Callable[[float], bool] | None = None,
) -> float:
    """The least CPU time of up to ``tries`` runs of ``call``, stopping early at the first
    that ``good_enough`` accepts."""
    best = float("inf")
    for _ in range(tries):
        mojibake.clear_caches()
        gc.collect()
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
        if good_enough is not None and good_enough(best):
            break
    return best
