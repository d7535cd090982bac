"""The Kubernetes manifests (deploy/k8s): rendered, validated and checked against the worker.

The base and the example overlay are rendered with the real ``kustomize`` when one is found
(``$KUSTOMIZE``, ``kustomize`` or ``kubectl kustomize`` on PATH), else with :func:`render`'s
own reading of the small part of kustomize they use (resources, namespace, images, JSON 6902
patches). The own rendering always equals the real kustomize's output committed in
tests/deploy/golden/ (so this holds in CI, where there is no kustomize), and where a
kustomize exists that output must equal the live one (golden files gone stale fail). Core kinds are validated strictly with
kubernetes-validate; KEDA's and the Prometheus Operator's kinds against allow-lists written
from their documentation. All of that runs offline in seconds; one test (markers
``containers`` and ``kafka``) runs the base Deployment with ``podman kube play`` on the worker
image against the local broker.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kafka.admin import KafkaAdminClient

from tests.deploy.conftest import http_get, podman, unique_name, wait_for
from tests.deploy.k8s import (
    BASE,
    CORE_KINDS,
    CUSTOM_SCHEMAS,
    KEDA_SASL_MODES,
    KUBERNETES_VERSIONS,
    KUSTOMIZE,
    OVERLAY,
    ROOT,
    SECRET_EXAMPLE,
    UID,
    Doc,
    by_kind,
    effective,
    json_patch,
    load_golden,
    pod_containers,
    render,
    render_own,
    run_kustomize,
)
from tests.stream.conftest import Topics, free_port, make_topics
from worker.settings import ENV_PREFIX


@pytest.fixture(scope="module", params=["base", "overlay"])
def rendered(request: pytest.FixtureRequest) -> dict[str, Doc]:
    return by_kind(render(BASE if request.param == "base" else OVERLAY))


# -- rendering and schemas -----------------------------------------------------------------


def _keyed(docs: list[Doc]) -> dict[tuple[str, str], Doc]:
    keyed = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert len(keyed) == len(docs), "two objects of one kind and name"
    return keyed


DIRECTORIES = pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "overlay"])


@DIRECTORIES
def test_own_rendering_equals_kustomizes_committed_output(directory: Path) -> None:
    golden = _keyed(load_golden(directory))
    assert len(golden) >= 7
    assert _keyed(render_own(directory)) == golden


@pytest.mark.skipif(KUSTOMIZE is None, reason="no kustomize or kubectl on PATH to compare with")
@DIRECTORIES
def test_committed_output_is_kustomizes_output_now(directory: Path) -> None:
    # Stale golden files: regenerate them (tests/deploy/k8s.py says how).
    assert _keyed(load_golden(directory)) == _keyed(run_kustomize(directory))


def test_overlay_changes_what_it_says() -> None:
    base, overlay = by_kind(render(BASE)), by_kind(render(OVERLAY))
    assert {d["metadata"].get("namespace") for d in overlay.values()} == {"news"}
    image = pod_containers(overlay["Deployment"])[0]["image"]
    assert pod_containers(base["Deployment"])[0]["image"] == "article-worker:0.x"
    repository, _, tag = image.rpartition(":")
    assert "/" in repository, image
    assert tag not in ("", "latest", "0.x"), image
    assert effective(overlay).topic_partitions == 12
    assert overlay["ScaledObject"]["spec"]["maxReplicaCount"] == 12
    assert overlay["PodMonitor"]["metadata"]["labels"]["release"] == "prometheus"


def test_json_patch_on_a_missing_field_fails() -> None:
    with pytest.raises(KeyError):
        json_patch({"data": {}}, [{"op": "replace", "path": "/data/X", "value": "1"}])


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_kinds_validate_strictly(rendered: dict[str, Doc], version: str) -> None:
    example = yaml.safe_load(SECRET_EXAMPLE.read_text("utf-8"))
    docs = [d for d in rendered.values() if d["kind"] in CORE_KINDS]
    assert {d["kind"] for d in docs} == CORE_KINDS
    for doc in [*docs, example]:
        kubernetes_validate.validate(doc, version, strict=True)


def test_strict_validation_rejects_an_unknown_field(rendered: dict[str, Doc]) -> None:
    deployment = copy.deepcopy(rendered["Deployment"])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_only_known_kinds_and_no_second_autoscaler(rendered: dict[str, Doc]) -> None:
    assert set(rendered) == CORE_KINDS | set(CUSTOM_SCHEMAS)
    # KEDA owns the HPA of this Deployment; a Secret must never be applied with -k.
    assert "HorizontalPodAutoscaler" not in rendered
    assert "Secret" not in rendered


# A misspelt field at the top of the spec and deep inside: the allow-lists must refuse both.
TYPOS = [
    ("ScaledObject", ("spec",), "minReplicas"),
    ("ScaledObject", ("spec", "triggers", 0, "metadata"), "lagTreshold"),
    ("TriggerAuthentication", ("spec", "secretTargetRef", 0), "paramater"),
    ("PodMonitor", ("spec",), "podMetricEndpoints"),
    ("PodMonitor", ("spec", "podMetricsEndpoints", 0), "pat"),
]


@pytest.mark.parametrize("kind", sorted(CUSTOM_SCHEMAS))
def test_custom_kinds_use_documented_fields(rendered: dict[str, Doc], kind: str) -> None:
    jsonschema.validate(rendered[kind], CUSTOM_SCHEMAS[kind])


@pytest.mark.parametrize(("kind", "where", "typo"), TYPOS)
def test_allow_lists_refuse_misspelt_fields(
    rendered: dict[str, Doc], kind: str, where: tuple[str | int, ...], typo: str
) -> None:
    doc = copy.deepcopy(rendered[kind])
    node: Any = doc
    for step in where:
        node = node[step]
    node[typo] = "1"
    with pytest.raises(jsonschema.ValidationError, match=typo):
        jsonschema.validate(doc, CUSTOM_SCHEMAS[kind])


# -- the manifests against the worker --------------------------------------------------------


def test_scaled_object_watches_the_workers_group_and_topic(rendered: dict[str, Doc]) -> None:
    settings, spec = effective(rendered), rendered["ScaledObject"]["spec"]
    assert spec["scaleTargetRef"]["name"] == rendered["Deployment"]["metadata"]["name"]
    assert spec["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
    (trigger,) = spec["triggers"]
    meta = trigger["metadata"]
    assert meta["consumerGroup"] == settings.app_id
    assert meta["topic"] == settings.raw_topic
    assert meta["bootstrapServers"] == ",".join(settings.bootstrap_servers)
    assert int(meta["lagThreshold"]) > 0
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= settings.topic_partitions
    # The worker's consumers start at the log start; KEDA must count lag the same way.
    assert meta["offsetResetPolicy"] == "earliest"
    # The scaler logs in like the worker does.
    assert settings.uses_sasl
    assert meta["sasl"] == KEDA_SASL_MODES[settings.sasl_mechanism]
    assert meta["tls"] == ("enable" if settings.uses_tls else "disable")
    assert (
        trigger["authenticationRef"]["name"]
        == rendered["TriggerAuthentication"]["metadata"]["name"]
    )


def _pod(objects: dict[str, Doc]) -> Doc:
    pod: Doc = objects["Deployment"]["spec"]["template"]["spec"]
    return pod


def test_grace_period_outlasts_the_workers_shutdown(rendered: dict[str, Doc]) -> None:
    grace = effective(rendered).shutdown_grace_seconds
    assert _pod(rendered)["terminationGracePeriodSeconds"] > grace


def test_security_context(rendered: dict[str, Doc]) -> None:
    pod = _pod(rendered)
    (container,) = pod["containers"]
    for context in (pod["securityContext"], container["securityContext"]):
        assert context["runAsNonRoot"] is True
        assert context["runAsUser"] == UID
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False


def test_data_dir_is_on_a_writable_volume(rendered: dict[str, Doc]) -> None:
    pod = _pod(rendered)
    volumes = {v["name"]: v for v in pod["volumes"]}
    data_dir = Path(effective(rendered).data_dir)
    (mount,) = [
        m for m in pod["containers"][0]["volumeMounts"] if data_dir.is_relative_to(m["mountPath"])
    ]
    assert "emptyDir" in volumes[mount["name"]]
    assert not mount.get("readOnly", False)


def test_probes_ports_and_monitoring_agree(rendered: dict[str, Doc]) -> None:
    pod, settings = _pod(rendered), effective(rendered)
    (container,) = pod["containers"]
    assert container["ports"] == [
        {"name": "metrics", "containerPort": settings.web_port, "protocol": "TCP"}
    ]
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "metrics"}
    assert container["startupProbe"]["httpGet"] == {"path": "/livez", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    labels = rendered["Deployment"]["spec"]["template"]["metadata"]["labels"]
    for kind in ("Deployment", "PodDisruptionBudget", "PodMonitor"):
        selector = rendered[kind]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items(), kind
    assert rendered["Service"]["spec"]["selector"].items() <= labels.items()
    assert rendered["Service"]["spec"]["ports"][0]["targetPort"] == "metrics"
    monitor = rendered["PodMonitor"]["spec"]
    assert monitor["podMetricsEndpoints"][0]["port"] == "metrics"
    assert monitor["podMetricsEndpoints"][0]["path"] == "/metrics"
    # The job label the alert rules and the dashboard select.
    jobs = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text("utf-8"))
    worker_job = jobs["scrape_configs"][0]["job_name"]
    assert labels[monitor["jobLabel"]] == worker_job == "article-worker"


def test_disruption_budget_lets_a_single_replica_be_drained(rendered: dict[str, Doc]) -> None:
    spec = rendered["PodDisruptionBudget"]["spec"]
    assert spec["maxUnavailable"] == 1
    assert "minAvailable" not in spec
    assert spec["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


# -- the base Deployment, run for real -------------------------------------------------------


def _playable(objects: dict[str, Doc], name: str, broker: str, topics: Topics, port: int) -> str:
    """The base ConfigMap and Deployment as podman kube play runs them here: on the host's
    network (the local broker listens on 127.0.0.1), PLAINTEXT without the Secret (podman
    has no Kubernetes Secrets), topics and port of the test's own. The pod's security
    context, volumes, arguments and probe paths stay as they are."""
    config, deployment = copy.deepcopy(objects["ConfigMap"]), copy.deepcopy(objects["Deployment"])
    config["metadata"]["name"] = deployment["metadata"]["name"] = name
    data = config["data"]
    for variable in ("SECURITY_PROTOCOL", "SASL_MECHANISM", "SSL_CAFILE"):
        del data[ENV_PREFIX + variable]
    data |= {
        f"{ENV_PREFIX}BROKER": f"kafka://{broker}",
        f"{ENV_PREFIX}APP_ID": topics.group,
        f"{ENV_PREFIX}RAW_TOPIC": topics.raw,
        f"{ENV_PREFIX}ENRICHED_TOPIC": topics.enriched,
        f"{ENV_PREFIX}DLQ_TOPIC": topics.dlq,
        f"{ENV_PREFIX}TOPIC_REPLICATION_FACTOR": "1",
        f"{ENV_PREFIX}WEB_PORT": str(port),
    }
    pod = deployment["spec"]["template"]["spec"]
    pod["hostNetwork"] = True
    pod["volumes"] = [v for v in pod["volumes"] if "secret" not in v]
    (container,) = pod["containers"]
    container["envFrom"][0]["configMapRef"]["name"] = name
    del container["env"], container["ports"]  # host network: no port mappings
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] == "tmp"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        container[probe]["httpGet"]["port"] = port
    return yaml.safe_dump_all([config, deployment])


@pytest.fixture
def own_topics(bootstrap: str) -> Iterator[Topics]:
    """Topics and a group of the test's own, deleted afterwards."""
    topics = make_topics(bootstrap, 2)
    yield topics
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_topics([topics.raw, topics.enriched, topics.dlq])
    finally:
        admin.close()


