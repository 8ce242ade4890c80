#!/usr/bin/env bash
# Instructions an event of the learner, counted by callgrind: a figure that does not move
# with the noise of a shared 2-core VM, for comparing two builds of RecModel.
#   bench/instructions.sh [EVENTS]    (default 200000: the first events of the replay's order)
# Prints the count an event, the RMSE and checksum of the predictions (equal builds must
# agree on both), and the functions that take the most.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-200000}
command -v valgrind >/dev/null || {
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends valgrind
}
bench/fetch_movielens.sh >/dev/null
prefix=bench/data/ml-1m-first-$events.tsv
# The replay's order (ReplayEvents.sortByTime): time, then user, then item, as UTF-8 bytes.
[ -s "$prefix" ] || python3 - bench/data/ml-1m/ml-1m.inter "$prefix" "$events" <<'PY'
import sys
source, target, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(source, "rb") as f:
    header, *rows = f.read().split(b"\n")
rows = [r.split(b"\t") for r in rows if r]
order = sorted(range(len(rows)), key=lambda i: (int(float(rows[i][3]) * 1000), rows[i][0], rows[i][1], i))
with open(target, "wb") as f:
    f.write(header + b"\n" + b"".join(b"\t".join(rows[i]) + b"\n" for i in order[:count]))
PY
swift build -c release --package-path bench/instructions >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Valgrind 3.19 stops on the DWARF of Swift binaries: count on a copy without it.
cp bench/instructions/.build/release/learner-loop "$work/learner-loop"
strip --strip-debug "$work/learner-loop"
valgrind --tool=callgrind --toggle-collect='*Learner*apply*' --callgrind-out-file="$work/out" \
    "$work/learner-loop" < "$prefix" > "$work/result" 2> "$work/log"
total=$(sed -n 's/.*I *refs: *//p' "$work/log" | tr -d ,)
cat "$work/result"
echo "instructions an event (Learner.apply and what it calls): $((total / events)) ($total over $events events)"
callgrind_annotate "$work/out" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | sed -n 2,13p | cut -c1-150
