#!/usr/bin/env python3
"""Top-N benchmark: crossrec's lists against MostPop, EASE, PureSVD and implicit ALS on the
MovieLens-1M global temporal split (docs/BENCHMARKS.md, "Top-N").

crossrec learns the first 80 % of the ratings in time order through `crossrec replay --split`
(daemon defaults) and writes the served model's lists, which this script judges with the same
metrics as the baselines (and checks against replay's own figures). Each baseline's knob is
chosen on a validation split of the training period (its own first 80 % / last 20 %), never on
the test ratings; crossrec's defaults were chosen the same way (`--validation` runs it there).

    python3 bench/topn/run.py --crossrec .build/release/crossrec
    python3 bench/topn/run.py --crossrec .build/release/crossrec --validation
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import topn  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, "..", "data", "ml-1m", "ml-1m.inter")
EASE_LAMBDAS = [1000, 3000, 10000, 30000, 100000, 300000, 1000000]
SVD_RANKS = [2, 3, 5, 10, 20]
# (factors, regularization, alpha): 16 factors as in the reference figure.
ALS_SETTINGS = [(16, 0.1, 0.3), (16, 0.1, 1.0), (16, 1.0, 1.0), (16, 10.0, 1.0), (16, 1.0, 5.0)]


def write_tsv(rows, path):
    with open(path, "w", encoding="utf-8") as handle:
        for user, item, rating, stamp in rows:
            handle.write(f"{user}\t{item}\t{rating:g}\t{int(stamp)}\n")


def run_crossrec(binary, rows, fraction, extra):
    """Replay `rows` with --split; returns (replay's JSON, lists read back)."""
    with tempfile.TemporaryDirectory() as directory:
        data, lists = os.path.join(directory, "ratings.tsv"), os.path.join(directory, "lists.tsv")
        write_tsv(rows, data)
        command = [binary, "replay", data, "--no-header", "--split", str(fraction), "--lists", lists, "--json", "--no-progress"]
        output = subprocess.run(command + extra, check=True, capture_output=True, text=True).stdout
        result = {}
        with open(lists, encoding="utf-8") as handle:
            for line in handle:
                parts = line.rstrip("\n").split("\t")
                result[parts[1]] = parts[2:]
        return json.loads(output), result


def choose(split_valid, name, candidates, build):
    """The candidate with the best validation NDCG@10, and every candidate's figure."""
    scores = {}
    for candidate in candidates:
        scores[candidate] = split_valid.evaluate(build(split_valid, candidate))["ndcg10"]
        print(f"  validation {name} {candidate}: NDCG@10 {scores[candidate]:.4f}", file=sys.stderr)
    best = max(scores, key=scores.get)
    return best, {str(k): v for k, v in scores.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crossrec", required=True, help="path of the crossrec binary (release build)")
    parser.add_argument("--data", default=DEFAULT_DATA, help="MovieLens-1M .inter file (bench/fetch_movielens.sh)")
    parser.add_argument("--fraction", type=float, default=0.8, help="training share of the ratings")
    parser.add_argument("--validation", action="store_true", help="run everything on the validation split only")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--crossrec-args", default="", help="extra replay options (quoted)")
    args = parser.parse_args()
    if not os.path.exists(args.data):
        sys.exit(f"{args.data} is missing: run bench/fetch_movielens.sh")

    rows = topn.read_ratings(args.data)
    train, test = topn.temporal_split(rows, args.fraction)
    fit, valid = topn.temporal_split(train, args.fraction)
    if args.validation:
        train, test = fit, valid
        fit, valid = topn.temporal_split(train, args.fraction)
    split, split_valid = topn.Split(train, test), topn.Split(fit, valid)
    print(f"{len(train)} training ratings, {len(test)} test ratings, {len(split.warm)} warm users, "
          f"{len(split.items)} items", file=sys.stderr)

    results, knobs = {}, {}
    started = time.time()
    report, lists = run_crossrec(args.crossrec, train + test, args.fraction, args.crossrec_args.split())
    served = report["top_n"][0]["methods"]["served"]
    results["crossrec"] = split.evaluate(lists)
    results["crossrec"]["seconds"] = time.time() - started
    # Replay judged its lists itself: the two implementations of the metrics must agree.
    for key in ("ndcg10", "hr10", "recall10", "coverage10", "leaks"):
        if abs(served[key] - results["crossrec"][key]) > 1e-9:
            sys.exit(f"replay and this script disagree on {key}: {served[key]} vs {results['crossrec'][key]}")
    results["crossrec"]["rmse"] = report["domains"][0]["rmse"]

    started = time.time()
    results["most_popular"] = split.evaluate(topn.most_popular(split))
    results["most_popular"]["seconds"] = time.time() - started
    for name, candidates, build in [
        ("ease", EASE_LAMBDAS, lambda s, c: topn.ease(s, c)),
        ("pure_svd", SVD_RANKS, lambda s, c: topn.pure_svd(s, c)),
        ("implicit_als", ALS_SETTINGS, lambda s, c: topn.implicit_als(s, *c)),
    ]:
        best, scores = choose(split_valid, name, candidates, build)
        knobs[name] = {"chosen": str(best), "validation_ndcg10": scores}
        started = time.time()
        results[name] = split.evaluate(build(split, best))
        results[name]["seconds"] = time.time() - started

    header = f"{'method':<14} {'NDCG@10':>8} {'HR@10':>6} {'Rec@10':>7} {'NDCG@20':>8} {'cov@10':>7} {'poprank':>8} {'leaks':>5}  NDCG@10 by activity"
    print(header)
    for name, r in results.items():
        buckets = " ".join(f"{b}:{v['ndcg10']:.3f}({v['users']})" for b, v in r["by_activity"].items())
        print(f"{name:<14} {r['ndcg10']:8.4f} {r['hr10']:6.3f} {r['recall10']:7.4f} {r['ndcg20']:8.4f} "
              f"{r['coverage10']:7.3f} {r['mean_popularity_rank']:8.0f} {r['leaks']:5d}  {buckets}")
    for name, knob in knobs.items():
        print(f"{name}: chosen {knob['chosen']} on validation")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"results": results, "knobs": knobs, "validation": args.validation}, handle, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