@pytest.mark.containers
@pytest.mark.kafka
def test_base_deployment_runs_under_podman(
    worker_image: str, bootstrap: str, own_topics: Topics, tmp_path: Path
) -> None:
    objects, topics, port = by_kind(render(BASE)), own_topics, free_port()
    name = unique_name("k8s-")
    manifest = _playable(objects, name, bootstrap, topics, port)
    manifest = manifest.replace("image: article-worker:0.x", f"image: {worker_image}")
    (tmp_path / "pod.yaml").write_text(manifest, "utf-8")
    pod, container = f"{name}-pod-0", f"{name}-pod-0-worker"
    try:
        podman("kube", "play", "--network", "host", str(tmp_path / "pod.yaml"), timeout=120)
        wait_for("/readyz 200", lambda: http_get(port, "/readyz")[0] == 200, timeout=90)
        inspect = podman(
            "inspect", container, "--format",
            "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{len .EffectiveCaps}}",
        ).stdout.split()  # fmt: skip
        assert inspect == [f"{UID}:{UID}", "true", "0"]
        status = podman("exec", container, "cat", "/proc/1/status").stdout
        assert "NoNewPrivs:\t1" in status
        assert "Seccomp:\t2" in status
        written = podman("exec", container, "touch", "/root-is-read-only", check=False)
        assert written.returncode != 0
        seeds = sorted((ROOT / "seeds").glob("*.txt"))
        feed = [*("feed", "--broker", f"kafka://{bootstrap}", "--topic", topics.raw)]
        subprocess.run(
            [sys.executable, "-m", "worker", *feed, *map(str, seeds)], check=True, timeout=120
        )
        wait_for(
            "every seed enriched or dead-lettered",
            lambda: _processed(port) >= len(seeds),
            timeout=60,
        )
        podman("pod", "stop", "--time", "40", pod, timeout=60)
        exit_code = podman("inspect", container, "--format", "{{.State.ExitCode}}").stdout
        assert exit_code.strip() == "0"
    finally:
        podman("pod", "rm", "--force", pod, check=False, timeout=60)


def _processed(port: int) -> float:
    status, body = http_get(port, "/metrics")
    if status != 200:
        return 0.0
    text = body.decode()
    counts = re.findall(
        r"^article_worker_(?:articles_enriched_total|articles_rejected_total\{[^}]*\}) (\S+)$",
        text,
        re.MULTILINE,
    )
    return sum(float(c) for c in counts)
