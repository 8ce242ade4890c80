#!/usr/bin/env bash
# `make bench`: every benchmark recorded in docs/BENCHMARKS.md, on the release build.
# Peers run in a virtualenv under bench/.venv (ignored by git), from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/crossrec
bench=.build/release/crossrec-bench
[ -x "$bin" ] && [ -x "$bench" ] || { echo "build first: swift build -c release" >&2; exit 1; }
bench/fetch_movielens.sh
data=bench/data/ml-1m/ml-1m.inter
# Inputs of bench/plots.py (the pictures in docs/img), kept until the next run.
results=bench/results
rm -rf "$results" && mkdir -p "$results"

echo "== machine: $(nproc) cores, $(uname -sr), $(date -u +%FT%TZ)"
echo "== event parsing (one core)"
"$bench" parse --events 10000000 --repeats 5
echo "== end-to-end consume vs raw librdkafka (dev broker, 16 partitions, 1 M events)"
"$bench" consume --events 1000000 --partitions 16 --repeats 3
echo "== learner: MovieLens-1M prequential, one pass, d=32, single domain (3 runs)"
replays=$(mktemp) peers=$(mktemp)
trap 'rm -f "$replays" "$peers"' EXIT
for run in 1 2 3; do "$bin" replay "$data" --dimension 32 --no-progress --repeats 5 --json | tee -a "$replays"; echo; done
echo "== peers on the same protocol"
[ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
# Every run: a venv made before a requirement was added (matplotlib) gets it now.
bench/.venv/bin/pip install --quiet --disable-pip-version-check -r bench/requirements-peers.txt
bench/.venv/bin/python bench/peers/run_peers.py "$data" --factors 32 --curve-dir "$results" | tee "$peers"
echo "== the learning curve (windows of 50 000 events, every 10th event ranked; untimed)"
"$bin" replay "$data" --dimension 32 --no-progress --rank-every 10 --curve "$results/crossrec.csv" --curve-window 50000 | tail -1
echo "== the learner at the speed of the issue's reference machine (peers set to its errors)"
python3 bench/peers/calibrate.py "$replays" "$peers"
echo "== top-N: MovieLens-1M temporal 80/20, served lists vs MostPop, EASE, PureSVD, implicit ALS"
echo "   (each baseline's knob chosen on a validation split of the training period)"
bench/.venv/bin/python bench/topn/run.py --crossrec "$bin" --json "$results/topn.json"
echo "== N learners on a user-partitioned stream, nothing exchanged (docs/SCALING.md)"
python3 bench/scaling/simulate.py --crossrec "$bin" --learners 1 2 4 8
echo "== the learner with the ranking head off (rating head only), to price each head"
"$bin" replay "$data" --dimension 32 --no-progress --repeats 5 --rank-every 0 --rank-negatives 0
echo "== checkpoints: 1 M users × 64 d (stall, write vs dd, restore)"
"$bench" checkpoint --users 1000000 --dimension 64 --repeats 3
echo "== distillation: 1 M users × 64 d → int8 16 d (build, ingest stall, size, fidelity, query time)"
"$bench" distill --users 1000000 --dimension 64 --student-dimension 16 --repeats 3
echo "== scoring kernel: float d=32 vs int8 d=16 over 100 000 items (one core)"
"$bench" topk
echo "== cross-domain cold start: MovieLens-1M and -100K, six genre pairs, β 0.2/0.5/0.8, seeds 1-3"
echo "   (TGT, CMF with its L2 chosen on validation users, EMCDR; crossrec defaults and restricted to shared)"
bench/.venv/bin/python bench/cdr/run.py --crossrec "$bin" --datasets ml-1m ml-100k \
    --tasks family scifihorror crime horror action drama --cmf-grid 0.05 0.1 0.2 0.4 --crossrec-shared \
    --json "$results/cdr.json"
echo "== queries: recommend top-10 over ~100 000 items (int8 serving model), ingest at 10 000 events/s"
echo "   (answer cache on: the bench's 20 000 users come back within each model version)"
export QUERY_PERCENTILES=$PWD/$results/latency.csv
QUERY_LABEL="answer cache" bench/query.sh
echo "== the same with the answer cache off: every answer scans (as for a stream of distinct users)"
QUERY_LABEL="exact scan" QUERY_CACHE_MIB=0 bench/query.sh
echo "== the same through the cluster index (316 clusters, 32 probed; recall@10 printed)"
QUERY_LABEL="cluster index" QUERY_INDEX="316 32" bench/query.sh
unset QUERY_PERCENTILES
echo "== the same on structured ratings (8 taste dimensions, Zipf(0.7) popularity), exact then index"
QUERY_DATA=structured bench/query.sh
QUERY_DATA=structured QUERY_INDEX="316 32" bench/query.sh
echo "== student recommend through the cluster index, one core (recall@10 printed)"
"$bench" distill --users 100000 --repeats 3 --index-clusters 316 --index-probe 32
echo "== query path overhead: trivial queries (a model of two items), daemon CPU per request"
bench/query-overhead.sh
echo "== 100 clients that pipeline popular k=1000 without reading and disconnect; another client's latency"
bench/query-abuse.sh
LINGER=3 bench/query-abuse.sh
echo "== read replicas through the dev broker"
bench/replica.sh
echo "== read replicas at 1 M users through the dev broker (versions paced at 50 MB/s)"
bench/replica-scale.sh
echo "== pictures: docs/img from $results"
bench/.venv/bin/python bench/plots.py "$results"
