"""Every name the deployment files give the worker is one the code really uses.

Environment variables (fields of worker.settings.Settings, their ``*_FILE`` secret forms and
ARTICLE_WORKER_CONFIG), ports (the worker's web_port, the Kafka listeners it connects to),
HTTP paths (the routes worker/stream/app.py serves), consumer group and topic names (the
Settings defaults unless the same file's environment sets them), commands (what the CLI's
parser accepts) and the image's uid, across deploy/k8s/**, deploy/compose.yaml,
deploy/compose.local.yaml, deploy/docker/Dockerfile and deploy/prometheus/prometheus.yml.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import ssl
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import WORKER_IMAGE
from tests.deploy.k8s import (
    BASE,
    K8S,
    OVERLAY,
    SECRET_EXAMPLE,
    UID,
    Doc,
    by_kind,
    effective,
    render,
)
from worker.cli import build_parser
from worker.settings import ENV_PREFIX, SECRET_FIELDS, Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = "deploy/compose.yaml"
COMPOSE_LOCAL = "deploy/compose.local.yaml"
DOCKERFILE = "deploy/docker/Dockerfile"
PROMETHEUS = "deploy/prometheus/prometheus.yml"
OTHER_FILES = (COMPOSE, COMPOSE_LOCAL, DOCKERFILE, PROMETHEUS)
K8S_FILES = sorted(str(p.relative_to(ROOT)) for p in K8S.rglob("*") if p.is_file())
# The image the container tests build (tests/deploy/conftest.py, the default of
# deploy/containers/worker-image.sh): compose.local.yaml must run that one.
WORKER_IMAGE_LOCAL = WORKER_IMAGE

DEFAULTS = Settings()
ENV_NAMES = (
    {ENV_PREFIX + f.name.upper() for f in fields(Settings)}
    | {f"{ENV_PREFIX}{name.upper()}_FILE" for name in SECRET_FIELDS}
    | {f"{ENV_PREFIX}CONFIG"}
)
# A name, not the ARTICLE_WORKER_* or ARTICLE_WORKER_<FIELD> of prose.
ENV_TOKEN = re.compile(r"\bARTICLE_WORKER_[A-Z0-9_]*[A-Z0-9]\b")
HTTP_PATHS = frozenset(
    re.findall(r'app\.page\("(/[^"]*)"\)', (ROOT / "worker/stream/app.py").read_text("utf-8"))
)
TOPIC_FIELDS = ("raw_topic", "enriched_topic", "dlq_topic", "unique_topic")
# Topic-shaped words: the default names share the "articles." prefix.
TOPIC_TOKEN = re.compile(r"\barticles\.[a-z0-9][a-z0-9_-]*\b")


def source(relative: str) -> Path:
    path = ROOT / relative
    assert path.is_file(), f"{relative} is missing"
    return path


def load_yaml(relative: str) -> Any:
    return yaml.safe_load(source(relative).read_text("utf-8"))


def explicit_topics(text: str) -> set[str]:
    """Topic names a file's environment sets (VAR: value, VAR=value, "VAR": "value")."""
    found = set()
    for name in TOPIC_FIELDS:
        pattern = rf"{ENV_PREFIX}{name.upper()}\"?\s*[:=]\s*\"?([A-Za-z0-9._-]+)"
        found |= set(re.findall(pattern, text))
    return found


def cli_accepts(args: list[str]) -> bool:
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # argparse's usage text
            build_parser().parse_args(args)
    except SystemExit:
        return False
    return True


def test_the_code_serves_the_paths_the_files_may_name() -> None:
    assert sorted(HTTP_PATHS) == ["/livez", "/metrics", "/readyz"]


