"""The Kubernetes manifests' rendering and the allow-lists of their custom kinds, for test_k8s.

:func:`render` uses the real ``kustomize`` when one is found (``$KUSTOMIZE``, ``kustomize``
or ``kubectl kustomize`` on PATH), else :func:`render_own`, this module's reading of the
small part of kustomize the manifests use (resources, namespace, images, JSON 6902 patches).
:data:`GOLDEN` holds the real kustomize's output of both directories, committed, so the two
renderings are compared on machines without kustomize too (CI). After changing deploy/k8s:

    kubectl kustomize deploy/k8s/base > tests/deploy/golden/base.yaml
    kubectl kustomize deploy/k8s/overlays/example > tests/deploy/golden/overlay.yaml

(or ``kustomize build DIR``; made with kubectl v1.32.4's kustomize v5.5.0).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from worker.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "example"
GOLDEN = {
    BASE: Path(__file__).with_name("golden") / "base.yaml",
    OVERLAY: Path(__file__).with_name("golden") / "overlay.yaml",
}
SECRET_EXAMPLE = BASE / "secret.example.yaml"
# The oldest release the manifests claim (PDB unhealthyPodEvictionPolicy is GA in 1.31)
# and the newest kubernetes-validate 1.37.0 ships schemas for.
KUBERNETES_VERSIONS = ("1.31.0", "1.37.0")
CORE_KINDS = {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget"}
UID = 10001  # the image's user: USER in deploy/docker/Dockerfile (test_deploy_names checks)

Doc = dict[str, Any]


# -- rendering -------------------------------------------------------------------------------


def _kustomize_command() -> list[str] | None:
    if os.environ.get("KUSTOMIZE"):
        return [os.environ["KUSTOMIZE"], "build"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


KUSTOMIZE = _kustomize_command()


def json_patch(doc: Doc, ops: list[Doc]) -> None:
    """RFC 6902 add and replace (what the overlay uses); a missing path fails, as in kustomize."""
    for op in ops:
        assert op["op"] in ("add", "replace"), f"{op['op']}: not read here"
        *parents, last = [
            p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]
        ]
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        exists = key < len(node) if isinstance(node, list) else key in node
        if op["op"] == "replace" and not exists:
            raise KeyError(f"{op['path']}: no such field to replace")
        if isinstance(node, list) and op["op"] == "add":
            node.insert(key, op["value"])
        else:
            node[key] = op["value"]


def _matches(doc: Doc, target: Doc) -> bool:
    group = doc["apiVersion"].rpartition("/")[0]
    return bool(
        doc["kind"] == target["kind"]
        and doc["metadata"]["name"] == target.get("name", doc["metadata"]["name"])
        and group == target.get("group", group)
    )


def render_own(directory: Path) -> list[Doc]:
    """The kustomization in ``directory``, built with only the features these files use."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text("utf-8"))
    known = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
    assert set(kustomization) <= known, f"not understood here: {set(kustomization) - known}"
    docs: list[Doc] = []
    for resource in kustomization.get("resources", []):
        path = directory / resource
        if path.is_dir():
            docs.extend(render_own(path))
        else:
            docs.extend(d for d in yaml.safe_load_all(path.read_text("utf-8")) if d)
    for patch in kustomization.get("patches", []):
        ops = yaml.safe_load((directory / patch["path"]).read_text("utf-8"))
        assert isinstance(ops, list), f"{patch['path']}: only JSON 6902 patches are read here"
        targets = [d for d in docs if _matches(d, patch["target"])]
        assert len(targets) == 1, f"{patch['path']} matches {len(targets)} resources"
        json_patch(targets[0], ops)
    if "namespace" in kustomization:
        for doc in docs:
            doc["metadata"]["namespace"] = kustomization["namespace"]
    for image in kustomization.get("images", []):
        for container in (c for d in docs for c in pod_containers(d)):
            name, _, tag = container["image"].rpartition(":")
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
    return docs


