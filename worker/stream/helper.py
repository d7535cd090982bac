"""The helper process's side of :mod:`worker.stream.offload`: its entry point and framing.

A helper is started as ``python -c "from worker.stream.helper import main; main()" FD
PARENT_PID``. It ignores SIGINT/SIGTERM (the parent drains first, then closes it), asks
the kernel to SIGKILL it when the parent dies, receives a pickled processor factory,
then answers each batch frame with one frame per message, in order.

Only the standard library at import time: a helper imports this module before it can
ask to die with its parent, and the core's imports take long enough (up to a second on
a busy machine) to leave a helper unprotected meanwhile. The core comes with the
processor.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import socket
import struct
import sys
import traceback
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from worker.stream.processor import Inbound, Outbound

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
HEADER = struct.Struct("!Q")  # frame = 8-byte big-endian length + pickle
PICKLE_PROTOCOL = pickle.HIGHEST_PROTOCOL


class MessageProcessor(Protocol):
    """What a helper runs on each message (a :class:`Processor`, or a test double)."""

    def process(self, message: Inbound) -> Outbound: ...


def main() -> None:
    """Entry point of a helper (see the module docstring)."""
    # Signals are the parent's business: it finishes in-flight work, then closes us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    fd, parent = int(sys.argv[1]), int(sys.argv[2])
    _die_with_parent(parent)
    sock = socket.socket(fileno=fd)
    try:
        init = recv_frame(sock)
        if init is None:
            return
        path, made, payload, args = loads(init)
        # The parent's import path first, so the factory's module (a test's, say) imports.
        sys.path[:0] = [p for p in path if p not in sys.path]
        loaded = loads(payload)
        processor = cast(MessageProcessor, loaded(*args) if made else loaded)
    except Exception:  # noqa: BLE001 - reported to the parent, which decides
        send_frame(sock, pickle.dumps(("error", traceback.format_exc()), PICKLE_PROTOCOL))
        sys.exit(1)
    # EOF or a broken pipe: the parent closed us (close() while we were busy) or is gone.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        send_frame(sock, pickle.dumps(("ready", None), PICKLE_PROTOCOL))
        while (frame := recv_frame(sock)) is not None:
            for message in cast("list[Inbound]", loads(frame)):
                reply: tuple[str, object]
                try:
                    reply = ("out", processor.process(message))
                except Exception as exc:  # noqa: BLE001 - Processor never raises; a double may
                    reply = ("error", f"{type(exc).__name__}: {exc}")
                send_frame(sock, pickle.dumps(reply, PICKLE_PROTOCOL))


def _die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL us when the parent dies, however it dies (kill -9,
    ``os._exit``); even a SIGSTOPped helper goes, which no check of our own could do."""
    # Linux only (the worker's platform); elsewhere helpers get no such protection.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died before prctl; we would then already be someone else's.
    if os.getppid() != parent:
        os._exit(1)


def recv_frame(sock: socket.socket) -> bytes | None:
    header = _recv_exact(sock, HEADER.size)
    return None if header is None else _recv_exact(sock, HEADER.unpack(header)[0])


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            return None
        got += n
    return bytes(buffer)


def loads(data: bytes) -> Any:
    # Frames only ever come from our own process over a private socket pair.
    return pickle.loads(data)  # noqa: S301


def send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(HEADER.pack(len(payload)) + payload)
