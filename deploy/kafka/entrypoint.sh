#!/usr/bin/env bash
# Entrypoint of the local Kafka image (deploy/kafka/Dockerfile): writes server.properties from
# the environment the way apache/kafka's image does, formats the storage once, then execs the
# broker (PID 1, so SIGTERM reaches the JVM and it shuts down cleanly).
#
#   entrypoint.sh                    start the broker
#   kafka-broker-api-versions.sh ... (the same script under apache/kafka's tool name) exit 0
#                                    when the broker answers an ApiVersions request on
#                                    localhost:9092, for the compose healthcheck
#
# Environment, as apache/kafka's image reads it (its KafkaDockerWrapper): every KAFKA_* variable
# except the JVM and logging ones below becomes a broker property: drop "KAFKA_", lower-case,
# "_" -> ".", then "..." -> "-" and ".." -> "_" (KAFKA_NODE_ID -> node.id,
# KAFKA_LISTENER_SECURITY_PROTOCOL_MAP -> listener.security.protocol.map). With none of them
# set, a one-node default configuration is used; a mounted /mnt/shared/config/server.properties
# comes first and the variables are appended. CLUSTER_ID: the id the storage is formatted with
# (apache/kafka's default when unset). KAFKA_HEAP_OPTS (-Xms256m -Xmx512m), KAFKA_OPTS,
# KAFKA_JVM_PERFORMANCE_OPTS: JVM flags. KAFKA_LOG4J_ROOT_LOGLEVEL (INFO) and
# KAFKA_LOG4J_LOGGERS ("kafka.controller=WARN,..."): log levels; logs go to stdout.
set -euo pipefail

CONFIG_DIR=/opt/kafka/config
LIBS=/opt/kafka/libs
MOUNTED=/mnt/shared/config/server.properties
DEFAULT_CLUSTER_ID=5L6g3nShT-eMCtK--X86sw # apache/kafka's image default

log() { printf 'kafka entrypoint: %s\n' "$*" >&2; }

# The healthcheck under apache/kafka's tool name: an ApiVersions v0 request by hand (the image
# has no Kafka tools jar); any reply with our correlation id means the broker answers.
if [[ "$(basename "$0")" == kafka-broker-api-versions.sh ]]; then
  reply="$(timeout 5 bash -c '
    exec 3<>/dev/tcp/127.0.0.1/9092
    printf "\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff" >&3
    head -c 8 <&3 | od -An -tx1' 2>/dev/null || true)"
  [[ "$(tr -s ' \n' ' ' <<<"$reply")" == *"00 00 00 01 " ]]
  exit
fi

# Not broker properties: the ExcludeServerPropsEnv set of apache/kafka's KafkaDockerWrapper
# (core/src/main/scala/kafka/docker/KafkaDockerWrapper.scala, the 4.x version with log4j2),
# name for name. Older wrappers (3.7) listed "KAFKA_HEAP_OPT" instead of KAFKA_HEAP_OPTS and
# removed every "KAFKA_" in a name (String.replace); 4.x removes the first only (replaceFirst),
# which, as the name starts with it, is the prefix: "${name#KAFKA_}" below.
EXCLUDE=" KAFKA_VERSION KAFKA_HEAP_OPTS KAFKA_LOG4J_OPTS KAFKA_OPTS KAFKA_JMX_OPTS
 KAFKA_JVM_PERFORMANCE_OPTS KAFKA_GC_LOG_OPTS KAFKA_LOG4J_ROOT_LOGLEVEL KAFKA_LOG4J_LOGGERS
 KAFKA_TOOLS_LOG4J_LOGLEVEL KAFKA_JMX_HOSTNAME "

env_properties() {
  local name key
  while IFS= read -r name; do
    [[ "$EXCLUDE" == *" $name "* ]] && continue
    key="${name#KAFKA_}"
    key="${key,,}"
    key="${key//_/.}"
    key="${key//.../-}"
    key="${key//../_}"
    printf '%s=%s\n' "$key" "${!name}"
  done < <(compgen -e | grep '^KAFKA_' | sort)
}

# apache/kafka's default: one combined broker and controller.
default_properties() {
  cat <<'PROPS'
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
advertised.listeners=PLAINTEXT://localhost:9092
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=/var/lib/kafka/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
PROPS
}

write_server_properties() {
  local out="$CONFIG_DIR/server.properties" props
  props="$(env_properties)"
  {
    if [[ -f "$MOUNTED" ]]; then cat "$MOUNTED"; echo; fi
    if [[ -n "$props" ]]; then printf '%s\n' "$props"; fi
  } >"$out"
  if [[ -z "$(tr -d '[:space:]' <"$out")" ]]; then default_properties >"$out"; fi
}

write_log4j() {
  local root="${KAFKA_LOG4J_ROOT_LOGLEVEL:-INFO}" loggers="" entry
  if [[ -n "${KAFKA_LOG4J_LOGGERS:-}" ]]; then
    IFS=, read -ra entries <<<"$KAFKA_LOG4J_LOGGERS"
    for entry in "${entries[@]}"; do
      entry="${entry// /}"
      [[ "$entry" == *=* ]] || continue
      loggers+="    <Logger name=\"${entry%%=*}\" level=\"${entry#*=}\"/>"$'\n'
    done
  fi
  cat >"$CONFIG_DIR/log4j2.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN" name="kafka">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d{ISO8601}] %-5p %m (%c)%n%throwable"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="$root"><AppenderRef ref="stdout"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="org.apache.kafka.common.config.AbstractConfig" level="WARN"/>
$loggers  </Loggers>
</Configuration>
XML
}

write_server_properties
write_log4j

LOG4J=(-Dlog4j2.configurationFile="$CONFIG_DIR/log4j2.xml")
# shellcheck disable=SC2206 # JVM option strings are split on spaces, as kafka-run-class.sh does
JVM=(${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true} ${KAFKA_OPTS:-})

# Formatted once: on a restart with the same volume the storage is kept as it is.
java "${LOG4J[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format --ignore-formatted \
  -t "${CLUSTER_ID:-$DEFAULT_CLUSTER_ID}" -c "$CONFIG_DIR/server.properties" >&2

log "starting Kafka ($(basename "$(ls "$LIBS"/kafka_2.13-*.jar)" .jar))"
exec java "${JVM[@]}" "${LOG4J[@]}" -cp "$LIBS/*" kafka.Kafka "$CONFIG_DIR/server.properties"
