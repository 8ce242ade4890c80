#!/usr/bin/env bash
# Query benchmark: crossrecd (release) on the dev broker with ~100 000 items in one domain
# (answers from the int8 serving model, redistilled every 10 s),
# ingest running at a fixed rate, then `crossrec bench query` with 1, 10 and 100 connections.
set -euo pipefail
cd "$(dirname "$0")/.."
# BIN=<dir>: another build's crossrec and crossrecd (to alternate two builds).
bin=${BIN:-.build/release}
work=bench/data/query-bench
rm -rf "$work" && mkdir -p "$work"
cat > "$work/crossrecd.yaml" <<YAML
domains:
  - name: movies
    topic: ratings.movies
    rating_range: [1, 5]
kafka:
  bootstrap: dev
  dev_broker_partitions: 16
paths:
  run_dir: $PWD/$work/run
  state_dir: $PWD/$work/state
log:
  level: warning
  stats_interval_seconds: 0
YAML
"$bin/crossrecd" --config "$work/crossrecd.yaml" 2> "$work/crossrecd.log" &
daemon=$!
trap 'kill $feeder 2>/dev/null || true; kill -TERM $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true' EXIT
feeder=""
socket="$work/run/crossrecd.sock"
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
addr="$work/run/dev-broker.addr"
preload=600000
"$bin/crossrec" bench feed --address-file "$addr" --rate 0 --events $preload --items 100000 --users 20000 --seed 1
for _ in $(seq 600); do
    # Applied by the learner and distilled into the published serving model.
    applied=$("$bin/crossrec" stats --socket "$socket" --json | python3 -c 'import json,sys; print((json.load(sys.stdin).get("model") or {}).get("events", 0))')
    [ "$applied" -ge $preload ] && break
    sleep 0.5
done
items=$("$bin/crossrec" stats --socket "$socket" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["domains"][0]["items"])')
echo "model: $applied events in the published serving model, $items items, teacher d=32, int8 student d=16"
"$bin/crossrec" bench feed --address-file "$addr" --rate 10000 --events 600000 --items 100000 --users 20000 --seed 2 > /dev/null &
feeder=$!
sleep 2
echo "ingest running at 10 000 events/s during the runs"
"$bin/crossrec" bench query --socket "$socket" --connections ${QUERY_CONNECTIONS:-1,10,100} --seconds ${QUERY_SECONDS:-10} --users 20000
