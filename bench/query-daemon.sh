# Sourced by the query benchmarks: starts crossrecd (the build in $BIN, default the release
# build) on the dev broker, one domain `movies`, everything under bench/data/<name>, and waits
# for its socket. Usage: start_query_daemon <name> <dev broker partitions> [extra YAML].
# Sets bin, work, socket, addr and daemon; the caller's EXIT trap stops the daemon.
bin=${BIN:-.build/release}

start_query_daemon() {
    work=bench/data/$1
    rm -rf "$work" && mkdir -p "$work"
    cat > "$work/crossrecd.yaml" <<YAML
domains:
  - name: movies
    topic: ratings.movies
    rating_range: [1, 5]
kafka:
  bootstrap: dev
  dev_broker_partitions: $2
paths:
  run_dir: $PWD/$work/run
  state_dir: $PWD/$work/state
log:
  level: warning
  stats_interval_seconds: 0
${3:-}
YAML
    "$bin/crossrecd" --config "$work/crossrecd.yaml" 2> "$work/crossrecd.log" &
    daemon=$!
    socket="$work/run/crossrecd.sock"
    addr="$work/run/dev-broker.addr"
    for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
}

# Waits until the published serving model holds at least $1 applied events.
wait_for_model_events() {
    for _ in $(seq 600); do
        applied=$("$bin/crossrec" stats --socket "$socket" --json | python3 -c 'import json,sys; print((json.load(sys.stdin).get("model") or {}).get("events", 0))')
        [ "$applied" -ge "$1" ] && return 0
        sleep 0.5
    done
    return 1
}

# Produces $1 generated ratings over $2 items and $3 users (seed 1, as fast as the broker takes
# them) and waits until the published model holds them.
feed_and_wait() {
    "$bin/crossrec-bench" feed --address-file "$addr" --rate 0 --events "$1" --items "$2" --users "$3" --seed 1 > /dev/null
    wait_for_model_events "$1"
}
