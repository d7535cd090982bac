#!/usr/bin/env bash
# A local Apache Kafka broker for development and tests: one node in KRaft mode (broker and
# controller in one JVM) on 127.0.0.1, run from the Maven Central jars named by pom.xml.
#
#   kafka.sh start      fetch the jars if missing, write the config, format, start, wait until
#                       it answers, print the bootstrap address (the only line on stdout)
#   kafka.sh stop       stop the broker this script started (no-op if it is not running)
#   kafka.sh status     exit 0 if running and answering (prints the address), else 1
#   kafka.sh bootstrap  print the bootstrap address (running or not)
#
# Environment (see README.md): KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093),
# KAFKA_DATA_DIR (deploy/local/.kafka), KAFKA_LIB_DIR (deploy/local/lib), KAFKA_KEEP_DATA=1
# (keep topics and offsets across starts), KAFKA_HEAP_OPTS (-Xms512m -Xmx512m),
# KAFKA_START_TIMEOUT (60 s), KAFKA_STOP_TIMEOUT (30 s), KAFKA_VERSION (pom.xml's), JAVA.
#
# Secure listeners, each beside the PLAINTEXT one (which stays, for the readiness check and
# inter-broker traffic), only when its port is set: KAFKA_SSL_PORT (TLS; client certificates
# per KAFKA_SSL_CLIENT_AUTH none|requested|required, default required), KAFKA_SASL_SSL_PORT,
# KAFKA_SASL_PLAINTEXT_PORT. TLS needs KAFKA_SSL_KEYSTORE (PKCS12, or PEM when named *.pem)
# and KAFKA_SSL_KEYSTORE_PASSWORD (KAFKA_SSL_KEY_PASSWORD defaults to it); client
# certificates need KAFKA_SSL_TRUSTSTORE (their CA: PEM when *.pem or *.crt, else PKCS12 with
# KAFKA_SSL_TRUSTSTORE_PASSWORD). SASL users: KAFKA_SCRAM_USERS, one StorageTool --add-scram
# value a line ('SCRAM-SHA-512=[name=alice,password=secret]'; enables both SCRAM-SHA
# mechanisms), and KAFKA_SASL_PLAIN_USERS, one 'name=password' a line (enables PLAIN).
# Without any of these ports, server.properties and the broker are exactly as before.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HOST=127.0.0.1
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
BOOTSTRAP="$HOST:$PORT"
# Absolute, so that the PID check (which matches the broker's command line) and the
# classpath hold whatever the caller's working directory.
DATA_DIR="$(realpath -m "${KAFKA_DATA_DIR:-$HERE/.kafka}")"
LIB_DIR="$(realpath -m "${KAFKA_LIB_DIR:-$HERE/lib}")"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
JAVA="${JAVA:-java}"
PID_FILE="$DATA_DIR/kafka.pid"
SSL_PORT="${KAFKA_SSL_PORT:-}"
SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-}"
SASL_PLAINTEXT_PORT="${KAFKA_SASL_PLAINTEXT_PORT:-}"
SSL_CLIENT_AUTH="${KAFKA_SSL_CLIENT_AUTH:-required}"
MARKER=".local-kafka-data" # marks a data dir as ours, so that a fresh start may wipe it

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  echo "usage: $0 start|stop|status|bootstrap" >&2
  exit 2
}

pom_version() {
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml" | head -n 1
}
VERSION="${KAFKA_VERSION:-$(pom_version)}"
[[ -n "$VERSION" ]] || die "cannot read <kafka.version> from $HERE/pom.xml"

# --- the jars ------------------------------------------------------------------------------

