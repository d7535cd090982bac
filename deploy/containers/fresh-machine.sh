#!/usr/bin/env bash
# README's two commands on a fresh machine: a container from the local base image (Debian
# bookworm minbase + Python 3.11; no Java, no Maven, no make), a fresh `git clone` of this
# checkout's committed HEAD in it, then `make demo` and `make test`, each timed by phase.
#
#   fresh-machine.sh            run the trial; the log and a summary go to $FRESH_LOG_DIR
#
# What goes in: only committed files (git clone), plus the working-tree files named in
# FRESH_OVERLAY (default: Makefile) copied over the clone, so an uncommitted change to
# them is what is tried. Inside: `apt-get install make` first (README's precondition),
# then `make demo`, then `make test` with PYTEST_ADDOPTS="$FRESH_PYTEST_ADDOPTS".
#
# This machine kind's network, emulated (not a change to the project): TLS to PyPI and
# Maven Central is intercepted by a CA the host trusts. Its certificate is copied into the
# container's /usr/local/share/ca-certificates and update-ca-certificates is run before
# Java is installed (so ca-certificates-java puts it into Java's truststore), and the
# host's /etc/pip.conf (which points pip at the system bundle) is copied too.
#
# Environment: FRESH_IMAGE (localhost/article-worker-base:bookworm), FRESH_NAME
# (awfresh-trial), FRESH_LOG_DIR (a new /var/tmp/awfresh.XXXXXX), FRESH_OVERLAY
# (Makefile; space-separated paths), FRESH_PYTEST_ADDOPTS (-m 'not containers': podman
# cannot run nested in a container here), FRESH_CA_FILES (the host's local CAs, where
# update-ca-certificates takes them from: /usr/local/share/ca-certificates/*.crt),
# FRESH_PIP_CONF (/etc/pip.conf, if present), FRESH_KEEP=1 (leave the container),
# CONTAINERS_CONF (default: containers.conf beside this script). Default bridge network,
# not the host's: the host's own broker holds 127.0.0.1:9092.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
IMAGE="${FRESH_IMAGE:-localhost/article-worker-base:bookworm}"
NAME="${FRESH_NAME:-awfresh-trial}"
LOG_DIR="${FRESH_LOG_DIR:-$(mktemp -d /var/tmp/awfresh.XXXXXX)}"
OVERLAY="${FRESH_OVERLAY:-Makefile}"
ADDOPTS="${FRESH_PYTEST_ADDOPTS:--m 'not containers'}"
PIP_CONF="${FRESH_PIP_CONF:-/etc/pip.conf}"
if [[ -z "${FRESH_CA_FILES+x}" ]]; then
  FRESH_CA_FILES="$(ls /usr/local/share/ca-certificates/*.crt 2>/dev/null | xargs || true)"
fi
SRC=/root/article-worker
LOG="$LOG_DIR/trial.log"
SUMMARY="$LOG_DIR/summary.txt"
mkdir -p "$LOG_DIR"
: >"$LOG"
: >"$SUMMARY"
log() { printf 'fresh-machine.sh: %s\n' "$*" | tee -a "$SUMMARY" >&2; }

