"""Measured processes: started with a log file, sampled, and always stopped.

:func:`stop_all` ends every child still running (the harness calls it in ``finally``):
SIGTERM, then SIGKILL after a timeout; then any descendant the RSS sampler saw that
outlived its parent (a helper process orphaned by the kill) is killed too, by pid, and
only when its start time shows it is still the same process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from benchmarks.rss import RssSampler, start_time

ROOT = Path(__file__).resolve().parents[1]
_RUNNING: list[Child] = []


@dataclass
class Child:
    """A started process, its log (stdout and stderr) and its RSS sampler."""

    name: str
    proc: subprocess.Popen[bytes]
    log: IO[bytes]
    sampler: RssSampler
    stopped: bool = False
    leftovers: list[int] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, size: int = 3000) -> str:
        self.log.flush()
        self.log.seek(0, os.SEEK_END)
        end = self.log.tell()
        self.log.seek(max(0, end - size))
        return self.log.read().decode("utf-8", "replace")

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop the process (SIGTERM, SIGKILL after ``timeout``) and its orphans; the exit
        status (None if it never ended)."""
        if self.stopped:
            return self.proc.returncode
        self.stopped = True
        self.sampler.stop()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(10)
        for pid, started in self.sampler.seen.items():
            if started and start_time(pid) == started:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
                    self.leftovers.append(pid)
        with contextlib.suppress(ValueError):
            _RUNNING.remove(self)
        return self.proc.returncode


def start(
    name: str,
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    rss_interval: float = 0.25,
) -> Child:
    """Start ``command`` in the repository root (so ``-m benchmarks...`` imports) and begin
    sampling its memory."""
    log = tempfile.TemporaryFile(prefix=f"bench-{name}-")  # noqa: SIM115 - Child owns it
    proc = subprocess.Popen(
        list(command), env=dict(env), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    child = Child(name, proc, log, RssSampler(proc.pid, rss_interval).start())
    _RUNNING.append(child)
    return child


def stop_all(timeout: float = 30.0) -> None:
    """Stop every child not stopped yet."""
    for child in list(_RUNNING):
        child.stop(timeout)
