#!/usr/bin/env bash
# Query benchmark: crossrecd (release) on the dev broker with ~100 000 items in one domain
# (answers from the int8 serving model, redistilled every 10 s),
# ingest running at a fixed rate, then `crossrec-bench query` with 1, 10 and 100 connections.
set -euo pipefail
cd "$(dirname "$0")/.."
# BIN=<dir>: another build's crossrec and crossrecd (to alternate two builds).
. bench/query-daemon.sh
feeder=""
trap 'kill $feeder 2>/dev/null || true; kill -TERM $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true' EXIT
# QUERY_INDEX="<clusters> <probe>": answer through the approximate cluster index.
# QUERY_DATA=structured: ratings with planted tastes (8 dimensions) and Zipf(0.7) item
# popularity (the top 1 % of items get ~23 % of ratings; ~94 000 of the 100 000 items get
# rated) instead of uniform random ones (bench feed --tastes/--zipf).
# QUERY_PIPELINE="<n> ...": requests in flight per connection, one run each (default 1);
# QUERY_CONNECTIONS, QUERY_SECONDS: the runs.
# QUERY_PERCENTILES=FILE, QUERY_LABEL: append each run's latency distribution to FILE (bench/plots.py).
# QUERY_CACHE_MIB: socket.answer_cache_mib (default 64; 0 computes every answer, which is what
# the scan costs). The bench's users are uniform over 20 000, so with the cache most answers
# after the first of each user and model version are lookups: the hit count is printed.
extra_yaml="socket:
  answer_cache_mib: ${QUERY_CACHE_MIB:-64}"
if [ -n "${QUERY_INDEX:-}" ]; then
    set -- $QUERY_INDEX
    extra_yaml="$extra_yaml
distill:
  index_clusters: $1
  index_probe: $2"
fi
feed_data=""
if [ "${QUERY_DATA:-}" = structured ]; then feed_data="--tastes 8 --zipf 0.7"; fi
start_query_daemon query-bench 16 "$extra_yaml"
preload=600000
"$bin/crossrec-bench" feed --address-file "$addr" --rate 0 --events $preload --items 100000 --users 20000 --seed 1 $feed_data
wait_for_model_events $preload
items=$("$bin/crossrec" stats --socket "$socket" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["domains"][0]["items"])')
echo "model: $applied events in the published serving model, $items items, teacher d=32, int8 student d=16"
if [ -n "${QUERY_INDEX:-}" ]; then
    "$bin/crossrec" stats --socket "$socket" --json | python3 -c 'import json,sys; i=json.load(sys.stdin)["domains"][0]["model"]["index"]; print("index: %d clusters, %d probed, recall@10 %.3f against the exact scan" % (i["clusters"], i["probe"], i["recall_at_10"]))'
fi
"$bin/crossrec-bench" feed --address-file "$addr" --rate 10000 --events 600000 --items 100000 --users 20000 --seed 2 $feed_data > /dev/null &
feeder=$!
sleep 2
echo "ingest running at 10 000 events/s during the runs"
for depth in ${QUERY_PIPELINE:-1}; do
    "$bin/crossrec-bench" query --socket "$socket" --connections ${QUERY_CONNECTIONS:-1,10,100} \
        --seconds ${QUERY_SECONDS:-10} --users 20000 --pipeline $depth \
        ${QUERY_PERCENTILES:+--percentiles "$QUERY_PERCENTILES" --label "${QUERY_LABEL:-recommend}"}
done
"$bin/crossrec" stats --socket "$socket" --json | python3 -c '
import json, sys
c = json.load(sys.stdin).get("answer_cache") or {}
if c:
    looked = c["hits"] + c["misses"]
    print("answer cache: %d MiB budget, %d hits of %d lookups (%.1f %%), %d answers in %.1f MiB at the end" % (
        c["budget_bytes"] >> 20, c["hits"], looked, 100.0 * c["hits"] / max(1, looked), c["entries"], c["bytes"] / 2**20))'
