#!/usr/bin/env bash
# The README's picture of the Grafana dashboard (docs/dashboard.png), made from a real run of
# the compose stack (deploy/compose.yaml with the local override deploy/compose.local.yaml):
# two worker replicas, then about seven minutes of a workload an operator would recognise,
# then deploy/grafana/render.py draws every panel's queries from the stack's Prometheus.
#
#   deploy/containers/dashboard-snapshot.sh     (from anywhere; about 8-9 minutes)
#
# The workload, in seconds after both replicas hold their partitions:
#     0  the seeds at a steady rate until the end (SNAPSHOT_RATE per second)
#    60  a burst: the seeds SNAPSHOT_BURST_REPEAT times, as fast as the feed sends
#   120  bad input for two minutes: invalid UTF-8 bytes and invalid JSON lines (dead letters)
#   180  scale up to three replicas
#   240  a second burst, now drained by three replicas
#   400 the steady feed ends; the picture covers the run from 20 s before the workload on
#
# Its own compose project (awsnap-<8 hex>) on free host ports (Kafka's EXTERNAL listener,
# Prometheus), so it never meets the host's broker on 9092 or another run; Grafana is not
# started (no image here). The stack is always removed at the end, by the compose project
# label (`down -v` misses replicas added by scaling).
#
# Environment: SNAPSHOT_OUT (PNG to write; default docs/dashboard.png), SNAPSHOT_RATE (steady
# feed, articles per second; 25), SNAPSHOT_BURST_REPEAT (times the seeds go out in a burst;
# 200), SNAPSHOT_SCRAPE_INTERVAL (Prometheus' scrape, rule and DNS intervals, whole seconds; 5s),
# SNAPSHOT_KEEP=1 (keep the work folder with the logs even after a good run), CONTAINERS_CONF
# (default: containers.conf beside this). The images come from base-image.sh and
# stack-images.sh (each rebuilt when what it is built from changed; the worker image when its sources did).
# Needs podman, the project's .venv (podman-compose, article-worker, matplotlib, PyYAML), curl
# and jq.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
OUT="${SNAPSHOT_OUT:-$ROOT/docs/dashboard.png}"
RATE="${SNAPSHOT_RATE:-25}"
BURST_REPEAT="${SNAPSHOT_BURST_REPEAT:-200}"
SCRAPE="${SNAPSHOT_SCRAPE_INTERVAL:-5s}"
PY="$ROOT/.venv/bin/python"
COMPOSE=("$ROOT/.venv/bin/podman-compose" -f "$ROOT/deploy/compose.yaml" -f "$ROOT/deploy/compose.local.yaml")
PARTITIONS=6 # ARTICLE_WORKER_TOPIC_PARTITIONS in compose.yaml
STEADY_SECONDS=400

T0=$SECONDS # the script's start
W0=""       # the workload's start (both replicas settled)
log() {
  local w=""
  [[ -n "$W0" ]] && w=" workload +$((SECONDS - W0))s"
  printf '[snapshot %4ds%s] %s\n' "$((SECONDS - T0))" "$w" "$*" >&2
}
die() { log "error: $*"; exit 1; }

for tool in podman curl jq; do command -v "$tool" >/dev/null || die "$tool not found"; done
[[ -x "$PY" && -x "${COMPOSE[0]}" && -x "$ROOT/.venv/bin/article-worker" ]] \
  || die "the project's .venv with podman-compose and article-worker is needed"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PROJECT="awsnap-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
KAFKA_PORT="$(free_port)"
PROM_PORT="$(free_port)"
[[ "$KAFKA_PORT" != "$PROM_PORT" ]] || PROM_PORT="$(free_port)"
PROM="http://127.0.0.1:$PROM_PORT"
BROKER="kafka://127.0.0.1:$KAFKA_PORT"
WORK="$(mktemp -d /var/tmp/awsnap.XXXXXX)"
chmod 755 "$WORK" # Prometheus' container reads its config from here
export KAFKA_EXTERNAL_PORT="$KAFKA_PORT" PROMETHEUS_PORT="$PROM_PORT" PROMETHEUS_CONFIG="$WORK/prometheus.yml"
FEEDS=() # background feeds' pids
STARTED=0

