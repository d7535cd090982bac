#!/usr/bin/env bash
# Build the worker's image (deploy/docker/Dockerfile) with podman where containers reach
# no PyPI: the wheels are built on this host and handed to the build as the `wheels`
# build context; the base is the local debootstrapped one (base-image.sh).
#
#   worker-image.sh [NAME]   build NAME (default localhost/article-worker:local); prints
#                            NAME (the only line on stdout). Podman's layer cache makes a
#                            rebuild with unchanged sources take seconds; a changed source
#                            rebuilds from the project's wheel on.
#
# Environment: PYTHON (host Python with pip that builds the wheels; default .venv/bin/python),
# WORKER_IMAGE_BASE (base image; default: base-image.sh's, built when missing or stale),
# WORKER_WHEELS_DIR (default .run/worker-image/wheels), WORKER_IMAGE_NO_CACHE=1 (rebuild
# every layer and the dependency wheels), CONTAINERS_CONF (default: containers.conf beside
# this).
#
# The image is labelled io.article-worker.built-by=worker-image.sh; the one a rebuild replaced
# is removed when that left it untagged and no container uses it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
NAME="${1:-localhost/article-worker:local}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
WHEELS="${WORKER_WHEELS_DIR:-$ROOT/.run/worker-image/wheels}"
BUILT_BY=io.article-worker.built-by  # label: which script built an image
log() { printf 'worker-image.sh: %s\n' "$*" >&2; }
# shellcheck source=images.sh
source "$HERE/images.sh"
t0=$SECONDS

# One build at a time (test sessions may start this at once): they share the wheels folder
# and the image name. Taken before the base is looked at (base-image.sh has a lock of its
# own too, for callers that run it directly).
mkdir -p "$WHEELS"
exec 9>"$WHEELS.lock"
flock 9

BASE="${WORKER_IMAGE_BASE:-$("$HERE/base-image.sh")}"

# The project's wheel, rebuilt only when its sources changed (their hash is the key).
# Built from a copy, as tests/test_wheel.py does: setuptools' build/ folder would land in
# the checkout, and stale files there can end up in a later wheel. A fixed
# SOURCE_DATE_EPOCH makes the wheel's bytes depend on the sources alone, so unchanged
# sources hit podman's layer cache.
SOURCES=(pyproject.toml README.md worker config)
export SOURCE_DATE_EPOCH=315532800 PIP_DISABLE_PIP_VERSION_CHECK=1
src_key="$(cd "$ROOT" && find "${SOURCES[@]}" -type f ! -path '*/__pycache__/*' -print0 \
  | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)"
if [[ "${WORKER_IMAGE_NO_CACHE:-0}" == 1 || "$(cat "$WHEELS/app.key" 2>/dev/null)" != "$src_key" ]]
then
  SRC="$(mktemp -d /var/tmp/article-worker-src.XXXXXX)"
  trap 'rm -rf "$SRC"' EXIT
  (cd "$ROOT" && cp -a "${SOURCES[@]}" "$SRC/")
  find "$SRC" -name __pycache__ -prune -exec rm -rf {} +
  rm -rf "$WHEELS/app" "$WHEELS/app.key"
  mkdir -p "$WHEELS/app"
  "$PYTHON" -m pip wheel --quiet --no-deps -w "$WHEELS/app" "$SRC"
  echo "$src_key" >"$WHEELS/app.key"
fi

# Dependencies: fetched again only when pyproject.toml changed (its hash is the key).
key="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-64)"
cache=()
if [[ "${WORKER_IMAGE_NO_CACHE:-0}" == 1 ]]; then
  cache=(--no-cache)
  rm -f "$WHEELS/deps.key"
fi
if [[ "$(cat "$WHEELS/deps.key" 2>/dev/null)" != "$key" ]]; then
  log "building dependency wheels into $WHEELS/deps"
  rm -rf "$WHEELS/deps" "$WHEELS/deps.key"
  mkdir -p "$WHEELS/deps"
  "$PYTHON" -m pip wheel --quiet -w "$WHEELS/deps" "$WHEELS"/app/article_worker-*.whl
  rm -f "$WHEELS/deps"/article_worker-*.whl
  echo "$key" >"$WHEELS/deps.key"
fi

log "building $NAME on $BASE"
old="$(podman image inspect -f '{{.Id}}' "$NAME" 2>/dev/null || :)"  # none yet: empty
podman build --quiet --format docker --layers "${cache[@]}" \
  --build-arg BASE_IMAGE="$BASE" \
  --build-context wheels="$WHEELS" \
  --label "$BUILT_BY=worker-image.sh" \
  -f "$ROOT/deploy/docker/Dockerfile" -t "$NAME" "$ROOT" >/dev/null
log "built $NAME in $((SECONDS - t0)) s ($(podman image inspect -f '{{.Size}}' "$NAME") bytes)"

remove_replaced "$old" worker-image.sh
echo "$NAME"
