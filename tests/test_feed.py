"""The feeder's own logic (keys, progress); sending is tested against the broker."""

from __future__ import annotations

import io

from worker.feed import Progress, message_key


def test_message_key() -> None:
    assert message_key(b'{"id": "a-1", "body": "x"}') == b"a-1"
    assert message_key(b'{"id": 7, "body": "x"}') == b"7"
    assert message_key(b'{"id": true, "body": "x"}') is None
    assert message_key(b"plain text") is None
    assert message_key(b"{broken") is None


def test_progress_is_quiet_off_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(10, out)
    progress.update(10, final=True)
    assert out.getvalue() == ""