def run_kustomize(directory: Path) -> list[Doc]:
    assert KUSTOMIZE is not None
    out = subprocess.run(
        [*KUSTOMIZE, str(directory)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def load_golden(directory: Path) -> list[Doc]:
    """The real kustomize's output of ``directory``, as committed in tests/deploy/golden."""
    return [d for d in yaml.safe_load_all(GOLDEN[directory].read_text("utf-8")) if d]


def render(directory: Path) -> list[Doc]:
    """The rendered manifests: the real kustomize's when there is one."""
    return run_kustomize(directory) if KUSTOMIZE else render_own(directory)


def pod_containers(doc: Doc) -> list[Doc]:
    if doc["kind"] != "Deployment":
        return []
    return list(doc["spec"]["template"]["spec"]["containers"])


def by_kind(docs: list[Doc]) -> dict[str, Doc]:
    kinds = [d["kind"] for d in docs]
    assert len(kinds) == len(set(kinds)), f"one object of each kind expected: {kinds}"
    return {d["kind"]: d for d in docs}


# Allow-lists of the custom kinds, written from their documentation: a mapping is an object
# with exactly those fields (a trailing + marks a required one), a one-item list an array of
# such items; leaves are str, int, bool, duration, object (not looked into), [str], a|b (one
# of) or any other word (that exact value).
# - ScaledObject: https://keda.sh/docs/2.18/reference/scaledobject-spec/ (spec, triggers);
#   trigger metadata: https://keda.sh/docs/2.18/scalers/apache-kafka/ "Parameter list"
#   (values are strings, as the page quotes them).
# - TriggerAuthentication: https://keda.sh/docs/2.18/authentication-providers/secret/
#   (secretTargetRef) and the Kafka page's "Authentication Parameters".
# - PodMonitor: https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.PodMonitor
#   (PodMonitorSpec, PodMetricsEndpoint: the fields used here and their close neighbours).
ALLOWED = yaml.safe_load("""
_shared:
  metadata: &metadata {name+: str, namespace: str, labels: object, annotations: object}
  hpa_rules: &hpa_rules
    stabilizationWindowSeconds: int
    selectPolicy: Max|Min|Disabled
    policies: [{type+: Pods|Percent, value+: int, periodSeconds+: int}]
ScaledObject:
  apiVersion+: keda.sh/v1alpha1
  kind+: ScaledObject
  metadata+: *metadata
  spec+:
    scaleTargetRef+: {apiVersion: str, kind: str, name+: str, envSourceContainerName: str}
    pollingInterval: int
    cooldownPeriod: int
    initialCooldownPeriod: int
    idleReplicaCount: int
    minReplicaCount: int
    maxReplicaCount: int
    fallback: {failureThreshold+: int, replicas+: int, behavior: str}
    advanced:
      restoreToOriginalReplicaCount: bool
      horizontalPodAutoscalerConfig:
        name: str
        behavior: {scaleUp: *hpa_rules, scaleDown: *hpa_rules}
      scalingModifiers: object
    triggers+:
      - type+: kafka
        name: str
        useCachedMetrics: bool
        metricType: AverageValue|Value
        authenticationRef: {name+: str, kind: str}
        metadata+:
          bootstrapServers+: str
          consumerGroup+: str
          topic: str
          lagThreshold: str
          activationLagThreshold: str
          offsetResetPolicy: latest|earliest
          allowIdleConsumers: str
          scaleToZeroOnInvalidOffset: str
          excludePersistentLag: str
          limitToPartitionsWithLag: str
          ensureEvenDistributionOfPartitions: str
          version: str
          partitionLimitation: str
          sasl: plaintext|scram_sha256|scram_sha512|gssapi|oauthbearer|none
          saslTokenProvider: str
          tls: enable|disable
          unsafeSsl: str
          awsRegion: str
TriggerAuthentication:
  apiVersion+: keda.sh/v1alpha1
  kind+: TriggerAuthentication
  metadata+: *metadata
  spec+:
    secretTargetRef+:
      - parameter+: sasl|username|password|tls|ca|cert|key|keyPassword
        name+: str
        key+: str
PodMonitor:
  apiVersion+: monitoring.coreos.com/v1
  kind+: PodMonitor
  metadata+: *metadata
  spec+:
    jobLabel: str
    podTargetLabels: [str]
    sampleLimit: int
    selector+: {matchLabels: object, matchExpressions: object}
    namespaceSelector: {any: bool, matchNames: [str]}
    podMetricsEndpoints+:
      - port: str
        portNumber: int
        path: str
        scheme: http|https
        interval: duration
        scrapeTimeout: duration
        honorLabels: bool
        relabelings: object
        metricRelabelings: object
""")
_LEAVES: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "bool": {"type": "boolean"},
    "object": {"type": ["object", "array"]},
    "duration": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
}


def _schema(node: Any) -> dict[str, Any]:
    """The JSON Schema of an allow-list node (see ALLOWED)."""
    if isinstance(node, dict):
        fields = {k.removesuffix("+"): _schema(v) for k, v in node.items()}
        required = [k.removesuffix("+") for k in node if k.endswith("+")]
        return {"type": "object", "properties": fields, "additionalProperties": False} | (
            {"required": required} if required else {}
        )
    if isinstance(node, list):
        (item,) = node
        return {"type": "array", "items": _schema(item), "minItems": 1}
    if node in _LEAVES:
        return _LEAVES[node]
    return {"enum": node.split("|")} if "|" in node else {"const": node}


CUSTOM_SCHEMAS = {kind: _schema(tree) for kind, tree in ALLOWED.items() if kind != "_shared"}
# The worker's sasl_mechanism as the Kafka scaler's `sasl` value (same page).
KEDA_SASL_MODES = {
    "SCRAM-SHA-512": "scram_sha512",
    "SCRAM-SHA-256": "scram_sha256",
    "PLAIN": "plaintext",
}


def effective(objects: dict[str, Doc]) -> Settings:
    """The worker's settings from the ConfigMap (defaults for what it leaves out)."""
    data = objects["ConfigMap"]["data"]
    values: dict[str, Any] = {}
    for variable, raw in data.items():
        name = variable.removeprefix(ENV_PREFIX).lower()
        assert hasattr(Settings(), name), f"{variable}: no such setting"
        kind = type(getattr(Settings(), name))
        assert kind in (str, int, float, bool), f"{variable}: convert {kind} here first"
        if kind is bool:
            assert raw in ("true", "false"), f"{variable}: {raw!r} is not true or false"
            values[name] = raw == "true"
        else:
            values[name] = kind(raw)
    return Settings(**values)