fetch_jars() {
  local stamp="$LIB_DIR/.kafka-version"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$VERSION" && -f "$LIB_DIR/kafka_2.13-$VERSION.jar" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (needed once, to fetch Kafka $VERSION's jars)"
  log "fetching Kafka $VERSION and its dependencies from Maven Central into $LIB_DIR"
  mkdir -p "$LIB_DIR"
  rm -f "$stamp" "$LIB_DIR"/*.jar
  local t0=$SECONDS
  local out
  if ! out="$(mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$VERSION" -DoutputDirectory="$LIB_DIR" 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "mvn could not fetch the jars"
  fi
  [[ -f "$LIB_DIR/kafka_2.13-$VERSION.jar" ]] || die "kafka_2.13-$VERSION.jar missing after mvn"
  echo "$VERSION" >"$stamp"
  local jars=("$LIB_DIR"/*.jar)
  log "fetched ${#jars[@]} jars in $((SECONDS - t0)) s"
}

# --- process and readiness -----------------------------------------------------------------

# The PID in the pid file, if that process is alive and is our broker (not a reused PID).
broker_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  local cmd
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ "$cmd" == *kafka.Kafka*"$DATA_DIR/server.properties"* ]] || return 1
  echo "$pid"
}

# Alive and not a zombie (a broker whose parent exited may be left unreaped by PID 1 here).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo X)"
  [[ "$state" != Z && "$state" != X ]]
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# A real request, not just a TCP connect: a metadata request that must list our broker.
answers() {
  if command -v kcat >/dev/null; then
    # All topics (no -t): a request naming a topic would auto-create it.
    local meta
    meta="$(kcat -L -b "$BOOTSTRAP" -m 3 2>/dev/null)" || return 1
    [[ "$meta" == *"broker 1 at $BOOTSTRAP"* ]]
  else
    # Without kcat: an ApiVersions v0 request by hand; any response means the broker answers.
    port_open "$PORT" || return 1
    local reply
    # shellcheck disable=SC2016 # $0 and $1 are expanded by the inner bash
    reply="$(timeout 3 bash -c '
      exec 3<>"/dev/tcp/$0/$1"
      printf "\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff" >&3
      head -c 8 <&3 | od -An -tx1' "$HOST" "$PORT" 2>/dev/null || true)"
    # bytes 4..7 are the correlation id 1 echoed back
    reply="$(tr -s ' \n' ' ' <<<"$reply")"
    [[ "$reply" == *"00 00 00 01 " ]]
  fi
}

show_logs() {
  local f
  for f in "$DATA_DIR/kafka.out" "$DATA_DIR/logs/server.log"; do
    [[ -s "$f" ]] || continue
    log "last lines of $f:"
    tail -n 25 "$f" >&2
  done
}

wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! alive "$pid"; then
      show_logs
      rm -f "$PID_FILE"
      die "the broker (pid $pid) exited during startup"
    fi
    if answers; then return 0; fi
    sleep 0.5
  done
  show_logs
  die "the broker (pid $pid) did not answer on $BOOTSTRAP within $START_TIMEOUT s (still running; '$0 stop' stops it)"
}

# --- commands ------------------------------------------------------------------------------

prepare_data_dir() {
  if [[ "${KAFKA_KEEP_DATA:-0}" == 1 && -f "$DATA_DIR/data/meta.properties" ]]; then
    log "keeping the data in $DATA_DIR (KAFKA_KEEP_DATA=1)"
    return 0
  fi
  if [[ -e "$DATA_DIR" && ! -d "$DATA_DIR" ]]; then
    die "$DATA_DIR exists and is not a directory"
  fi
  if [[ -d "$DATA_DIR" ]] && [[ -n "$(ls -A "$DATA_DIR")" ]] && [[ ! -e "$DATA_DIR/$MARKER" ]]; then
    die "$DATA_DIR is not empty and was not made by this script; not wiping it"
  fi
  rm -rf "$DATA_DIR"
  mkdir -p "$DATA_DIR/data" "$DATA_DIR/logs"
  : >"$DATA_DIR/$MARKER"
}

# --- secure listeners (only when a port for one is set) ------------------------------------

secure() { [[ -n "$SSL_PORT$SASL_SSL_PORT$SASL_PLAINTEXT_PORT" ]]; }

# ",SSL://host:port,..." for each secure listener asked for (empty when none).
secure_listeners() {
  local out=""
  if [[ -n "$SSL_PORT" ]]; then out+=",SSL://$HOST:$SSL_PORT"; fi
  if [[ -n "$SASL_SSL_PORT" ]]; then out+=",SASL_SSL://$HOST:$SASL_SSL_PORT"; fi
  if [[ -n "$SASL_PLAINTEXT_PORT" ]]; then out+=",SASL_PLAINTEXT://$HOST:$SASL_PLAINTEXT_PORT"; fi
  printf '%s' "$out"
}

secure_protocol_map() {
  local out=""
  if [[ -n "$SSL_PORT" ]]; then out+=",SSL:SSL"; fi
  if [[ -n "$SASL_SSL_PORT" ]]; then out+=",SASL_SSL:SASL_SSL"; fi
  if [[ -n "$SASL_PLAINTEXT_PORT" ]]; then out+=",SASL_PLAINTEXT:SASL_PLAINTEXT"; fi
  printf '%s' "$out"
}

store_type() { # PEM for *.pem and *.crt, else PKCS12
  case "$1" in *.pem | *.crt) echo PEM ;; *) echo PKCS12 ;; esac
}

# Before anything is wiped or started: the files and users the secure listeners need.
check_secure_env() {
  secure || return 0
  if [[ -n "$SSL_PORT$SASL_SSL_PORT" ]]; then
    [[ -n "${KAFKA_SSL_KEYSTORE:-}" ]] || die "KAFKA_SSL_KEYSTORE is required with KAFKA_SSL_PORT or KAFKA_SASL_SSL_PORT"
    [[ -r "$KAFKA_SSL_KEYSTORE" ]] || die "cannot read KAFKA_SSL_KEYSTORE $KAFKA_SSL_KEYSTORE"
    [[ -n "${KAFKA_SSL_KEYSTORE_PASSWORD:-}" ]] || die "KAFKA_SSL_KEYSTORE_PASSWORD is required with KAFKA_SSL_KEYSTORE"
  fi
  case "$SSL_CLIENT_AUTH" in
    none | requested | required) ;;
    *) die "KAFKA_SSL_CLIENT_AUTH must be none, requested or required" ;;
  esac
  if [[ -n "$SSL_PORT" && "$SSL_CLIENT_AUTH" != none ]]; then
    [[ -n "${KAFKA_SSL_TRUSTSTORE:-}" ]] || die "KAFKA_SSL_TRUSTSTORE (the CA of client certificates) is required unless KAFKA_SSL_CLIENT_AUTH=none"
    [[ -r "$KAFKA_SSL_TRUSTSTORE" ]] || die "cannot read KAFKA_SSL_TRUSTSTORE $KAFKA_SSL_TRUSTSTORE"
  fi
  if [[ -n "$SASL_SSL_PORT$SASL_PLAINTEXT_PORT" && -z "${KAFKA_SCRAM_USERS:-}${KAFKA_SASL_PLAIN_USERS:-}" ]]; then
    die "a SASL listener needs users: KAFKA_SCRAM_USERS and/or KAFKA_SASL_PLAIN_USERS"
  fi
}

# The secure listeners' properties, appended to server.properties.
write_secure_config() {
  local f="$DATA_DIR/server.properties" mechanisms=() name line users
  if [[ -n "${KAFKA_SCRAM_USERS:-}" ]]; then mechanisms+=(SCRAM-SHA-512 SCRAM-SHA-256); fi
  if [[ -n "${KAFKA_SASL_PLAIN_USERS:-}" ]]; then mechanisms+=(PLAIN); fi
  {
    echo
    echo "# Secure listeners (KAFKA_SSL_PORT, KAFKA_SASL_SSL_PORT, KAFKA_SASL_PLAINTEXT_PORT)."
    if [[ -n "$SSL_PORT$SASL_SSL_PORT" ]]; then
      echo "ssl.keystore.type=$(store_type "$KAFKA_SSL_KEYSTORE")"
      echo "ssl.keystore.location=$(realpath "$KAFKA_SSL_KEYSTORE")"
      echo "ssl.keystore.password=$KAFKA_SSL_KEYSTORE_PASSWORD"
      echo "ssl.key.password=${KAFKA_SSL_KEY_PASSWORD:-$KAFKA_SSL_KEYSTORE_PASSWORD}"
      if [[ -n "${KAFKA_SSL_TRUSTSTORE:-}" ]]; then
        echo "ssl.truststore.type=$(store_type "$KAFKA_SSL_TRUSTSTORE")"
        echo "ssl.truststore.location=$(realpath "$KAFKA_SSL_TRUSTSTORE")"
        if [[ -n "${KAFKA_SSL_TRUSTSTORE_PASSWORD:-}" ]]; then
          echo "ssl.truststore.password=$KAFKA_SSL_TRUSTSTORE_PASSWORD"
        fi
      fi
    fi
    if [[ -n "$SSL_PORT" ]]; then echo "listener.name.ssl.ssl.client.auth=$SSL_CLIENT_AUTH"; fi
    for name in sasl_ssl sasl_plaintext; do
      if [[ $name == sasl_ssl && -z "$SASL_SSL_PORT" ]]; then continue; fi
      if [[ $name == sasl_plaintext && -z "$SASL_PLAINTEXT_PORT" ]]; then continue; fi
      echo "listener.name.$name.sasl.enabled.mechanisms=$(IFS=,; echo "${mechanisms[*]}")"
      if [[ -n "${KAFKA_SCRAM_USERS:-}" ]]; then
        echo "listener.name.$name.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
        echo "listener.name.$name.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
      fi
      if [[ -n "${KAFKA_SASL_PLAIN_USERS:-}" ]]; then
        users=""
        while IFS= read -r line; do
          if [[ -n "$line" ]]; then users+=" user_${line%%=*}=\"${line#*=}\""; fi
        done <<<"$KAFKA_SASL_PLAIN_USERS"
        echo "listener.name.$name.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$users;"
      fi
    done
  } >>"$f"
  chmod 600 "$f" # it holds passwords now
}

write_config() {
  # Without secure listeners these are the very strings this script always wrote.
  local listeners="PLAINTEXT://$HOST:$PORT" map="PLAINTEXT:PLAINTEXT"
  if secure; then
    listeners+="$(secure_listeners)"
    map+="$(secure_protocol_map)"
  fi
  cat >"$DATA_DIR/server.properties" <<EOF
# Written by deploy/local/kafka.sh on each start; edits here are lost.
# One node that is both broker and controller (KRaft), on loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=$listeners,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=$listeners
listener.security.protocol.map=$map,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$DATA_DIR/data

# One node: every internal topic with one replica.
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests start consumers at once: no 3 s wait for more members before the first rebalance.
group.initial.rebalance.delay.ms=0
# On: kcat and feed scripts produce to topics nobody created (the worker creates its own).
auto.create.topics.enable=true
delete.topic.enable=true

# Small and quick: this broker holds test data only.
log.retention.hours=24
log.segment.bytes=67108864
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
  if secure; then write_secure_config; fi
}

format_storage() {
  [[ -f "$DATA_DIR/data/meta.properties" ]] && return 0
  # What `StorageTool random-uuid` prints (16 random bytes, base64url, unpadded), made here
  # to spare a JVM start; like Kafka's Uuid.randomUuid, never one that starts with '-'.
  local cluster_id=-
  while [[ "$cluster_id" == -* ]]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  done
  echo "$cluster_id" >"$DATA_DIR/cluster-id"
  # SCRAM users are metadata records (KRaft has no ZooKeeper), so they are written here.
  local scram=() line
  if [[ -n "${KAFKA_SCRAM_USERS:-}" ]]; then
    while IFS= read -r line; do
      if [[ -n "$line" ]]; then scram+=(--add-scram "$line"); fi
    done <<<"$KAFKA_SCRAM_USERS"
  fi
  "$JAVA" -Dlog4j2.configurationFile="$HERE/log4j2.xml" -Dkafka.logs.dir="$DATA_DIR/logs" \
    -cp "$LIB_DIR/*" kafka.tools.StorageTool format \
    -t "$cluster_id" -c "$DATA_DIR/server.properties" ${scram[@]+"${scram[@]}"} \
    >"$DATA_DIR/format.out" 2>&1 \
    || { cat "$DATA_DIR/format.out" >&2; die "kafka.tools.StorageTool format failed"; }
}

cmd_start() {
  local pid
  if pid="$(broker_pid)"; then
    answers || wait_ready "$pid"
    log "already running (pid $pid)"
    echo "$BOOTSTRAP"
    return 0
  fi
  command -v "$JAVA" >/dev/null || die "java not found (Kafka $VERSION needs Java 17+)"
  # shellcheck disable=SC2086 # the secure ports are empty (and so absent) unless asked for
  for p in "$PORT" "$CONTROLLER_PORT" $SSL_PORT $SASL_SSL_PORT $SASL_PLAINTEXT_PORT; do
    port_open "$p" && die "port $HOST:$p is taken by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
  done
  check_secure_env
  fetch_jars
  prepare_data_dir
  write_config
  format_storage

  local t0=$SECONDS
  # setsid: the broker outlives the calling shell and Ctrl-C in it. In a non-interactive
  # shell the background child is no group leader, so setsid does not fork and $! is java.
  # 9<&-: the broker must not inherit (and so hold) the lock that start and stop take.
  # shellcheck disable=SC2086
  setsid "$JAVA" $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HERE/log4j2.xml" -Dkafka.logs.dir="$DATA_DIR/logs" \
    -cp "$LIB_DIR/*" kafka.Kafka "$DATA_DIR/server.properties" \
    >"$DATA_DIR/kafka.out" 2>&1 </dev/null 9<&- &
  pid=$!
  echo "$pid" >"$PID_FILE"
  log "started Kafka $VERSION (pid $pid), data in $DATA_DIR; waiting for $BOOTSTRAP"
  wait_ready "$pid"
  log "ready after $((SECONDS - t0)) s"
  if secure; then log "secure listeners: $(secure_listeners | cut -c2-)"; fi
  echo "$BOOTSTRAP"
}

cmd_stop() {
  local pid
  if ! pid="$(broker_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if alive "$pid"; then
    log "pid $pid still running after $STOP_TIMEOUT s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
  log "stopped (pid $pid)"
}

cmd_status() {
  local pid
  if pid="$(broker_pid)" && answers; then
    log "running (pid $pid), Kafka $VERSION"
    echo "$BOOTSTRAP"
    return 0
  fi
  if [[ -n "${pid:-}" ]]; then log "running (pid $pid) but not answering on $BOOTSTRAP"; else log "not running"; fi
  return 1
}

# start and stop take a lock on this script file, so that two callers at once (parallel
# test workers, say) do not both format and start a broker.
locked() {
  if command -v flock >/dev/null; then
    exec 9<"${BASH_SOURCE[0]}"
    flock -w $((START_TIMEOUT + STOP_TIMEOUT + 120)) 9 || die "timed out waiting for another kafka.sh"
  fi
  "$@"
}

case "${1:-}" in
  start) locked cmd_start ;;
  stop) locked cmd_stop ;;
  status) cmd_status ;;
  bootstrap) echo "$BOOTSTRAP" ;;
  *) usage ;;
esac