teardown() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${FEEDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ "$STARTED" == 1 ]]; then
    log "removing compose project $PROJECT"
    local label="label=io.podman.compose.project=$PROJECT" service names
    # Dependents before what they depend on (podman refuses otherwise).
    for service in worker feed topics prometheus kafka grafana; do
      names="$(podman ps -a -q --filter "$label" --filter "label=com.docker.compose.service=$service")"
      [[ -z "$names" ]] || podman rm -f -t 0 $names >/dev/null 2>&1 || true
    done
    names="$(podman ps -a -q --filter "$label")"
    [[ -z "$names" ]] || podman rm -f -t 0 $names >/dev/null 2>&1 || true
    podman pod rm -f "pod_$PROJECT" >/dev/null 2>&1 || true
    names="$(podman volume ls -q --filter "$label")"
    [[ -z "$names" ]] || podman volume rm -f $names >/dev/null 2>&1 || true
    podman network rm -f "${PROJECT}_default" >/dev/null 2>&1 || true
  fi
  if [[ "$status" == 0 && "${SNAPSHOT_KEEP:-0}" != 1 ]]; then
    rm -rf "$WORK"
  else
    log "logs kept in $WORK"
  fi
  log "done (exit $status) after $((SECONDS - T0)) s"
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# --- images and configuration ----------------------------------------------------------

log "phase: images (base-image.sh, stack-images.sh)"
"$HERE/base-image.sh" >/dev/null
"$HERE/stack-images.sh"

# deploy/prometheus/prometheus.yml with every interval short, so a 7-minute run has points.
"$PY" - "$ROOT/deploy/prometheus/prometheus.yml" "$PROMETHEUS_CONFIG" "$SCRAPE" <<'EOF'
import sys, yaml
src, dst, interval = sys.argv[1:]
config = yaml.safe_load(open(src, encoding="utf-8"))
config["global"]["scrape_interval"] = interval
config["global"]["evaluation_interval"] = interval
for job in config["scrape_configs"]:
    for sd in job.get("dns_sd_configs", []):
        sd["refresh_interval"] = interval
with open(dst, "w", encoding="utf-8") as out:
    yaml.safe_dump(config, out)
EOF
chmod 644 "$PROMETHEUS_CONFIG"

