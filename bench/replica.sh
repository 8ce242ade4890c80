#!/usr/bin/env bash
# Read replicas through the dev broker: one learner (crossrecd, release) and one replica on
# this machine. The dev broker keeps only ~5 MiB per partition, so the catalog is small
# enough for a whole version to fit (REPLICA_ITEMS, REPLICA_USERS); the 1 M-user figures are
# `crossrec-bench distill` (the learner's and the replica's work without a broker).
#  1. latency: from the learner's start of publishing a version to the replica serving it
#     (the replica's stats.replica.last_latency_ms, one sample per version), ingest at
#     10 000 events/s and a build every 2 s;
#  2. recommend per second, 10 connections, answer cache off, learner (ingest running) and
#     replica (no ingest) in turn, the same users;
#  3. learner ingest, events/s, with publishing off and on (REPLICA_INGEST_EVENTS, 1 M: 16
#     partitions of ~4.4 MB, what the dev broker holds, produced as fast as
#     the broker takes them), alternated REPLICA_REPEATS times.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/query-daemon.sh
items=${REPLICA_ITEMS:-5000}
users=${REPLICA_USERS:-2000}
feeder=""
replica=""
cleanup() {
    kill $feeder 2>/dev/null || true
    [ -n "$replica" ] && { kill -TERM $replica 2>/dev/null || true; wait $replica 2>/dev/null || true; }
    kill -TERM $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true
}
trap cleanup EXIT
stat() { "$bin/crossrec" stats --socket "$1" --json; }

start_query_daemon replica-learner 16 "replication:
  topic: crossrec.models
distill:
  interval_seconds: 2
socket:
  answer_cache_mib: 0"
learner_socket=$socket
feed_and_wait 200000 "$items" "$users"
rwork=bench/data/replica-follower
rm -rf "$rwork" && mkdir -p "$rwork"
cat > "$rwork/crossrecd.yaml" <<YAML
kafka:
  bootstrap: "$(cat "$addr")"
replication:
  mode: replica
  topic: crossrec.models
socket:
  answer_cache_mib: 0
paths:
  run_dir: $PWD/$rwork/run
log:
  level: warning
YAML
"$bin/crossrecd" --config "$rwork/crossrecd.yaml" 2> "$rwork/crossrecd.log" &
replica=$!
replica_socket=$rwork/run/crossrecd.sock
for _ in $(seq 600); do
    v=$(stat "$replica_socket" 2>/dev/null | python3 -c 'import json,sys; print((json.load(sys.stdin).get("model") or {}).get("version", 0))' 2>/dev/null || echo 0)
    [ "$v" -gt 0 ] && break
    sleep 0.2
done
stat "$learner_socket" | python3 -c 'import json,sys; s=json.load(sys.stdin); m=s["model"]; print("model: %d events, %d items, %d users, int8 d=%d; a published version: %.2f MB" % (m["events"], '"$items"', s["users"], m["dimension"], s["replication"]["last_bytes"]/1e6))'

"$bin/crossrec-bench" feed --address-file "$addr" --rate 10000 --events 400000 --items "$items" --users "$users" --seed 2 > /dev/null &
feeder=$!
python3 bench/replica_latency.py "$bin/crossrec" "$replica_socket" "$learner_socket" 40
echo "recommend, 10 connections, answer cache off, ingest 10 000 events/s into the learner:"
for target in learner replica; do
    sock=$learner_socket; [ $target = replica ] && sock=$replica_socket
    printf '%s: ' $target
    "$bin/crossrec-bench" query --socket "$sock" --connections 10 --seconds 10 --users "$users" | tail -1
done
kill $feeder 2>/dev/null || true; feeder=""
kill -TERM $replica; wait $replica || true; replica=""
kill -TERM $daemon; wait $daemon || true

events=${REPLICA_INGEST_EVENTS:-1000000}
for repeat in $(seq ${REPLICA_REPEATS:-3}); do
    for mode in off on; do
        extra="distill:
  interval_seconds: 2"
        [ $mode = on ] && extra="$extra
replication:
  topic: crossrec.models"
        start_query_daemon replica-ingest-$mode 16 "$extra"
        "$bin/crossrec-bench" feed --address-file "$addr" --rate 0 --events "$events" --items "$items" --users "$users" --seed 1 > /dev/null
        start=$(date +%s.%N)
        python3 - "$bin/crossrec" "$socket" "$events" "$mode" "$start" <<'PY'
import json, subprocess, sys, time
crossrec, socket, events, mode, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
first = None
while True:
    s = json.loads(subprocess.run([crossrec, "stats", "--socket", socket, "--json"], capture_output=True, check=True).stdout)
    now = time.time()
    if first is None and s["events"] > 0: first = (now, s["events"])
    if s["events"] >= events: break
    time.sleep(0.05)
published = (s.get("replication") or {}).get("full_versions", 0) + (s.get("replication") or {}).get("deltas", 0)
print("ingest, publishing %s: %.0f events/s (%d versions published)" % (mode, (events - first[1]) / (now - first[0]), published))
PY
        kill -TERM $daemon; wait $daemon || true
    done
done
