#!/usr/bin/env bash
# A local Debian base image for the container tests, where no image registry is reachable:
# debootstrap a minimal bookworm root with Python 3.11 and import it into podman.
#
#   base-image.sh [NAME]   build NAME (default localhost/article-worker-base:bookworm) unless
#                          podman already has it; prints NAME (the only line on stdout)
#
# Environment: BASE_IMAGE_REBUILD=1 (build even if present), DEBIAN_MIRROR
# (http://deb.debian.org/debian), CONTAINERS_CONF (default: containers.conf beside this).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
NAME="${1:-localhost/article-worker-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
log() { printf 'base-image.sh: %s\n' "$*" >&2; }

if [[ "${BASE_IMAGE_REBUILD:-0}" != 1 ]] && podman image exists "$NAME"; then
  echo "$NAME"
  exit 0
fi
command -v debootstrap >/dev/null || { log "error: debootstrap not found (apt-get install debootstrap)"; exit 1; }
ROOT="$(mktemp -d /var/tmp/article-worker-base.XXXXXX)"
trap 'rm -rf "$ROOT"' EXIT
t0=$SECONDS
log "debootstrap bookworm (minbase, python3, python3-venv, ca-certificates) into $ROOT"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  bookworm "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || { tail -n 30 "$ROOT.log" >&2; rm -f "$ROOT.log"; exit 1; }
rm -f "$ROOT.log"
# Nothing the image needs: apt's package lists and caches.
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb
tar -C "$ROOT" -c . | podman import -q --change 'CMD ["/bin/bash"]' - "$NAME" >/dev/null
log "built $NAME in $((SECONDS - t0)) s"
echo "$NAME"
