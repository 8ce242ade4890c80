#!/usr/bin/env bash
# Read replicas at 1 M users, end to end through the dev broker: one learner (crossrecd,
# release; two domains, 1 M users rate in the source and 200 000 of them in the target, 100 000
# items each, teacher d = 64, student d = 16 int8, the daemon's other defaults) and one replica.
# After the load, ratings at 10 000 events/s; every version the replica serves is one sample
# of its stats.replica.last_latency_ms (from the learner's start of sending the version to the
# replica serving it).
#
# The dev broker keeps only ~5 MiB per partition and answers an idle fetch only after its
# wait, so the learner paces its versions (replication.max_megabytes_per_second, SCALE_PACE,
# 50 MB/s: 400 Mbit/s) and the replica fetches every 10 ms: the replica must never fall 5 MiB
# behind, or the chunks it has not read are gone. On a broker with retention, the pace is the
# network's; the pacing delay is inside every latency measured here.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-.build/release}
users=${SCALE_USERS:-1000000}
overlap=${SCALE_OVERLAP_USERS:-200000}
items=${SCALE_ITEMS:-100000}
pace=${SCALE_PACE:-50}
seconds=${SCALE_SECONDS:-150}
work=bench/data/replica-scale
rm -rf "$work" && mkdir -p "$work/learner" "$work/replica"
learner="" replica="" feeder=""
cleanup() {
    kill $feeder 2>/dev/null || true
    for pid in $replica $learner; do kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; done
}
trap cleanup EXIT
stats() { "$bin/crossrec" stats --socket "$1" --json; }

cat > "$work/learner.yaml" <<YAML
domains:
  - {name: source, topic: ratings.source, rating_range: [1, 5]}
  - {name: target, topic: ratings.target, rating_range: [1, 5], target: true}
kafka:
  bootstrap: dev
  dev_broker_partitions: 16
model: {dimension: 64}
distill: {dimension: 16}
replication: {topic: crossrec.models, max_megabytes_per_second: $pace}
socket: {answer_cache_mib: 0}
paths: {run_dir: $PWD/$work/learner, state_dir: $PWD/$work/learner/state}
log: {level: warning, stats_interval_seconds: 0}
YAML
"$bin/crossrecd" --config "$work/learner.yaml" 2> "$work/learner.log" &
learner=$!
addr=$work/learner/dev-broker.addr
for _ in $(seq 100); do [ -s "$addr" ] && [ -S "$work/learner/crossrecd.sock" ] && break; sleep 0.1; done

cat > "$work/replica.yaml" <<YAML
kafka:
  bootstrap: "$(cat "$addr")"
  properties: {fetch.wait.max.ms: "10"}
replication: {mode: replica, topic: crossrec.models, max_lag_seconds: 600}
socket: {answer_cache_mib: 0}
paths: {run_dir: $PWD/$work/replica}
log: {level: warning}
YAML
"$bin/crossrecd" --config "$work/replica.yaml" 2> "$work/replica.log" &
replica=$!

# The load: 5 ratings per user in the source, 5 per overlapping user in the target, at rates
# the learner takes them (what it has not read within the broker's 5 MiB is dropped).
"$bin/crossrec-bench" feed --address-file "$addr" --topic ratings.source --rate 200000 --events $((5 * users)) \
    --users "$users" --items "$items" --seed 1 > /dev/null &
feeder=$!
"$bin/crossrec-bench" feed --address-file "$addr" --topic ratings.target --rate 100000 --events $((5 * overlap)) \
    --users "$overlap" --items "$items" --seed 2 > /dev/null
wait $feeder; feeder=""
previous=-1
while true; do
    sleep 5
    now=$(stats "$work/learner/crossrecd.sock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
    [ "$now" = "$previous" ] && break
    previous=$now
done
echo "loaded: $(stats "$work/learner/crossrecd.sock" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("%d events, %d users" % (s["events"], s["users"]))')"

"$bin/crossrec-bench" feed --address-file "$addr" --topic ratings.source --rate 10000 --events $((seconds * 10000)) \
    --users "$users" --items "$items" --seed 3 > /dev/null &
feeder=$!
python3 bench/replica_latency.py "$bin/crossrec" "$work/replica/crossrecd.sock" "$work/learner/crossrecd.sock" "$seconds"
