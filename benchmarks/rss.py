"""Resident memory of a process and its descendants, sampled from ``/proc`` in a thread.

``VmRSS`` of ``/proc/<pid>/status`` for the main process, and the same summed over it
and every descendant (the worker's helper processes; with a fork server, the server and
its children). Pages shared between parent and forked helpers count once per process,
so the total overstates what the machine loses; it is what a container limit that
counts RSS sees, which is the question the target asks.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.stats import median

PROC = Path("/proc")


def vm_rss_kib(pid: int, proc: Path = PROC) -> int | None:
    """``VmRSS`` of ``pid`` in KiB; None when the process is gone (or a zombie)."""
    try:
        text = (proc / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None  # a zombie has no VmRSS line


def _children(pid: int, proc: Path) -> list[int]:
    """Direct children of ``pid``: ``/proc/<pid>/task/*/children`` where the kernel has it,
    else a scan of every process's parent."""
    task_dir = proc / str(pid) / "task"
    found: list[int] = []
    try:
        tasks = list(task_dir.iterdir())
    except OSError:
        return found
    listed = False
    for task in tasks:
        try:
            found.extend(int(c) for c in (task / "children").read_text().split())
            listed = True
        except OSError:
            continue
    if listed:
        return found
    for entry in proc.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                # The command name is in parentheses and may hold spaces: split after it.
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def descendants(pid: int, proc: Path = PROC) -> list[int]:
    """Every living descendant of ``pid`` (children, their children, ...)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in _children(todo.pop(), proc):
            if child not in out:
                out.append(child)
                todo.append(child)
    return out


@dataclass(frozen=True, slots=True)
class Sample:
    t: float  # seconds since the sampler started
    main_kib: int
    total_kib: int
    processes: int


@dataclass(frozen=True, slots=True)
class RssSummary:
    """Peak and steady memory of one run, in MiB (steady: median of the second half)."""

    samples: int
    peak_main_mib: float
    peak_total_mib: float
    steady_main_mib: float
    steady_total_mib: float
    drift_total_mib: float  # mean of the last quarter minus mean of the second quarter
    max_processes: int

    def as_dict(self) -> dict[str, float]:
        return {
            "samples": self.samples,
            "peak_main_mib": round(self.peak_main_mib, 1),
            "peak_total_mib": round(self.peak_total_mib, 1),
            "steady_main_mib": round(self.steady_main_mib, 1),
            "steady_total_mib": round(self.steady_total_mib, 1),
            "drift_total_mib": round(self.drift_total_mib, 1),
            "max_processes": self.max_processes,
        }


def summarize(samples: Sequence[Sample]) -> RssSummary | None:
    """Peak, steady (median of the second half) and drift of ``samples``; None if none."""
    if not samples:
        return None
    half = list(samples[len(samples) // 2 :])
    n = len(samples)
    second_quarter = samples[n // 4 : n // 2] or samples[:1]
    last_quarter = samples[3 * n // 4 :] or samples[-1:]

    def mean_total(part: Sequence[Sample]) -> float:
        return sum(s.total_kib for s in part) / len(part) / 1024

    return RssSummary(
        samples=n,
        peak_main_mib=max(s.main_kib for s in samples) / 1024,
        peak_total_mib=max(s.total_kib for s in samples) / 1024,
        steady_main_mib=median([s.main_kib for s in half]) / 1024,
        steady_total_mib=median([s.total_kib for s in half]) / 1024,
        drift_total_mib=mean_total(last_quarter) - mean_total(second_quarter),
        max_processes=max(s.processes for s in samples),
    )


@dataclass
class RssSampler:
    """Samples ``pid`` and its descendants every ``interval`` seconds until stopped.

    Use as a context manager, or :meth:`start` and :meth:`stop`. :attr:`seen` keeps every
    descendant pid met (with its start time), so that the caller can make sure none is
    left behind once the main process is gone.
    """

    pid: int
    interval: float = 0.25
    proc: Path = PROC
    samples: list[Sample] = field(default_factory=list)
    seen: dict[int, str] = field(default_factory=dict)  # pid -> /proc start time
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = field(default_factory=time.monotonic)

    def sample(self, started: float) -> Sample | None:
        """One sample now (None once the main process is gone)."""
        main = vm_rss_kib(self.pid, self.proc)
        if main is None:
            return None
        total, count = main, 1
        for child in descendants(self.pid, self.proc):
            rss = vm_rss_kib(child, self.proc)
            if rss is None:
                continue
            if child not in self.seen:
                self.seen[child] = start_time(child, self.proc) or ""
            total += rss
            count += 1
        return Sample(time.monotonic() - started, main, total, count)

    def now(self) -> float:
        """The sampler's clock (seconds since it was made), for :meth:`summary` windows."""
        return time.monotonic() - self._started

    def summary(self, since: float = 0.0, until: float | None = None) -> RssSummary | None:
        """The summary of the samples taken from ``since`` to ``until`` (sampler clock);
        of all of them if the window holds none."""
        end = float("inf") if until is None else until
        window = [s for s in self.samples if since <= s.t <= end]
        return summarize(window or self.samples)

    def _loop(self) -> None:
        while not self._stop.is_set():
            got = self.sample(self._started)
            if got is not None:
                self.samples.append(got)
            self._stop.wait(self.interval)

    def start(self) -> RssSampler:
        self._thread = threading.Thread(target=self._loop, name=f"rss-{self.pid}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> RssSummary | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return summarize(self.samples)

    def __enter__(self) -> RssSampler:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_time(pid: int, proc: Path = PROC) -> str | None:
    """The start time field of ``/proc/<pid>/stat`` (tells a pid from its reuse)."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if len(fields) > 19 else None