cleanup() {
  rm -rf "${CLONE_DIR:-}"
  if [[ "${FRESH_KEEP:-0}" != 1 ]]; then podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# Each line of a step's output, stamped with the seconds since the trial began, so that
# the phases inside one make command (apt, venv, jars, ...) can be timed afterwards.
T0=$SECONDS
step() { # step LABEL COMMAND: run COMMAND in the container, log it stamped; its status
  local label="$1" cmd="$2" t=$SECONDS rc=0
  printf '%5d ### %s: %s\n' $((SECONDS - T0)) "$label" "$cmd" >>"$LOG"
  podman exec -w "$SRC" "$NAME" bash -c "$cmd" 2>&1 | while IFS= read -r line; do
    printf '%5d %s\n' $((SECONDS - T0)) "$line"
  done >>"$LOG" || rc=$? # pipefail: podman exec's status (the loop's is 0)
  printf '%5d ### %s: exit %s\n' $((SECONDS - T0)) "$label" "$rc" >>"$LOG"
  log "$label: exit $rc in $((SECONDS - t)) s"
  return "$rc"
}

# --- the clone -----------------------------------------------------------------------------
CLONE_DIR="$(mktemp -d /var/tmp/awfresh-clone.XXXXXX)"
git clone -q "$ROOT" "$CLONE_DIR/src"
log "clone of $(git -C "$ROOT" rev-parse --short HEAD) ($(git -C "$CLONE_DIR/src" ls-files | wc -l) files)"
for f in $OVERLAY; do
  if ! cmp -s "$ROOT/$f" "$CLONE_DIR/src/$f"; then
    cp "$ROOT/$f" "$CLONE_DIR/src/$f"
    log "overlay: working-tree $f copied over the clone's"
  fi
done

# --- the container -------------------------------------------------------------------------
podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
podman run -d --name "$NAME" "$IMAGE" sleep infinity >/dev/null
log "container $NAME from $IMAGE; log: $LOG"
podman exec "$NAME" mkdir -p "$SRC"
tar -C "$CLONE_DIR/src" -c . | podman exec -i "$NAME" tar -C "$SRC" -x
for ca in $FRESH_CA_FILES; do
  podman cp "$ca" "$NAME:/usr/local/share/ca-certificates/$(basename "${ca%.*}").crt"
  log "emulated network: CA $(basename "$ca") installed"
done
if [[ -r "$PIP_CONF" ]]; then
  podman cp "$PIP_CONF" "$NAME:/etc/pip.conf"
  log "emulated network: $PIP_CONF copied"
fi
step ca 'update-ca-certificates 2>&1 | grep added'
for tool in java mvn make; do
  if podman exec "$NAME" sh -c "command -v $tool" >/dev/null; then log "error: $tool is already in the image"; exit 1; fi
done

# --- the trial -----------------------------------------------------------------------------
status=0
step make 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make >/dev/null && make --version | head -n 1' || status=1
if ((status == 0)); then step demo 'make demo' || status=1; fi
# pytest refuses an unregistered marker in -m (--strict-markers): a HEAD without the
# marker has no container tests, and runs whole.
if ! grep -q '"containers:' "$CLONE_DIR/src/pyproject.toml"; then
  log "the clone's pyproject.toml registers no 'containers' marker: running without -m"
  ADDOPTS=""
fi
if ((status == 0)); then step test "PYTEST_ADDOPTS=\"$ADDOPTS\" make test" || status=1; fi
# No daemon left behind by the packages (prometheus), nor by the demo or the tests.
step processes 'for p in /proc/[0-9]*; do c=$(cat $p/cmdline 2>/dev/null | tr "\0" " "); [ -n "$c" ] && echo "$(basename $p) $c"; done' || true

# --- phases, from the stamps ---------------------------------------------------------------
# First stamp of the first line matching a pattern (empty when none matches).
at() { awk -v re="$1" '$0 ~ re {print $1; exit}' "$LOG"; }
span() { # span LABEL FROM TO
  if [[ -n "$2" && -n "$3" ]]; then log "phase $1: $(($3 - $2)) s"; fi
}
t_apt="$(at 'installing Debian packages')"
t_venv="$(at ' -m venv ')"
t_demo="$(at 'deploy/local/demo.sh')"
t_jars="$(at 'kafka.sh: fetching Kafka')"
t_jars_end="$(at 'kafka.sh: fetched [0-9]+ jars')"
t_demo_end="$(at '### demo: exit')"
t_corpora="$(at 'tests.corpora.fetch')"
t_pytest="$(at ' -m pytest')"
t_test_end="$(at '### test: exit')"
# make demo runs the venv first, then system-deps (its prerequisites' order).
span venv "$t_venv" "$t_apt"
span apt "$t_apt" "$t_demo"
span jars "$t_jars" "$t_jars_end"
span demo-run "$t_jars_end" "$t_demo_end"
span corpora "$t_corpora" "$t_pytest"
span pytest "$t_pytest" "$t_test_end"
grep -aE 'kafka.sh: fetched|installing Debian packages' "$LOG" | cut -c7- | sed 's/^/  /' | tee -a "$SUMMARY" >&2 || true
result="$(grep -aE '^ *[0-9]+ =+ .*(passed|failed|error).* in [0-9.]+s' "$LOG" | tail -n 1 | cut -c7- || true)"
log "pytest: ${result:-no summary line}"
log "trial: $( ((status == 0)) && echo passed || echo FAILED) in $((SECONDS - T0)) s"
exit "$status"