def test_the_checks_can_fail() -> None:
    assert ENV_TOKEN.findall("ARTICLE_WORKER_* and ARTICLE_WORKER_<FIELD>") == []
    assert ENV_TOKEN.findall("- ARTICLE_WORKER_BROKR=x") == ["ARTICLE_WORKER_BROKR"]
    assert "ARTICLE_WORKER_BROKR" not in ENV_NAMES
    assert "ARTICLE_WORKER_SASL_PASSWORD_FILE" in ENV_NAMES
    assert explicit_topics('ARTICLE_WORKER_RAW_TOPIC: "news.in"') == {"news.in"}
    assert not cli_accepts(["serve"])


@pytest.mark.parametrize("relative", [*K8S_FILES, *OTHER_FILES])
def test_environment_variable_names_are_settings(relative: str) -> None:
    text = source(relative).read_text("utf-8")
    unknown = sorted(set(ENV_TOKEN.findall(text)) - ENV_NAMES)
    assert not unknown, f"{relative}: no such setting: {unknown}"


@pytest.mark.parametrize("relative", [*K8S_FILES, *OTHER_FILES])
def test_topic_names_are_the_workers(relative: str) -> None:
    text = source(relative).read_text("utf-8")
    # The k8s files share one environment: the base ConfigMap, patched by the overlay.
    scope = text
    if relative in K8S_FILES:
        scope = "\n".join((ROOT / f).read_text("utf-8") for f in K8S_FILES)
    allowed = {getattr(DEFAULTS, name) for name in TOPIC_FIELDS} | explicit_topics(scope)
    unknown = sorted(set(TOPIC_TOKEN.findall(text)) - allowed)
    assert not unknown, f"{relative}: topics the worker does not use: {unknown}"


# -- Kubernetes (rendered) --------------------------------------------------------------------


@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "overlay"])
def test_k8s_names(directory: Path) -> None:
    objects = by_kind(render(directory))
    settings = effective(objects)
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    names = set(objects["ConfigMap"]["data"]) | {v["name"] for v in container["env"]}
    assert names <= ENV_NAMES, sorted(names - ENV_NAMES)
    assert cli_accepts(container["args"])
    assert {p["containerPort"] for p in container["ports"]} == {settings.web_port}
    assert {p["port"] for p in objects["Service"]["spec"]["ports"]} == {settings.web_port}
    probes = [container[k]["httpGet"] for k in ("startupProbe", "livenessProbe", "readinessProbe")]
    paths = {p["path"] for p in probes}
    paths |= {e["path"] for e in objects["PodMonitor"]["spec"]["podMetricsEndpoints"]}
    assert paths <= HTTP_PATHS
    (trigger,) = objects["ScaledObject"]["spec"]["triggers"]
    assert trigger["metadata"]["consumerGroup"] == settings.app_id
    assert trigger["metadata"]["topic"] == settings.raw_topic
    # The scaler asks the brokers the worker connects to, on the same Kafka port.
    assert trigger["metadata"]["bootstrapServers"].split(",") == settings.bootstrap_servers


