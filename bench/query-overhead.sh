#!/usr/bin/env bash
# The daemon's CPU per request on trivial queries: a model of two items, so scoring costs
# nothing and what is left is the socket, JSON and the server's own path. Prints the load
# generator's line and the daemon's CPU over the run (from /proc/<pid>/stat).
# BIN=<dir>: another build's crossrec and crossrecd; C=<connections>, S=<seconds>;
# ITEMS=<n> USERS=<n> EVENTS=<n>: a bigger model (default 2 items, 2 users, 1000 events), e.g.
# answers of 10 items with ITEMS=60 USERS=200 EVENTS=2000.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/query-daemon.sh
trap 'kill -TERM $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true' EXIT
start_query_daemon query-overhead 4 "distill:
  interval_seconds: 1"
feed_and_wait "${EVENTS:-1000}" "${ITEMS:-2}" "${USERS:-2}"
ticks=$(getconf CLK_TCK)
before=$(awk '{print $14 + $15}' /proc/$daemon/stat)
"$bin/crossrec-bench" query --socket "$socket" --connections "${C:-10}" --seconds "${S:-10}" --users "${USERS:-2}" --domain movies
after=$(awk '{print $14 + $15}' /proc/$daemon/stat)
echo "daemon CPU during the run: $(( (after - before) * 1000 / ticks )) ms"
