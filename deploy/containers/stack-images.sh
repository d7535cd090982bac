#!/usr/bin/env bash
# Builds the local images the compose stack's test override (deploy/compose.local.yaml) uses
# where no image registry is reachable: the worker (deploy/containers/worker-image.sh), Kafka
# (deploy/kafka/, from the Maven Central jars in deploy/local/lib) and Prometheus
# (deploy/prometheus/, Debian's package), all on the local Debian base image.
#
#   stack-images.sh          build the Kafka and Prometheus images when missing or stale
#
# Stale: each image carries the hash of what it was built from as the label
# io.article-worker.source-key (Kafka: deploy/kafka/* and the jars; Prometheus:
# deploy/prometheus/Dockerfile; both: the base image's id), and is rebuilt when that hash
# changed. The image a rebuild replaces is removed when it is left without a name, was built
# by this script (label io.article-worker.built-by=stack-images.sh) and no container uses it.
#
# Environment: STACK_IMAGES_REBUILD=1 (build even if current), CONTAINERS_CONF (default:
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
KEY_LABEL=io.article-worker.source-key
log() { printf 'stack-images.sh: %s\n' "$*" >&2; }
# shellcheck source=images.sh
source "$HERE/images.sh"

# One run at a time (test sessions and dashboard-snapshot.sh may start this at once): two
# builds of one tag would each leave the other's image behind.
exec 9>"/var/tmp/article-worker-stack-images.lock"
flock 9

label_of() { podman image inspect --format "{{index .Labels \"$2\"}}" "$1" 2>/dev/null || true; }
id_of() { podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# Whether IMAGE must be built for KEY.
wanted() {
  [[ "${STACK_IMAGES_REBUILD:-0}" == 1 ]] || [[ "$(label_of "$1" "$KEY_LABEL")" != "$2" ]]
}

# Build IMAGE from CONTEXT with KEY as its label; then drop the image it replaced.
build() {
  local image="$1" key="$2" context="$3" old new t0=$SECONDS
  old="$(id_of "$image")"
  # The labels come from build arguments the Dockerfile uses in its last step: podman's
  # --label would go into every step and cost the whole layer cache at each new key.
  podman build -q --build-arg BASE="$BASE_IMAGE" --build-arg SOURCE_KEY="$key" \
    --build-arg BUILT_BY=stack-images.sh -t "$image" "$context" >/dev/null
  new="$(id_of "$image")"
  log "built $image in $((SECONDS - t0)) s ($(podman image inspect --format '{{.Size}}' "$image") bytes)"
  if [[ "$old" != "$new" ]]; then remove_replaced "$old" stack-images.sh; fi
}

"$HERE/base-image.sh" "$BASE_IMAGE" >/dev/null
base_id="$(id_of "$BASE_IMAGE")"

if [[ "${SKIP_WORKER_IMAGE:-0}" != 1 ]]; then
  "$HERE/worker-image.sh" >/dev/null
fi

# --- Kafka --------------------------------------------------------------------------------
# The jars kafka.sh fetches (with Maven, once); the broker itself is not started.
lib="$DEPLOY/local/lib"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$DEPLOY/local/pom.xml" | head -n 1)"
if [[ ! -f "$lib/kafka_2.13-$version.jar" ]]; then
  command -v mvn >/dev/null || { log "error: mvn not found (needed once, to fetch Kafka $version's jars)"; exit 1; }
  log "fetching Kafka $version's jars into $lib"
  mvn -q -B -f "$DEPLOY/local/pom.xml" dependency:copy-dependencies -DoutputDirectory="$lib" >&2
fi
kafka_key="$( { echo "base $base_id"
  (cd "$DEPLOY/kafka" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
  (cd "$lib" && sha256sum ./*.jar); } | sha256sum | cut -c1-64)"
if wanted "$KAFKA_IMAGE" "$kafka_key"; then
  ctx="$(mktemp -d /var/tmp/article-worker-kafka.XXXXXX)"
  trap 'rm -rf "$ctx"' EXIT
  cp "$DEPLOY/kafka/Dockerfile" "$DEPLOY/kafka/entrypoint.sh" "$ctx/"
  mkdir "$ctx/lib"
  cp "$lib"/*.jar "$ctx/lib/"
  log "building $KAFKA_IMAGE (Kafka $version)"
  build "$KAFKA_IMAGE" "$kafka_key" "$ctx"
  rm -rf "$ctx"
  trap - EXIT
fi

# --- Prometheus ---------------------------------------------------------------------------
# Only the Dockerfile goes into the image (prometheus.yml and the rules are mounted).
prometheus_key="$( { echo "base $base_id"; sha256sum <"$DEPLOY/prometheus/Dockerfile"; } \
  | sha256sum | cut -c1-64)"
if wanted "$PROMETHEUS_IMAGE" "$prometheus_key"; then
  log "building $PROMETHEUS_IMAGE"
  build "$PROMETHEUS_IMAGE" "$prometheus_key" "$DEPLOY/prometheus"
fi
