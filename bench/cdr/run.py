"""Cross-domain cold-start benchmark: crossrec (streamed through `crossrec replay`) against the
batch baselines of baselines.py, on the MovieLens-1M genre tasks. Prints a markdown table of
MAE and RMSE, the mean over seeds, per task and beta.

    python3 bench/cdr/run.py --crossrec .build/release/crossrec            # the full table
    python3 bench/cdr/run.py --validation --tasks family --betas 0.5       # tuning: no test user

With --validation every cell hides a slice of the training overlapping users instead of the
test users, so options can be tuned without ever looking at a test rating.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

import baselines
import split as splits


def rmse_mae(predicted: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    error = np.clip(predicted, 1, 5) - actual
    return float(np.sqrt(np.mean(error**2))), float(np.mean(np.abs(error)))


def run_crossrec(binary: str, split: splits.Split, workdir: pathlib.Path, extra: list[str]) -> dict:
    train, test = workdir / "train.tsv", workdir / "test.tsv"
    splits.write_tsv(train, split.train, split.users, split.items)
    splits.write_tsv(test, split.test, split.users, split.items)
    command = [
        binary, "replay", str(train), "--columns", "domain=0,user=1,item=2,rating=3,time=4",
        "--delimiter", "tab", "--no-header", "--target", "target", "--predict", str(test), "--json", "--no-progress",
        *extra,
    ]
    output = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return {**output["cold_start"], "served": output["served"], "cold_top_n": output.get("cold_top_n", [])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(pathlib.Path(__file__).parents[1] / "data" / "ml-1m"))
    parser.add_argument("--crossrec", help="crossrec binary (release build); omit to run the baselines only")
    parser.add_argument("--crossrec-option", action="append", default=[], help="extra option for crossrec replay")
    parser.add_argument("--tasks", nargs="+", default=splits.PROTOCOL_TASKS, choices=list(splits.TASKS))
    parser.add_argument("--betas", nargs="+", type=float, default=[0.2, 0.5, 0.8])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--baselines", nargs="*", default=list(baselines.BASELINES))
    parser.add_argument("--validation", action="store_true", help="hide training users, never test users")
    parser.add_argument("--dimension", type=int, default=32)
    parser.add_argument("--regularization", type=float, default=0.05)
    arguments = parser.parse_args()

    methods = list(arguments.baselines) + (["crossrec"] if arguments.crossrec else [])
    rows = []
    # (task, beta, mean NDCG@10 of the served lists, the daemon's popular list, training counts)
    lists = []
    for task in arguments.tasks:
        ratings, users, items = splits.load_task(pathlib.Path(arguments.data), task)
        for beta in arguments.betas:
            scores: dict[str, list[tuple[float, float]]] = {method: [] for method in methods}
            ndcg: list[tuple[float, float]] = []
            for seed in arguments.seeds:
                split = splits.make_split(ratings, users, items, beta, seed)
                if arguments.validation:
                    split = splits.make_validation(split, seed=1000 + seed)
                for name in arguments.baselines:
                    started = time.monotonic()
                    predicted = baselines.BASELINES[name](
                        split.train, split.test, len(users), len(items),
                        dimension=arguments.dimension, regularization=arguments.regularization)
                    scores[name].append(rmse_mae(predicted, split.test.rating))
                    print(f"{task} beta={beta} seed={seed} {name}: rmse {scores[name][-1][0]:.4f} "
                          f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
                if arguments.crossrec:
                    with tempfile.TemporaryDirectory() as directory:
                        result = run_crossrec(arguments.crossrec, split, pathlib.Path(directory), arguments.crossrec_option)
                    scores["crossrec"].append((result["rmse"], result["mae"]))
                    for cold in result["cold_top_n"]:  # the held-out users' lists in the target
                        figures = cold["methods"]
                        ndcg.append((figures["served"]["ndcg10"], figures["popular"]["ndcg10"], figures["most_popular"]["ndcg10"]))
                    print(f"{task} beta={beta} seed={seed} crossrec: rmse {result['rmse']:.4f} {result}", file=sys.stderr)
                    for served in result["served"]:  # the student against its teacher
                        print(f"  {served['domain']}: score RMSE {served['score_rmse']:.4f}, top-10 overlap "
                              f"{served['top10_overlap']:.3f}, student/teacher bytes "
                              f"{served['student_bytes'] / served['teacher_bytes']:.2f}", file=sys.stderr)
            rows.append((task, beta, {m: np.mean(np.array(v), axis=0) for m, v in scores.items()}))
            if ndcg:
                lists.append((task, beta, *np.mean(np.array(ndcg), axis=0)))

    print("| task | β | " + " | ".join(f"{m} RMSE / MAE" for m in methods) + " |")
    print("| --- | --- |" + " --- |" * len(methods))
    for task, beta, means in rows:
        print(f"| {task} | {beta} | " + " | ".join(f"{means[m][0]:.3f} / {means[m][1]:.3f}" for m in methods) + " |")
    if lists:
        print("\nCold users' lists in the target domain (NDCG@10, mean over seeds):\n")
        print("| task | β | crossrec transfer lists | the daemon's popular list (decayed) | most rated in training |")
        print("| --- | --- | --- | --- | --- |")
        for task, beta, served, popular, counted in lists:
            print(f"| {task} | {beta} | {served:.4f} | {popular:.4f} | {counted:.4f} |")


if __name__ == "__main__":
    main()
