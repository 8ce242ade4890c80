#!/usr/bin/env bash
# The daemon's CPU per request on trivial queries: a model of two items, so scoring costs
# nothing and what is left is the socket, JSON and the server's own path. Prints the load
# generator's line and the daemon's CPU over the run (from /proc/<pid>/stat).
# BIN=<dir>: another build's crossrec and crossrecd; C=<connections>, S=<seconds>.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-.build/release}
work=bench/data/query-overhead
rm -rf "$work" && mkdir -p "$work"
cat > "$work/crossrecd.yaml" <<YAML
domains:
  - name: movies
    topic: ratings.movies
    rating_range: [1, 5]
kafka:
  bootstrap: dev
paths:
  run_dir: $PWD/$work/run
  state_dir: $PWD/$work/state
distill:
  interval_seconds: 1
log:
  level: warning
  stats_interval_seconds: 0
YAML
"$bin/crossrecd" --config "$work/crossrecd.yaml" 2> "$work/crossrecd.log" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true' EXIT
socket="$work/run/crossrecd.sock"
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
"$bin/crossrec" bench feed --address-file "$work/run/dev-broker.addr" --rate 0 --events 1000 --items 2 --users 2 --seed 1 > /dev/null
for _ in $(seq 100); do
    applied=$("$bin/crossrec" stats --socket "$socket" --json | python3 -c 'import json,sys; print((json.load(sys.stdin).get("model") or {}).get("events", 0))')
    [ "$applied" -ge 1000 ] && break
    sleep 0.3
done
ticks=$(getconf CLK_TCK)
before=$(awk '{print $14 + $15}' /proc/$daemon/stat)
"$bin/crossrec" bench query --socket "$socket" --connections "${C:-10}" --seconds "${S:-10}" --users 2 --domain movies
after=$(awk '{print $14 + $15}' /proc/$daemon/stat)
echo "daemon CPU during the run: $(( (after - before) * 1000 / ticks )) ms"
