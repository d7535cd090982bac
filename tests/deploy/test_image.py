"""The worker's image (deploy/docker/Dockerfile), built with podman and run for real
against the local broker: healthy, non-root, read-only, processing, and stopped cleanly.

One container serves the module: it runs on the host's network (the broker listens on
127.0.0.1) with a read-only root filesystem and only /tmp writable (podman's extra tmpfs
mounts on /run and /var/tmp are turned off, as Docker and Kubernetes have none), on
topics and a consumer group of its own. The last test stops it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from kafka.admin import KafkaAdminClient

from tests.conftest import SEEDS, load_enricher
from tests.deploy.conftest import ROOT, http_get, podman, remove_containers, unique_name, wait_for
from tests.stream.conftest import Topics, consume, free_port, make_topics, produce

pytestmark = [pytest.mark.containers, pytest.mark.kafka]

WORKER_UID = 10001
GRACE_SECONDS = 25.0  # Settings.shutdown_grace_seconds' default, which the image keeps
READY_TIMEOUT = 90.0
SITE_PACKAGES = "/opt/article-worker/lib/python3.11/site-packages"
SEED_FILES = sorted(SEEDS.glob("*.txt"))[:8]
# Paths inside the container: the one writable folder, and one podman would mount a
# tmpfs on by default.
TMP = "/tmp"  # noqa: S108
VAR_TMP = "/var/tmp"  # noqa: S108
DOCKERFILE = ROOT / "deploy/docker/Dockerfile"
# Prints FOUND for every pip, setuptools or wheel the image's two interpreters (the venv's
# and the base's own, which python:3.11-slim gives all three) or PATH can reach.
# find_spec, not import: importing setuptools can fail on a Debian Python.
NO_PIP_PROBE = (
    "for t in pip pip3 pip3.11 wheel easy_install; do command -v $t && echo FOUND $t; done;"
    ' for py in python "$(readlink -f "$(command -v python3)")"; do'
    "  for m in pip setuptools wheel; do"
    '   "$py" -I -c "import importlib.util as u, sys; sys.exit(u.find_spec(\'$m\') is None)"'
    "   && echo FOUND $py:$m;"
    "  done;"
    " done;"
)


@dataclass
class Running:
    name: str
    port: int
    topics: Topics
    bootstrap: str

    def status(self, path: str) -> int:
        return http_get(self.port, path)[0]

    def state(self, field: str) -> str:
        return podman("inspect", "--format", f"{{{{{field}}}}}", self.name).stdout.strip()

    def logs(self) -> str:
        done = podman("logs", self.name, check=False)
        return (done.stdout + done.stderr)[-4000:]


@pytest.fixture(scope="module")
def worker(worker_image: str, bootstrap: str) -> Iterator[Running]:
    topics = make_topics(bootstrap, 2)
    running = Running(unique_name("awimg-"), free_port(), topics, bootstrap)
    env = {
        "ARTICLE_WORKER_BROKER": f"kafka://{bootstrap}",
        "ARTICLE_WORKER_APP_ID": topics.group,
        "ARTICLE_WORKER_RAW_TOPIC": topics.raw,
        "ARTICLE_WORKER_ENRICHED_TOPIC": topics.enriched,
        "ARTICLE_WORKER_DLQ_TOPIC": topics.dlq,
        "ARTICLE_WORKER_TOPIC_PARTITIONS": str(topics.partitions),
        "ARTICLE_WORKER_WEB_HOST": "127.0.0.1",
        "ARTICLE_WORKER_WEB_PORT": str(running.port),
        "ARTICLE_WORKER_LAG_INTERVAL_SECONDS": "1",
    }
    try:
        podman(
            "run", "--detach", "--name", running.name, "--network", "host",
            "--read-only", "--read-only-tmpfs=false", "--tmpfs", f"{TMP}:rw,mode=1777,size=64m",
            *(a for k, v in env.items() for a in ("--env", f"{k}={v}")),
            worker_image,
        )  # fmt: skip
        yield running
    finally:
        remove_containers(running.name)
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            admin.delete_topics([topics.raw, topics.enriched, topics.dlq])
        finally:
            admin.close()


def test_image_config(worker_image: str) -> None:
    """What the Dockerfile promises: exec-form entrypoint, non-root user, a healthcheck on
    /livez, and no configuration file, pip or compiler inside."""
    (image,) = json.loads(podman("image", "inspect", worker_image).stdout)
    config = image["Config"]
    assert config["Entrypoint"] == ["article-worker"]
    assert config["Cmd"] == ["run"]
    assert config["User"] == f"{WORKER_UID}:{WORKER_UID}"
    assert "/livez" in " ".join(image["Healthcheck"]["Test"])
    assert not any(e.startswith("ARTICLE_WORKER_") for e in config["Env"])
    probe = podman(
        "run", "--rm", "--network", "none", "--entrypoint", "sh", worker_image, "-c",
        "for t in gcc cc make curl; do command -v $t && echo FOUND $t; done;"
        + NO_PIP_PROBE
        + " ls -d /root/.cache/pip /wheels /src 2>/dev/null | sed 's/^/FOUND /';"
        " find / -xdev -name worker.toml | sed 's/^/FOUND /';"
        " id -u;"
        " python -I -c 'from importlib.resources import files as f; print(f(\"worker.data\"))'",
    ).stdout  # fmt: skip
    assert "FOUND" not in probe, probe
    uid, data = probe.split()
    assert uid == str(WORKER_UID)
    # The gazetteer and schema are the installed wheel's package data, not a checkout's.
    assert data == f"{SITE_PACKAGES}/worker/data", data


def _final_stage_setup() -> str:
    """The shell command of the final stage's RUN (it removes the base's pip), from the
    Dockerfile itself, so the test below runs what the image build runs."""
    text = DOCKERFILE.read_text("utf-8")
    final = text[text.rindex("\nFROM ") :].replace("\\\n", " ")
    (run,) = [line for line in final.splitlines() if line.startswith("RUN ")]
    assert "pip uninstall" in run, run
    return run.removeprefix("RUN ")


def test_final_stage_removes_a_bases_pip(base_image: str) -> None:
    """python:3.11-slim (the default base) ships pip, setuptools and wheel in /usr/local,
    the local base none; no registry here to pull the slim image. So a container of the
    local base gets them the slim way first (pip from its own bundled wheel into
    /usr/local, without Debian's EXTERNALLY-MANAGED marker, which slim does not have),
    then runs the final stage's RUN: nothing of them may be left, and the user exists.
    (``hash -r``: the shell would report the paths it found before from its cache.)"""
    script = (
        "set -e; rm /usr/lib/python3.11/EXTERNALLY-MANAGED;"
        " set -- /usr/share/python-wheels/pip-*.whl;"
        ' python3 "$1/pip" install --quiet --root-user-action=ignore --no-index'
        " --find-links /usr/share/python-wheels pip setuptools;"
        " set +e; " + NO_PIP_PROBE + " echo SETUP; set -e; "
        + _final_stage_setup()
        + "; set +e; hash -r; " + NO_PIP_PROBE + " grep ^worker: /etc/passwd"
    )  # fmt: skip
    out = podman(
        "run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "sh", base_image,
        "-c", script, timeout=120,
    ).stdout  # fmt: skip
    before, _, after = out.partition("SETUP\n")
    found = set(re.findall(r"^FOUND (\S+)$", before, re.MULTILINE))
    assert {"pip", "pip3", "pip3.11"} <= found, out
    assert {m for f in found for m in ("pip", "setuptools") if f.endswith(f":{m}")} == {
        "pip",
        "setuptools",
    }, out
    assert "FOUND" not in after, out
    assert after.strip().endswith(
        f"worker:x:{WORKER_UID}:{WORKER_UID}:article-worker:/nonexistent:/usr/sbin/nologin"
    ), out


def test_live_and_ready(worker: Running) -> None:
    wait_for("/livez 200", lambda: worker.status("/livez") == 200, READY_TIMEOUT)
    wait_for("/readyz 200", lambda: worker.status("/readyz") == 200, READY_TIMEOUT)
    assert worker.state(".State.Running") == "true", worker.logs()


def test_runs_as_non_root_on_a_read_only_root(worker: Running) -> None:
    # PID 1 is the worker itself (exec form: SIGTERM reaches it), as uid 10001.
    status = podman("exec", worker.name, "cat", "/proc/1/status", "/proc/1/cmdline").stdout
    uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    assert uids == [str(WORKER_UID)] * 4, status
    assert "article-worker\0run" in status
    top = podman("top", worker.name, "huser", "args").stdout.splitlines()[1:]
    assert top, "no processes"
    assert all(line.split()[0] == str(WORKER_UID) for line in top), top
    # Read-only, not merely not permitted: root inside the container cannot write either.
    for path in ("/etc/awimg-probe", "/opt/article-worker/awimg-probe", f"{VAR_TMP}/awimg-probe"):
        done = podman("exec", "--user", "0", worker.name, "touch", path, check=False)
        assert done.returncode != 0
        assert "Read-only file system" in done.stderr, done.stderr
    podman("exec", worker.name, "touch", f"{TMP}/awimg-probe")
    assert worker.state(".HostConfig.ReadonlyRootfs") == "true"


def test_processes_seeds(worker: Running) -> None:
    """Seeds fed on the host come out enriched exactly as the host's core enriches them:
    the container's gazetteer and code are the checkout's, loaded from the wheel."""
    wait_for("/readyz 200", lambda: worker.status("/readyz") == 200, READY_TIMEOUT)
    seeds = [p.read_bytes() for p in SEED_FILES]
    assert len(seeds) >= 5
    expected: dict[str, dict[str, Any]] = {}
    for raw in seeds:
        result = load_enricher().enrich(raw)
        expected[result.record["id"]] = result.record
    assert len(expected) == len(seeds)
    produce(worker.bootstrap, worker.topics.raw, [(None, raw) for raw in seeds])
    keys = {k.encode() for k in expected}
    out = consume(worker.bootstrap, worker.topics.enriched, len(keys), timeout=60, keys=keys)
    got = {m.key.decode(): orjson.loads(m.value) for m in out}
    assert set(got) == set(expected), worker.logs()
    for key, record in expected.items():
        assert got[key] == orjson.loads(orjson.dumps(record)), key
    assert any(r["entities"] for r in got.values())  # the gazetteer was there


def test_healthcheck_reports_healthy(worker: Running) -> None:
    wait_for("/livez 200", lambda: worker.status("/livez") == 200, READY_TIMEOUT)
    done = podman("healthcheck", "run", worker.name, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert worker.state(".State.Health.Status") == "healthy"


def test_stop_exits_zero_within_grace(worker: Running) -> None:
    wait_for("/readyz 200", lambda: worker.status("/readyz") == 200, READY_TIMEOUT)
    began = time.monotonic()
    podman("stop", "--time", "30", worker.name, timeout=90)
    took = time.monotonic() - began
    assert worker.state(".State.Running") == "false"
    assert worker.state(".State.ExitCode") == "0", worker.logs()
    # SIGTERM reached the worker and it drained: well within its grace, never killed.
    assert took < GRACE_SECONDS, f"stop took {took:.1f} s"
