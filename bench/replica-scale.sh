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
python3 - "$bin/crossrec" "$work/replica/crossrecd.sock" "$work/learner/crossrecd.sock" "$seconds" <<'PY'
import json, subprocess, sys, time, statistics
crossrec, replica, learner, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
def stats(socket):
    return json.loads(subprocess.run([crossrec, "stats", "--socket", socket, "--json"], capture_output=True, check=True).stdout)
samples, first, deltas = {}, None, None
published = []
deadline = time.time() + seconds
while time.time() < deadline:
    r = stats(replica)["replica"]
    version = r["served_version"]
    if first is None:
        first = version  # served before sampling began: not a sample
    elif version is not None and version != first and version not in samples:
        kind = "patch" if deltas is not None and r["deltas_applied"] > deltas else "whole"
        samples[version] = (r["last_latency_ms"], r["last_apply_ms"], kind)
    deltas = r["deltas_applied"]
    p = stats(learner)["replication"]
    if not published or published[-1]["published_version"] != p["published_version"]:
        published.append(p)
    time.sleep(0.1)
for kind in ("patch", "whole"):
    taken = [v for v in samples.values() if v[2] == kind]
    if taken:
        latency = sorted(v[0] for v in taken)
        print("%s versions: served %.0f ms after the learner began sending (median; max %.0f, over %d); applied in %.0f ms (median)"
              % (kind, statistics.median(latency), max(latency), len(taken), statistics.median(v[1] for v in taken)))
for kind in ("delta", "full"):
    sent = [p for p in published[1:] if p["last_kind"] == kind]
    if sent:
        print("learner, %s versions: %.1f MB, made and sent in %.0f ms (medians over %d)"
              % (kind, statistics.median(p["last_bytes"] for p in sent) / 1e6, statistics.median(p["last_publish_ms"] for p in sent), len(sent)))
r = stats(replica)["replica"]
print("replica: %d whole and %d patches applied, %d refused, %.2f GB received" % (r["full_applied"], r["deltas_applied"], r["rejected"], r["bytes_received"] / 1e9))
PY
