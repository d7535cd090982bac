"""The helper-process path gives what the inline processor gives."""

from __future__ import annotations

import asyncio

from tests.conftest import SEEDS
from worker.stream.offload import OffloadedProcessor, build_processor
from worker.stream.processor import Inbound, Outbound

VOLATILE = {"x-rejected-at"}


def comparable(out: Outbound) -> tuple[object, ...]:
    headers = [h for h in out.headers if h[0] not in VOLATILE]
    return (out.topic, out.key, out.value, headers, out.reason)


def test_helper_process_matches_inline() -> None:
    inline = build_processor("", 1024 * 1024, "enriched", "dlq")
    messages = [
        Inbound("raw", 0, i, None, path.read_bytes())
        for i, path in enumerate(sorted(SEEDS.glob("0*")))
    ] + [Inbound("raw", 0, 99, b"k", b'{"body": 1}')]
    offloaded = OffloadedProcessor(inline, 1, "", 1024 * 1024)
    try:
        outs = asyncio.run(offloaded.process(messages))
    finally:
        offloaded.close()
    assert [comparable(o) for o in outs] == [comparable(inline.process(m)) for m in messages]
    assert outs[-1].reason == "body_not_string"


def test_helpers_run_a_copy_of_the_processor_as_configured() -> None:
    # Set after construction, as app.py does: the helpers must apply it too.
    inline = build_processor("", 1024 * 1024, "enriched", "dlq")
    inline.output_max_bytes = 4096
    messages = [
        Inbound("raw", 0, i, None, path.read_bytes())
        for i, path in enumerate(sorted(SEEDS.glob("0*")))
    ]
    offloaded = OffloadedProcessor(inline, 1, "", 1024 * 1024)
    try:
        outs = asyncio.run(offloaded.process(messages))
    finally:
        offloaded.close()
    assert "output_too_large" in {o.reason for o in outs}
    assert [comparable(o) for o in outs] == [comparable(inline.process(m)) for m in messages]
