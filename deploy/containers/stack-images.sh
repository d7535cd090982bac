#!/usr/bin/env bash
# Builds the local images the compose stack's test override (deploy/compose.local.yaml) uses
# where no image registry is reachable: the worker (deploy/containers/worker-image.sh), Kafka
# (deploy/kafka/, from the Maven Central jars in deploy/local/lib) and Prometheus
# (deploy/prometheus/, Debian's package), all on the local Debian base image.
#
#   stack-images.sh          build each image that podman does not have yet
#
# Environment: STACK_IMAGES_REBUILD=1 (build even if present), CONTAINERS_CONF (default:
# containers.conf beside this), BASE_IMAGE (localhost/article-worker-base:bookworm, built by
# base-image.sh when missing), KAFKA_IMAGE (localhost/article-worker-kafka:local),
# PROMETHEUS_IMAGE (localhost/article-worker-prometheus:local), SKIP_WORKER_IMAGE=1 (leave
# the worker image to the caller).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEPLOY="$(dirname "$HERE")"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
BASE_IMAGE="${BASE_IMAGE:-localhost/article-worker-base:bookworm}"
KAFKA_IMAGE="${KAFKA_IMAGE:-localhost/article-worker-kafka:local}"
PROMETHEUS_IMAGE="${PROMETHEUS_IMAGE:-localhost/article-worker-prometheus:local}"
log() { printf 'stack-images.sh: %s\n' "$*" >&2; }

wanted() { [[ "${STACK_IMAGES_REBUILD:-0}" == 1 ]] || ! podman image exists "$1"; }

"$HERE/base-image.sh" "$BASE_IMAGE" >/dev/null

if [[ "${SKIP_WORKER_IMAGE:-0}" != 1 ]]; then
  "$HERE/worker-image.sh" >/dev/null
fi

if wanted "$KAFKA_IMAGE"; then
  # The jars kafka.sh fetches (with Maven, once); the broker itself is not started.
  lib="$DEPLOY/local/lib"
  version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$DEPLOY/local/pom.xml" | head -n 1)"
  if [[ ! -f "$lib/kafka_2.13-$version.jar" ]]; then
    command -v mvn >/dev/null || { log "error: mvn not found (needed once, to fetch Kafka $version's jars)"; exit 1; }
    log "fetching Kafka $version's jars into $lib"
    mvn -q -B -f "$DEPLOY/local/pom.xml" dependency:copy-dependencies -DoutputDirectory="$lib" >&2
  fi
  ctx="$(mktemp -d /var/tmp/article-worker-kafka.XXXXXX)"
  trap 'rm -rf "$ctx"' EXIT
  cp "$DEPLOY/kafka/Dockerfile" "$DEPLOY/kafka/entrypoint.sh" "$ctx/"
  mkdir "$ctx/lib"
  cp "$lib"/*.jar "$ctx/lib/"
  t0=$SECONDS
  podman build -q --build-arg BASE="$BASE_IMAGE" -t "$KAFKA_IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
  trap - EXIT
  log "built $KAFKA_IMAGE (Kafka $version) in $((SECONDS - t0)) s"
fi

if wanted "$PROMETHEUS_IMAGE"; then
  t0=$SECONDS
  podman build -q --build-arg BASE="$BASE_IMAGE" -t "$PROMETHEUS_IMAGE" "$DEPLOY/prometheus" >/dev/null
  log "built $PROMETHEUS_IMAGE in $((SECONDS - t0)) s"
fi
