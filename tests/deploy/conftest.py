"""Fixtures for the container tests (marker ``containers``): podman with this machine's
settings, the local base and worker images, and container names that are cleaned up.

Podman always runs with ``CONTAINERS_CONF=deploy/containers/containers.conf`` (runc,
emptied default ulimits: crun and raising RLIMIT_NOFILE fail here). The images are built
once per session by the project's own scripts, which reuse podman's layer cache: the
worker image takes seconds when the sources did not change. Every helper's tests name
their containers with a prefix of their own (``unique_name``) and register them with
``podman_names`` so they are removed whatever happened.

The broker fixtures of ``tests/stream`` are shared: ``bootstrap`` (the running local
broker, or one started for the session) and ``make_topics`` (topics and a group of the
test's own).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stream.conftest import bootstrap, make_topics

__all__ = [
    "CONTAINERS_CONF",
    "ROOT",
    "bootstrap",
    "make_topics",
    "podman",
    "podman_env",
    "remove_containers",
    "unique_name",
    "wait_for",
]

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS_DIR = ROOT / "deploy" / "containers"
CONTAINERS_CONF = CONTAINERS_DIR / "containers.conf"
BASE_IMAGE = "localhost/article-worker-base:bookworm"
WORKER_IMAGE = "localhost/article-worker:local"
# A cold build: debootstrap (~40 s), the dependency wheels (~15 s), the image (~30 s).
BUILD_TIMEOUT = 900.0


def podman_env(**extra: str) -> dict[str, str]:
    """The environment for podman (and the image scripts) on this machine."""
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    env.update(extra)
    return env


def podman(
    *args: str, timeout: float = 60, check: bool = True, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``podman ARGS`` with a timeout; with ``check``, fail the test with its output
    when it exits non-zero."""
    done = subprocess.run(
        ["podman", *args],
        env=podman_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
        check=False,
    )
    if check and done.returncode != 0:
        pytest.fail(
            f"podman {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done


def remove_containers(*names: str) -> None:
    """Remove containers by name, running or not; names that do not exist are fine."""
    for name in names:
        subprocess.run(
            ["podman", "rm", "--force", "--time", "0", name],
            env=podman_env(),
            capture_output=True,
            timeout=60,
            check=False,
        )


def unique_name(prefix: str) -> str:
    """``prefix`` (a helper's own, e.g. ``awimg-``) with a random suffix."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def wait_for(what: str, check: object, timeout: float, interval: float = 0.5) -> None:
    """Call ``check()`` until it returns true; fail naming ``what`` after ``timeout`` s."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    pytest.fail(f"{what}: not within {timeout} s")


@pytest.fixture
def podman_names() -> Iterator[list[str]]:
    """A list to append container names to; each one is removed at the end."""
    names: list[str] = []
    yield names
    remove_containers(*names)


def _script(name: str, *args: str, **env: str) -> str:
    """Run one of deploy/containers/*.sh; its last stdout line is the image name."""
    if shutil.which("podman") is None:
        pytest.fail(
            "podman is not installed (apt-get install podman runc); the containers "
            "tests need it (deselect them with -m 'not containers')"
        )
    began = time.monotonic()
    try:
        done = subprocess.run(
            [str(CONTAINERS_DIR / name), *args],
            env=podman_env(**env),
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name} did not finish in {BUILD_TIMEOUT} s")
    if done.returncode != 0:
        pytest.fail(
            f"{name} exited {done.returncode} after "
            f"{time.monotonic() - began:.0f} s:\n{done.stderr[-4000:]}"
        )
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def base_image() -> str:
    """The local Debian bookworm base (deploy/containers/base-image.sh; built if missing)."""
    return _script("base-image.sh", BASE_IMAGE)


@pytest.fixture(scope="session")
def worker_image(base_image: str) -> str:
    """The worker's image from deploy/docker/Dockerfile on the local base, built (or
    brought up to date from the layer cache) by deploy/containers/worker-image.sh with
    wheels built by this Python."""
    return _script(
        "worker-image.sh", WORKER_IMAGE, PYTHON=sys.executable, WORKER_IMAGE_BASE=base_image
    )


def http_get(port: int, path: str, timeout: float = 3) -> tuple[int, bytes]:
    """GET ``http://127.0.0.1:PORT/PATH`` (a worker's web server): the status and body, an
    HTTP error's too (``/readyz`` answers 503 until ready); ``(0, b"")`` when nothing
    answers, so a poll can wait for a server that is not up yet."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return int(r.status), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""
