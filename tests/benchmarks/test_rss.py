"""The RSS sampler against real processes, and the harness stopping what it started."""

from __future__ import annotations

import os
import socket
import sys
import textwrap
import time
from pathlib import Path

import pytest

from benchmarks import harness, proc, rss
from worker.settings import Settings

# A parent that holds ~60 MiB and starts a child that holds ~30 MiB; both then wait.
FAMILY = textwrap.dedent(
    """
    import subprocess, sys, time
    ballast = bytearray(60 * 1024 * 1024)
    child = subprocess.Popen([sys.executable, "-c",
        "import time; b = bytearray(30 * 1024 * 1024); print('up', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE)
    child.stdout.readline()
    print(child.pid, flush=True)
    time.sleep(60)
    """
)


def wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sampler_counts_the_process_and_its_children() -> None:
    child = proc.start("rss-test", [sys.executable, "-c", FAMILY], os.environ, rss_interval=0.1)
    try:
        wait_for(lambda: any(s.processes >= 2 for s in child.sampler.samples))
        time.sleep(0.5)
        summary = child.sampler.summary()
        assert summary is not None
        # The main process's own ballast, then both together (interpreters ~10 MiB each).
        assert 60 <= summary.peak_main_mib < 120
        assert summary.peak_total_mib >= summary.peak_main_mib + 30
        assert summary.max_processes == 2
        assert rss.descendants(child.proc.pid) == list(child.sampler.seen)
    finally:
        child.stop(timeout=5)
    assert not alive(child.proc.pid)
    # The grandchild outlived its parent (SIGTERM does not reach it): stop() killed it.
    assert child.leftovers
    wait_for(lambda: not any(alive(p) for p in child.leftovers))


def test_stop_kills_a_process_that_ignores_sigterm() -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    child = proc.start("stubborn", [sys.executable, "-c", code], os.environ)
    time.sleep(0.5)
    started = time.monotonic()
    status = child.stop(timeout=1)
    assert status == -9
    assert time.monotonic() - started < 10


def test_vm_rss_of_a_missing_process() -> None:
    assert rss.vm_rss_kib(2**22 + 12345) is None
    assert rss.summarize([]) is None


def test_summary_windows_and_drift() -> None:
    samples = [rss.Sample(t, 1024 * (100 + t), 1024 * (200 + t), 1) for t in range(40)]
    summary = rss.summarize(samples)
    assert summary is not None
    assert summary.peak_total_mib == 239
    assert summary.steady_total_mib == pytest.approx(229.5)  # median of the second half
    assert summary.drift_total_mib == pytest.approx(20.0)  # last quarter - second quarter
    sampler = rss.RssSampler(os.getpid(), samples=samples)
    window = sampler.summary(10, 19)
    assert window is not None
    assert window.samples == 10
    assert window.peak_main_mib == 119


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fake_kafka_sh(tmp_path: Path) -> Path:
    script = tmp_path / "kafka.sh"
    script.write_text(f'#!/bin/sh\necho "$1" >> {tmp_path}/calls\n')
    script.chmod(0o755)
    return script


def test_a_broker_is_started_only_when_none_answers_and_then_stopped(tmp_path: Path) -> None:
    script = fake_kafka_sh(tmp_path)
    down = Settings(broker=f"kafka://127.0.0.1:{closed_port()}")
    broker = harness.LocalBroker(script, log=lambda _line: None)
    with pytest.raises(RuntimeError, match="--start-broker"):
        broker.ensure(down, allowed=False)
    assert not (tmp_path / "calls").exists()
    broker.ensure(down, allowed=True)
    broker.stop()
    broker.stop()  # once only
    assert (tmp_path / "calls").read_text().split() == ["start", "stop"]


def test_a_running_broker_is_left_alone(tmp_path: Path) -> None:
    script = fake_kafka_sh(tmp_path)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        up = Settings(broker=f"kafka://127.0.0.1:{listener.getsockname()[1]}")
        broker = harness.LocalBroker(script, log=lambda _line: None)
        broker.ensure(up, allowed=True)
        broker.stop()
    assert not (tmp_path / "calls").exists()
