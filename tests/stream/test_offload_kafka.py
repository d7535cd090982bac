"""No orphans: however the worker ends (kill -9, the grace-timeout exit), no process it
started lives on. Real worker processes on the real broker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import SEEDS
from tests.stream.conftest import Topics, WorkerProcess, produce

pytestmark = pytest.mark.kafka


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first), or None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def descendants(root: int) -> dict[int, str]:
    """Every process below ``root`` (helpers, a resource tracker if any, their children),
    with its start time, so a recycled pid is not taken for the same process."""
    parents: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = (int(fields[1]), fields[19])
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, started) in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                frontier.append(pid)
    return found


def running(processes: dict[int, str]) -> list[int]:
    """Those still alive; a zombie (exited, not yet reaped by PID 1) counts as gone."""
    alive = []
    for pid, started in processes.items():
        fields = _stat(pid)
        if fields is not None and fields[19] == started and fields[0] not in {"Z", "X"}:
            alive.append(pid)
    return alive


def wait_gone(processes: dict[int, str], timeout: float) -> tuple[list[int], float]:
    """Processes still running after ``timeout``, and how long it took for all to go."""
    started = time.monotonic()
    while running(processes) and time.monotonic() - started < timeout:
        time.sleep(0.02)
    return running(processes), time.monotonic() - started


def helpers_of(worker: WorkerProcess, count: int, timeout: float = 30) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    tree = descendants(worker.proc.pid)
    while len(tree) < count and time.monotonic() < deadline:
        time.sleep(0.1)
        tree = descendants(worker.proc.pid)
    assert len(tree) >= count, tree
    return tree


def articles(count: int) -> list[tuple[bytes | None, bytes]]:
    body = (SEEDS / "000_5ed99ae0c0ed6bfe.txt").read_text(encoding="utf-8")
    return [(f"o-{i}".encode(), orjson.dumps({"id": f"o-{i}", "body": body})) for i in range(count)]


def wait_metric(worker: WorkerProcess, name: str, at_least: float, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while worker.metric(name) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    assert worker.metric(name) >= at_least, worker.log.read_text()[-3000:]


def test_kill_9_of_the_worker_leaves_no_process_behind(
    bootstrap: str, topics: Topics, start_worker: Any
) -> None:
    worker = start_worker(topics, ARTICLE_WORKER_ENRICH_PROCESSES="2")
    helpers_of(worker, 2)
    produce(bootstrap, topics.raw, articles(2000))
    wait_metric(worker, "article_worker_articles_enriched_total", 50)  # helpers are busy
    tree = descendants(worker.proc.pid)
    worker.proc.kill()
    worker.proc.wait(timeout=10)
    left, _ = wait_gone(tree, 5)
    assert not left, f"still running after kill -9 of the worker: {left} of {tree}"


def test_grace_timeout_exit_leaves_no_process_behind(
    bootstrap: str, topics: Topics, start_worker: Any
) -> None:
    worker = start_worker(
        topics,
        ARTICLE_WORKER_ENRICH_PROCESSES="2",
        ARTICLE_WORKER_SHUTDOWN_GRACE_SECONDS="1",
        ARTICLE_WORKER_ARTICLE_TIMEOUT_SECONDS="300",
    )
    tree = helpers_of(worker, 2)
    # Warm up first: a helper frozen before its first instructions could not even ask
    # to die with its parent; one that has enriched something has asked.
    produce(bootstrap, topics.raw, articles(10))
    wait_metric(worker, "article_worker_articles_enriched_total", 10)
    for pid in tree:
        os.kill(pid, signal.SIGSTOP)  # frozen: whatever they get, they never answer
    produce(bootstrap, topics.raw, articles(20))
    wait_metric(worker, "article_worker_messages_consumed_total", 11)  # a batch is with them
    tree = descendants(worker.proc.pid)
    started = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(timeout=15) == 1, worker.log.read_text()[-3000:]
    exited = time.monotonic() - started
    assert 0.9 < exited < 5
    left, _ = wait_gone(tree, 5)
    assert not left, f"still running after the grace-timeout exit: {left} of {tree}"