# Bad input the worker must turn into dead letters, in unequal shares so that the reasons'
# lines part: 5 lines that are not JSON, 3 files that are not UTF-8, 2 objects without a
# body, 1 JSON list (11 messages a round).
mkdir "$WORK/bad"
for n in 1 2 3; do printf 'Mumbai \xff\xfe rain \xc3\x28 update %d\n' "$n" >"$WORK/bad/not-utf8-$n.txt"; done
cat >"$WORK/bad/broken.jsonl" <<'EOF2'
{"id": "bad-1", "body": "truncated
{"id": "bad-2", "body": "no closing brace"
{"id": "bad-3" "body": "no comma"}
{'id': 'bad-4', 'body': 'single quotes'}
{"id": "bad-5", "body": "trailing comma",}
{"id": "bad-6", "title": "no body at all"}
{"id": "bad-7", "headline": "no body either"}
["a list", "not an object"]
EOF2

# --- the stack ---------------------------------------------------------------------------

prom() { # an instant query's first value (empty when there is none)
  curl -fsS --max-time 5 "$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null \
    | jq -r '.data.result[0].value[1] // empty' 2>/dev/null || true
}
status() {
  local j='{job="article-worker"}'
  log "status: replicas up $(prom "sum(up$j)")/$(prom "count(up$j)"), partitions held $(prom "sum(article_worker_assigned_partitions$j)"), in $(prom "round(sum(rate(article_worker_messages_consumed_total$j[1m])))")/s, lag $(prom "sum(article_worker_consumer_lag_messages$j)"), dead letters $(prom "sum(article_worker_articles_rejected_total$j)")"
}
settled() { # $1 replicas up, each holding partitions, all $PARTITIONS held
  local j='{job="article-worker"}'
  [[ "$(prom "count(up$j == 1)")" == "$1" \
    && "$(prom "count(article_worker_assigned_partitions$j > 0)")" == "$1" \
    && "$(prom "sum(article_worker_assigned_partitions$j)")" == "$PARTITIONS" ]]
}
wait_settled() {
  local deadline=$((SECONDS + $2))
  until settled "$1"; do
    ((SECONDS < deadline)) || { status; die "$1 replicas did not settle in $2 s"; }
    sleep 2
  done
}

log "phase: up $PROJECT with 2 workers (Kafka 127.0.0.1:$KAFKA_PORT, Prometheus $PROM)"
STARTED=1
UP0=$(date +%s)
"${COMPOSE[@]}" -p "$PROJECT" up -d --scale worker=2 >"$WORK/up.log" 2>&1 \
  || { tail -n 30 "$WORK/up.log" >&2; die "podman-compose up failed"; }
wait_settled 2 300
log "both replicas hold partitions and are scraped, $(($(date +%s) - UP0)) s after up"

# --- the workload --------------------------------------------------------------------------

W0=$SECONDS
W0_EPOCH=$(date +%s)
feed() { # feed NAME ARGS...: article-worker feed from the host, in the background
  local name=$1
  shift
  # The worker refuses unknown ARTICLE_WORKER_* variables; the caller's are not for it.
  env $(compgen -e | grep '^ARTICLE_WORKER_' | sed 's/^/-u /') \
    "$ROOT/.venv/bin/article-worker" feed --broker "$BROKER" "$@" >"$WORK/$name.log" 2>&1 &
  FEEDS+=($!)
  log "phase: $name (feed $*)"
}
wait_until() { # wait_until S: sleep until the workload is S seconds old, a status line each 30 s
  while ((SECONDS - W0 < $1)); do
    local left=$(($1 - (SECONDS - W0)))
    sleep $((left < 30 ? left : 30))
    ((SECONDS - W0 >= $1)) || status
  done
}
finish() { # finish NAME PID: wait for a feed, show its summary, fail if it failed
  wait "$2" || { tail -n 20 "$WORK/$1.log" >&2; die "$1 feed failed"; }
  log "$1 done: $(tr '\r' '\n' <"$WORK/$1.log" | grep -v '^\s*$' | tail -n 1)"
}

SEEDS_N=$(find "$ROOT/seeds" -maxdepth 1 -type f \( -name '*.txt' -o -name '*.json' \) | wc -l)
feed steady "$ROOT/seeds" --rate "$RATE" --repeat $(((STEADY_SECONDS * RATE + SEEDS_N - 1) / SEEDS_N))
STEADY_PID=${FEEDS[-1]}
wait_until 60
feed burst-1 "$ROOT/seeds" --repeat "$BURST_REPEAT"
BURST1_PID=${FEEDS[-1]}
wait_until 120
feed bad-input "$WORK/bad" --rate 3 --repeat 33 # 11 messages a round, 363 in two minutes
BAD_PID=${FEEDS[-1]}
finish burst-1 "$BURST1_PID"
wait_until 180
log "phase: scale up to 3 workers"
S0=$SECONDS
"${COMPOSE[@]}" -p "$PROJECT" up -d --no-deps --scale worker=3 worker >"$WORK/scale.log" 2>&1 \
  || { tail -n 30 "$WORK/scale.log" >&2; die "scaling up failed"; }
wait_settled 3 180
log "three replicas hold partitions, $((SECONDS - S0)) s after the scale-up"
wait_until 240
feed burst-2 "$ROOT/seeds" --repeat "$BURST_REPEAT"
BURST2_PID=${FEEDS[-1]}
finish bad-input "$BAD_PID"
finish burst-2 "$BURST2_PID"
finish steady "$STEADY_PID"
# One more scrape, so the picture ends with the steady feed's last seconds.
sleep "${SCRAPE%s}"
status

# --- the picture ---------------------------------------------------------------------------

j='{job="article-worker"}'
log "totals: consumed $(prom "sum(article_worker_messages_consumed_total$j)"), enriched $(prom "sum(article_worker_articles_enriched_total$j)"), dead letters $(prom "sum(article_worker_articles_rejected_total$j)")"
# From just before the replicas' first scrapes (the workload starts when both are settled).
MINUTES=$("$PY" -c "print(round(($(date +%s) - $W0_EPOCH + 20) / 60, 1))")
log "phase: render $MINUTES min into $OUT"
"$PY" "$ROOT/deploy/grafana/render.py" --prometheus "$PROM" \
  --dashboard "$ROOT/deploy/grafana/dashboards/article-worker.json" \
  --out "$OUT" --minutes "$MINUTES" --require-data
