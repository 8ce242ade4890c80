#!/usr/bin/env python3
"""Learning on several machines, simulated (docs/SCALING.md): MovieLens-1M's stream keyed by
user into Kafka partitions the way librdkafka's default partitioner places keys (CRC32 of the
key modulo the partition count), the partitions spread over N learners as a consumer group's
round-robin assignor would, and each learner fed only its partitions, in time order, through
`crossrec replay`. Nothing is exchanged between learners here: each learns its own item
tables from its own users' events, the lower bound of the user-partitioned design.

Reports, for N = 1 (one learner, the reference) and each N: prequential RMSE (every event
predicted before it is learned, summed over learners), prequential HR@10/NDCG@10 (every 100th
event), and top-N on the temporal 80/20 split (the global cut; NDCG@10 of the warm users'
served lists, averaged over all users), with the ratio to one learner.

    python3 bench/scaling/simulate.py --crossrec .build/release/crossrec [--learners 1 2 4 8]
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import zlib

DEFAULT_DATA = pathlib.Path(__file__).parents[1] / "data" / "ml-1m" / "ml-1m.inter"


def load(path):
    rows = []
    with open(path, encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            user, item, rating, ts = line.rstrip("\r\n").split("\t")[:4]
            rows.append((float(ts), user, item, rating))
    rows.sort(key=lambda r: (r[0], r[1].encode(), r[2].encode()))  # replay's order
    return rows


def partition(user, partitions):
    """librdkafka's consistent partitioner: CRC32 of the key, modulo the partitions."""
    return zlib.crc32(user.encode()) % partitions


def replay(binary, path, extra):
    command = [binary, "replay", str(path), "--no-header", "--no-progress", "--json", *extra]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def run(binary, rows, learners, partitions, cut_time, folder):
    """Each learner's events into a file; the prequential pass and the split pass per learner,
    combined: errors and ranked events by count, NDCG by judged users."""
    shards = [[] for _ in range(learners)]
    for row in rows:
        shards[partition(row[1], partitions) % learners].append(row)
    squared = count = ranked = hits = ndcg = 0.0
    judged = split_ndcg = split_hr = 0.0
    for index, shard in enumerate(shards):
        path = folder / f"learner{index}.tsv"
        with open(path, "w", encoding="utf-8") as handle:
            for ts, user, item, rating in shard:
                handle.write(f"{user}\t{item}\t{rating}\t{ts:.0f}\n")
        domain = replay(binary, path, ["--rank-every", "100"])["domains"][0]
        squared += domain["rmse"] ** 2 * domain["events"]
        count += domain["events"]
        ranking = domain["ranking"]
        ranked += ranking["sampled"]
        hits += ranking["hr10"] * ranking["sampled"]
        ndcg += ranking["ndcg10"] * ranking["sampled"]
        # The global temporal cut, as this learner's share of its events.
        before = sum(1 for row in shard if row[0] < cut_time)
        served = replay(binary, path, ["--rank-every", "0", "--split", str(before / len(shard))])["top_n"][0]["methods"]["served"]
        judged += served["users"]
        split_ndcg += served["ndcg10"] * served["users"]
        split_hr += served["hr10"] * served["users"]
    return {
        "learners": learners, "events": int(count), "rmse": (squared / count) ** 0.5,
        "prequential_hr10": hits / ranked, "prequential_ndcg10": ndcg / ranked,
        "split_users": int(judged), "split_ndcg10": split_ndcg / judged, "split_hr10": split_hr / judged,
        "events_per_learner": [len(s) for s in shards],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crossrec", required=True, help="crossrec binary (release build)")
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--learners", nargs="+", type=int, default=[1, 2, 4, 8])
    parser.add_argument("--partitions", type=int, default=16, help="partitions of the ratings topic")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if any(n < 1 or n > args.partitions for n in args.learners):
        sys.exit("--learners: each count must be between 1 and --partitions")
    rows = load(args.data)
    cut_time = rows[int(len(rows) * 0.8)][0]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for learners in sorted(set([1] + args.learners)):
            results.append(run(args.crossrec, rows, learners, args.partitions, cut_time, pathlib.Path(folder)))
            print(f"{learners} learner(s): {results[-1]}", file=sys.stderr)
    one = results[0]
    print("| learners | events per learner | prequential RMSE | prequential HR@10 | NDCG@10, temporal split (users) |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        spread = f"{min(r['events_per_learner']):,}–{max(r['events_per_learner']):,}".replace(",", " ")
        print(f"| {r['learners']} | {spread} | {r['rmse']:.4f} ({r['rmse'] / one['rmse']:.3f}×) | "
              f"{r['prequential_hr10']:.4f} ({r['prequential_hr10'] / one['prequential_hr10']:.2f}×) | "
              f"{r['split_ndcg10']:.4f} ({r['split_ndcg10'] / one['split_ndcg10']:.2f}×, {r['split_users']}) |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
