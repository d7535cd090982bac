#!/usr/bin/env bash
# A local Debian base image for the container tests, where no image registry is reachable:
# debootstrap a minimal bookworm root with Python 3.11 and import it into podman.
#
#   base-image.sh [NAME]   build NAME (default localhost/article-worker-base:bookworm) unless
#                          podman has it built from this very definition; prints NAME (the
#                          only line on stdout)
#
# The image carries the label io.article-worker.source-key: a hash of what defines it (suite,
# variant, package list and this script's bytes). An image without it or with another one
# is rebuilt, and the image it replaced is removed if that left it untagged and unused.
# One build at a time: a lock in the checkout's .run/ (sessions may start this at once).
#
# Environment: BASE_IMAGE_REBUILD=1 (build even if up to date), DEBIAN_MIRROR
# (http://deb.debian.org/debian), CONTAINERS_CONF (default: containers.conf beside this).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
NAME="${1:-localhost/article-worker-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
VARIANT=minbase
PACKAGES=python3,python3-venv,ca-certificates
KEY_LABEL=io.article-worker.source-key
BUILT_BY=io.article-worker.built-by
log() { printf 'base-image.sh: %s\n' "$*" >&2; }
# shellcheck source=images.sh
source "$HERE/images.sh"

key="$(printf '%s\n' "$SUITE" "$VARIANT" "$PACKAGES" "$(sha256sum <"${BASH_SOURCE[0]}")" \
  | sha256sum | cut -c1-64)"
label_of() { podman image inspect -f "{{index .Labels \"$KEY_LABEL\"}}" "$1" 2>/dev/null; }

LOCK_DIR="$HERE/../../.run"
mkdir -p "$LOCK_DIR"
exec 8>"$LOCK_DIR/base-image.lock"
flock 8

old=""
if podman image exists "$NAME"; then
  if [[ "${BASE_IMAGE_REBUILD:-0}" != 1 && "$(label_of "$NAME")" == "$key" ]]; then
    echo "$NAME"
    exit 0
  fi
  old="$(podman image inspect -f '{{.Id}}' "$NAME")"
  log "$NAME is not built from this definition (or BASE_IMAGE_REBUILD=1): rebuilding"
fi
command -v debootstrap >/dev/null || { log "error: debootstrap not found (apt-get install debootstrap)"; exit 1; }
ROOT="$(mktemp -d /var/tmp/article-worker-base.XXXXXX)"
trap 'rm -rf "$ROOT" "$ROOT.log"' EXIT
t0=$SECONDS
log "debootstrap $SUITE ($VARIANT, $PACKAGES) into $ROOT"
debootstrap --variant="$VARIANT" --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" \
  >"$ROOT.log" 2>&1 || { tail -n 30 "$ROOT.log" >&2; exit 1; }
# Nothing the image needs: apt's package lists and caches.
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb
tar -C "$ROOT" -c . | podman import -q --change 'CMD ["/bin/bash"]' \
  --change "LABEL $KEY_LABEL=$key" --change "LABEL $BUILT_BY=base-image.sh" - "$NAME" >/dev/null
log "built $NAME in $((SECONDS - t0)) s"

# The image this replaced (worker images built on it keep it alive: then it stays).
remove_replaced "$old" base-image.sh
echo "$NAME"
