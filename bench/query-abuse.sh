#!/usr/bin/env bash
# Clients that pipeline and disconnect (issue 29, item 1): 100 connections each write 5 000
# `popular` k=1000 requests without reading, close and start over, while one client times
# `health` and `recommend`; prints that client's p50/p99 and the daemon's RSS growth
# (bench/query_abuse.py). A model of 10 000 items, so each abusive answer is ~1 000 items.
# BIN=<dir>: another build's crossrec and crossrecd; ABUSERS, SECONDS_RUN, LINGER (seconds an
# abuser stays connected after writing, answers unread): the run.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/query-daemon.sh
trap 'kill -TERM $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true' EXIT
start_query_daemon query-abuse 4 "distill:
  interval_seconds: 2"
feed_and_wait 200000 10000 5000
python3 bench/query_abuse.py --socket "$socket" --pid "$daemon" --abusers "${ABUSERS:-100}" \
    --seconds "${SECONDS_RUN:-20}" --linger "${LINGER:-0}" --user u1
