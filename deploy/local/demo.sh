#!/usr/bin/env bash
# The streaming demo: start the local broker and one worker, feed seeds/, show a few
# enriched records, a dead letter and a metrics excerpt, then stop everything it started.
# Usage: deploy/local/demo.sh   (run by `make demo`, after the virtual environment exists)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BIN="${VENV:-.venv}/bin"
KAFKA="deploy/local/kafka.sh"
RUN_DIR="$ROOT/.run/demo"
PORT="${ARTICLE_WORKER_WEB_PORT:-6066}"
mkdir -p "$RUN_DIR"

started_broker=0
worker_pid=""
cleanup() {
  if [[ -n "$worker_pid" ]] && kill -0 "$worker_pid" 2>/dev/null; then
    kill -TERM "$worker_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
  fi
  if [[ "$started_broker" == 1 ]]; then "$KAFKA" stop; fi
}
trap cleanup EXIT

if ! BOOTSTRAP="$("$KAFKA" status 2>/dev/null)"; then
  BOOTSTRAP="$("$KAFKA" start)"
  started_broker=1
fi
BOOTSTRAP="$(echo "$BOOTSTRAP" | tail -n 1 | awk '{print $1}')"
export ARTICLE_WORKER_BROKER="kafka://$BOOTSTRAP"
# Topics of this demo run only, so a rerun shows fresh output.
suffix="$(date +%s)"
export ARTICLE_WORKER_APP_ID="article-worker-demo-$suffix"
export ARTICLE_WORKER_RAW_TOPIC="demo-$suffix.raw"
export ARTICLE_WORKER_ENRICHED_TOPIC="demo-$suffix.enriched"
export ARTICLE_WORKER_DLQ_TOPIC="demo-$suffix.dlq"
export ARTICLE_WORKER_WEB_PORT="$PORT" ARTICLE_WORKER_WEB_HOST=127.0.0.1
export ARTICLE_WORKER_DATA_DIR="$RUN_DIR/faust" ARTICLE_WORKER_LOG_LEVEL=warning

echo "== broker $BOOTSTRAP; starting the worker (log: .run/demo/worker.log)"
"$BIN/article-worker" run >"$RUN_DIR/worker.log" 2>&1 &
worker_pid=$!
for _ in $(seq 1 120); do
  if curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$worker_pid" 2>/dev/null || { echo "worker exited:"; tail -n 30 "$RUN_DIR/worker.log"; exit 1; }
  sleep 0.5
done
curl -s "http://127.0.0.1:$PORT/readyz"; echo

echo "== feeding seeds/ and one malformed message"
"$BIN/article-worker" feed seeds/
printf '{"body": 42}' | "$BIN/article-worker" feed -

expected=$(( $(find seeds -name '*.txt' -o -name '*.json' | wc -l) ))
for _ in $(seq 1 120); do
  done_count=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^article_worker_messages_consumed_total/ {print int($2)}')
  [[ "${done_count:-0}" -ge $((expected + 1)) ]] && break
  sleep 0.5
done

echo "== three enriched records (id, language, title, entities), read back with kcat"
kcat -b "$BOOTSTRAP" -C -t "$ARTICLE_WORKER_ENRICHED_TOPIC" -o beginning -e -q -c 3 -f '%s\n' |
  "$BIN/python" -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    ents = ", ".join(e["canonical"] for e in r["entities"][:6])
    dates = [d["value"] for d in r["dates"]]
    print(r["id"][:28].ljust(28), r["language"]["code"], r["title"][:60])
    print(" " * 29, "entities:", ents)
    print(" " * 29, "dates:", dates)
'
echo "== the dead letter (headers carry the reason)"
kcat -b "$BOOTSTRAP" -C -t "$ARTICLE_WORKER_DLQ_TOPIC" -o beginning -e -q -c 1 -f 'value=%s  headers=%h\n'
echo "== metrics excerpt"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^article_worker_(messages_consumed_total|articles_enriched_total|articles_rejected_total\{reason="body_not_string"\}|articles_by_language_total\{language="hi"\}|processing_duration_seconds_count|end_to_end_latency_seconds_sum|in_flight_messages|consumer_lag_messages)'
echo "== stopping (SIGTERM)"
