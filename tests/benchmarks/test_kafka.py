"""The client and framework baselines on the real broker: every message comes out."""

from __future__ import annotations

import uuid

import pytest

from benchmarks import workload
from benchmarks.stream import CONFIGS, Bench
from tests.stream.conftest import bootstrap  # the session's broker (started if none runs)
from worker.kafka_clients import new_admin
from worker.settings import Settings

__all__ = ["bootstrap"]

pytestmark = pytest.mark.kafka


def test_aiokafka_loop_and_passthrough_forward_every_message(bootstrap: str) -> None:
    settings = Settings(broker=f"kafka://{bootstrap}")
    bench = Bench(settings, f"test-{uuid.uuid4().hex[:6]}", lambda _line: None)
    backlog = workload.generate(300)
    configs = {c.name: c for c in CONFIGS}
    try:
        for name in ("aiokafka", "passthrough"):
            run = bench.run_rate(configs[name], backlog, stall=40)
            assert run.error is None, run.error
            assert run.outputs == 300, name
            assert run.dead_letters == 0
            assert run.duplicates == 0
            assert run.log_append_time
            assert run.rate > 0
            assert run.exit_status == 0, name  # stopped by SIGTERM, cleanly
            assert run.rss is not None
            assert run.rss.peak_main_mib > 20
    finally:
        assert bench.cleanup() == []
    admin = new_admin(settings)
    try:
        left = [t for t in admin.list_topics() if t.startswith(f"bench-{bench.run_id}")]
    finally:
        admin.close()
    assert left == []
    assert len(bench.topics) == 6