@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "overlay"])
def test_the_pods_environment_is_valid_worker_settings(
    directory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The environment the kubelet would build (ConfigMap, Secret, mounted password file)
    passes the worker's own settings check - unknown variables and bad values included."""
    rendered = by_kind(render(directory))
    pod = rendered["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    secret = yaml.safe_load(SECRET_EXAMPLE.read_text("utf-8"))
    secret_values: dict[str, str] = secret["stringData"]
    assert all(v.startswith("CHANGE-ME") for v in secret_values.values())
    assert pod["enableServiceLinks"] is False  # else <SERVICE>_... variables join in
    env: dict[str, str] = {}
    for env_source in container["envFrom"]:
        assert env_source["configMapRef"]["name"] == rendered["ConfigMap"]["metadata"]["name"]
        env |= rendered["ConfigMap"]["data"]
    files = _secret_files(pod, secret, tmp_path)
    for variable in container["env"]:
        if "valueFrom" in variable:
            ref = variable["valueFrom"]["secretKeyRef"]
            assert ref["name"] == secret["metadata"]["name"]
            env[variable["name"]] = secret_values[ref["key"]]
        else:
            value = variable["value"]
            env[variable["name"]] = str(files.get(value, value))
    assert f"{ENV_PREFIX}SASL_PASSWORD" not in env, "the password travels as a file"
    cafile = env[f"{ENV_PREFIX}SSL_CAFILE"]
    assert cafile == "/etc/ssl/certs/ca-certificates.crt"  # Debian's bundle, in the image
    env[f"{ENV_PREFIX}SSL_CAFILE"] = _local_ca_bundle(cafile)
    monkeypatch.chdir(tmp_path)  # no config/worker.toml
    settings = load_settings(env)
    assert settings.sasl_password.reveal() == secret_values["password"]
    assert settings.sasl_username == secret_values["username"]
    assert not settings.group_instance_id  # dynamic membership in a Deployment
    # The TriggerAuthentication reads the same Secret's keys.
    refs = rendered["TriggerAuthentication"]["spec"]["secretTargetRef"]
    assert {(r["parameter"], r["name"], r["key"]) for r in refs} == {
        (key, secret["metadata"]["name"], key) for key in secret_values
    }


def _secret_files(pod: Doc, secret: Doc, tmp_path: Path) -> dict[str, Path]:
    """Container path -> local copy of each file the Secret's volume mounts."""
    files: dict[str, Path] = {}
    for volume in pod["volumes"]:
        if "secret" not in volume:
            continue
        assert volume["secret"]["secretName"] == secret["metadata"]["name"]
        (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
        assert mount["readOnly"] is True
        for item in volume["secret"]["items"]:
            local = tmp_path / item["path"]
            local.write_text(secret["stringData"][item["key"]] + "\n", "utf-8")
            files[f"{mount['mountPath']}/{item['path']}"] = local
    return files


def _local_ca_bundle(path: str) -> str:
    if Path(path).is_file():
        return path
    fallback = ssl.get_default_verify_paths().openssl_cafile
    assert Path(fallback).is_file(), f"no CA bundle at {path} or {fallback} to test with"
    return fallback


def test_service_links_would_stop_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why enableServiceLinks is off: the variables Kubernetes derives from the Service's
    name start with the worker's prefix, and the worker refuses unknown ones."""
    service = yaml.safe_load((BASE / "service.yaml").read_text("utf-8"))
    variable = service["metadata"]["name"].upper().replace("-", "_") + "_SERVICE_HOST"
    assert variable.startswith(ENV_PREFIX)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match=f"{variable}: unknown setting"):
        load_settings({variable: "10.0.0.1"})


# -- compose ----------------------------------------------------------------------------------


def _worker_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the worker's image (build or ARTICLE_WORKER_* environment)."""
    services = compose["services"]
    return {
        name: service
        for name, service in services.items()
        if (service.get("build") or {}).get("dockerfile") == DOCKERFILE
        or any(str(k).startswith(ENV_PREFIX) for k in _environment(service))
    }


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _cli_invocations(service: dict[str, Any]) -> list[list[str]]:
    """The worker CLI's argument lists a service runs: its command, given to the image's
    entrypoint, or each ``article-worker ...`` inside a shell entrypoint's script."""
    command = service.get("command", [])
    command = shlex.split(command) if isinstance(command, str) else list(command)
    entrypoint = service.get("entrypoint")
    if entrypoint is None:
        return [command]
    script = " ".join(command)
    found = [shlex.split(m) for m in re.findall(r"\barticle-worker\s+([^;&|]+)", script)]
    assert found, f"a shell entrypoint that never runs article-worker: {script!r}"
    return found


def _compose_settings(service: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {}
    for variable, raw in _environment(service).items():
        name = variable.removeprefix(ENV_PREFIX).lower()
        assert hasattr(DEFAULTS, name), f"{variable}: no such setting"
        values[name] = type(getattr(DEFAULTS, name))(raw)
    return Settings(**values)


def _listener_addresses(kafka: dict[str, Any]) -> set[str]:
    env = _environment(kafka)
    listeners = env.get("KAFKA_ADVERTISED_LISTENERS", "")
    return {entry.partition("://")[2] for entry in listeners.split(",") if entry}


def test_compose_worker_services() -> None:
    compose = load_yaml(COMPOSE)
    workers = _worker_services(compose)
    assert {"worker", "topics", "feed"} <= set(workers)
    kafka_addresses = _listener_addresses(compose["services"]["kafka"])
    for name, service in workers.items():
        settings = _compose_settings(service)  # unknown names fail here too
        assert set(_environment(service)) <= ENV_NAMES, name
        for command in _cli_invocations(service):
            assert cli_accepts(command), f"{name}: {command}"
            if "--topic" in command:
                topics = {getattr(settings, f) for f in TOPIC_FIELDS}
                assert command[command.index("--topic") + 1] in topics, name
        # The worker reaches Kafka on an address the broker advertises.
        assert set(settings.bootstrap_servers) <= kafka_addresses, name
        exposed = {int(str(p).split("/")[0]) for p in service.get("expose", [])}
        published = {int(str(p).rpartition(":")[2].split("/")[0]) for p in service.get("ports", [])}
        assert exposed | published <= {settings.web_port}, name
        for url in re.findall(r"https?://[^\s'\"]+", str(service.get("healthcheck", ""))):
            assert re.sub(r"^https?://[^/]+", "", url) in HTTP_PATHS, name
    # The worker itself gets no host port: it scales with --scale worker=N.
    assert not workers["worker"].get("ports")


def test_compose_override_names_existing_services() -> None:
    base, local = load_yaml(COMPOSE), load_yaml(COMPOSE_LOCAL)
    assert set(local["services"]) <= set(base["services"])
    for name in _worker_services(base):
        assert local["services"][name]["image"] == WORKER_IMAGE_LOCAL, name


# -- the image and Prometheus -----------------------------------------------------------------


def test_dockerfile_names() -> None:
    text = source(DOCKERFILE).read_text("utf-8")
    expose = re.findall(r"^EXPOSE\s+(.+)$", text, re.MULTILINE)
    assert {int(p.split("/")[0]) for line in expose for p in line.split()} == {DEFAULTS.web_port}
    (healthcheck,) = re.findall(r"^HEALTHCHECK(?:[^\n]*\\\n)*[^\n]*", text, re.MULTILINE)
    paths = {
        re.sub(r"^https?://[^/]+", "", u) for u in re.findall(r"https?://[^\s'\"]+", healthcheck)
    }
    assert paths, "HEALTHCHECK names no URL"
    assert paths <= HTTP_PATHS
    ports = {int(p) for p in re.findall(r"\b\d{4,5}\b", healthcheck)}
    assert ports == {DEFAULTS.web_port}
    (user,) = re.findall(r"^USER\s+(\d+)", text, re.MULTILINE)
    assert int(user) == UID  # the k8s runAsUser (tests/deploy/k8s.py, deploy/k8s/base)
    (entrypoint,) = re.findall(r"^ENTRYPOINT\s+(\[.*\])$", text, re.MULTILINE)
    (cmd,) = re.findall(r"^CMD\s+(\[.*\])$", text, re.MULTILINE)
    assert yaml.safe_load(entrypoint) == ["article-worker"]
    assert cli_accepts(yaml.safe_load(cmd))


def test_prometheus_scrapes_the_compose_workers() -> None:
    config, compose = load_yaml(PROMETHEUS), load_yaml(COMPOSE)
    workers = _worker_services(compose)
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "article-worker"]
    settings = _compose_settings(workers["worker"])
    assert job.get("metrics_path", "/metrics") in HTTP_PATHS
    for sd in job.get("dns_sd_configs", []):
        assert set(sd["names"]) <= set(workers), sd
        assert sd["port"] == settings.web_port
    for static in job.get("static_configs", []):
        for target in static["targets"]:
            assert int(target.rpartition(":")[2]) == settings.web_port, target
