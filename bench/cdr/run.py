"""Cross-domain cold-start benchmark: crossrec (streamed through `crossrec replay`) against the
batch baselines of baselines.py, on genre tasks of MovieLens-1M and MovieLens-100K. Prints a
markdown table of RMSE and MAE, the mean over seeds, per dataset, task and beta, and each
method's mean rank.

    python3 bench/cdr/run.py --crossrec .build/release/crossrec            # the full table
    python3 bench/cdr/run.py --crossrec .build/release/crossrec --datasets ml-1m ml-100k \\
        --tasks family scifihorror crime horror action drama --cmf-grid 0.05 0.1 0.2 0.4 --crossrec-shared
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
    train, test, written = workdir / "train.tsv", workdir / "test.tsv", workdir / "predictions.tsv"
    splits.write_tsv(train, split.train, split.users, split.items)
    splits.write_tsv(test, split.test, split.users, split.items)
    command = [
        binary, "replay", str(train), "--columns", "domain=0,user=1,item=2,rating=3,time=4",
        "--delimiter", "tab", "--no-header", "--target", "target", "--predict", str(test), "--json", "--no-progress",
        "--predictions", str(written), *extra,
    ]
    output = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    # The predictions in the order of split.test (the replay sorts them by time; a user rates
    # an item once).
    by_pair = {}
    for line in written.read_text(encoding="utf-8").splitlines():
        user, item, _, predicted, _ = line.split("\t")
        by_pair[(user, item)] = float(predicted)
    predicted = np.array([by_pair[(split.users[u], f"m{i}")] for u, i in zip(split.test.user, split.test.item)])
    return {**output["cold_start"], "served": output["served"], "cold_top_n": output.get("cold_top_n", []),
            "joint_refit": output.get("joint_refit"), "base_cold_start": output.get("base_cold_start"), "predicted": predicted}


def paired_gap(a: np.ndarray, b: np.ndarray, actual: np.ndarray, users: np.ndarray) -> tuple[float, float]:
    """RMSE(a) − RMSE(b) on the same ratings, and its standard error with the ratings clustered
    by user (one user's errors are not independent): the difference of the MSEs over the sum of
    the RMSEs, its error from the per-user sums of the squared-error differences."""
    squared_a, squared_b = (np.clip(a, 1, 5) - actual) ** 2, (np.clip(b, 1, 5) - actual) ** 2
    difference = squared_a - squared_b
    _, user_of = np.unique(users, return_inverse=True)
    per_user = np.bincount(user_of, weights=difference - difference.mean())
    se_mse = np.sqrt(np.sum(per_user**2)) / len(actual)
    rmse_a, rmse_b = np.sqrt(squared_a.mean()), np.sqrt(squared_b.mean())
    return float(rmse_a - rmse_b), float(se_mse / (rmse_a + rmse_b))


def mean_ranks(rows: list[dict], methods: list[str]) -> dict[str, float]:
    """Each method's rank by RMSE in every cell (1 = lowest; ties share the mean rank), averaged."""
    totals = {m: 0.0 for m in methods}
    for row in rows:
        values = [row["rmse"][m] for m in methods]
        for m in methods:
            below = sum(v < row["rmse"][m] for v in values)
            equal = sum(v == row["rmse"][m] for v in values)
            totals[m] += below + (equal + 1) / 2
    return {m: totals[m] / max(len(rows), 1) for m in methods}


def choose_cmf(ratings, users, items, beta: float, seed: int, grid: list[float], dimension: int) -> tuple[float, dict]:
    """CMF's L2 penalty with the lowest RMSE on a validation split of the cell's first seed
    (overlapping training users hidden; no test user is seen)."""
    validation = splits.make_validation(splits.make_split(ratings, users, items, beta, seed), seed=1000 + seed)
    scores = {}
    for penalty in grid:
        predicted = baselines.BASELINES["CMF"](
            validation.train, validation.test, len(users), len(items), dimension=dimension, regularization=penalty)
        scores[penalty] = rmse_mae(predicted, validation.test.rating)[0]
    return min(scores, key=lambda p: (scores[p], p)), scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(pathlib.Path(__file__).parents[1] / "data"),
                        help="folder holding ml-1m/ and ml-100k/ (bench/fetch_movielens.sh)")
    parser.add_argument("--datasets", nargs="+", default=["ml-1m"], choices=splits.DATASETS)
    parser.add_argument("--crossrec", help="crossrec binary (release build); omit to run the baselines only")
    parser.add_argument("--crossrec-option", action="append", default=[], help="extra option for crossrec replay")
    parser.add_argument("--crossrec-shared", action="store_true",
                        help="also run crossrec restricted to the shared method (--transfer-method shared)")
    parser.add_argument("--tasks", nargs="+", default=splits.PROTOCOL_TASKS, choices=list(splits.TASKS))
    parser.add_argument("--betas", nargs="+", type=float, default=[0.2, 0.5, 0.8])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--baselines", nargs="*", default=list(baselines.BASELINES))
    parser.add_argument("--validation", action="store_true", help="hide training users, never test users")
    parser.add_argument("--dimension", type=int, default=32)
    parser.add_argument("--regularization", type=float, default=0.05)
    parser.add_argument("--cmf-grid", nargs="+", type=float,
                        help="CMF's L2 penalty chosen per cell among these on validation users (default: --regularization)")
    parser.add_argument("--json", help="also write the per-cell means here (for bench/plots.py)")
    arguments = parser.parse_args()

    methods = list(arguments.baselines) + (["crossrec"] if arguments.crossrec else [])
    if arguments.crossrec and arguments.crossrec_shared:
        methods.append("crossrec shared")
    rows = []
    # (dataset, task, beta, mean NDCG@10 of the served lists, the daemon's popular list, training counts)
    lists = []
    for dataset in arguments.datasets:
        for task in arguments.tasks:
            ratings, users, items = splits.load_task(pathlib.Path(arguments.data) / dataset, task)
            overlap = len(splits.overlapping_users(ratings))
            for beta in arguments.betas:
                penalty = {name: arguments.regularization for name in arguments.baselines}
                if "CMF" in arguments.baselines and arguments.cmf_grid:
                    penalty["CMF"], scores = choose_cmf(
                        ratings, users, items, beta, arguments.seeds[0], arguments.cmf_grid, arguments.dimension)
                    print(f"{dataset} {task} beta={beta}: CMF L2 {penalty['CMF']} chosen on validation "
                          f"({', '.join(f'{p}: {v:.4f}' for p, v in scores.items())})", file=sys.stderr)
                scores: dict[str, list[tuple[float, float]]] = {method: [] for method in methods}
                ndcg: list[tuple[float, float, float]] = []
                gaps: list[tuple[float, float]] = []  # crossrec − CMF by seed, paired by user
                for seed in arguments.seeds:
                    split = splits.make_split(ratings, users, items, beta, seed)
                    if arguments.validation:
                        split = splits.make_validation(split, seed=1000 + seed)
                    predictions = {}
                    for name in arguments.baselines:
                        started = time.monotonic()
                        predicted = predictions[name] = baselines.BASELINES[name](
                            split.train, split.test, len(users), len(items),
                            dimension=arguments.dimension, regularization=penalty[name])
                        scores[name].append(rmse_mae(predicted, split.test.rating))
                        print(f"{dataset} {task} beta={beta} seed={seed} {name}: rmse {scores[name][-1][0]:.4f} "
                              f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
                    runs = [("crossrec", arguments.crossrec_option)] if arguments.crossrec else []
                    if "crossrec shared" in methods:
                        runs.append(("crossrec shared", [*arguments.crossrec_option, "--transfer-method", "shared"]))
                    for method, options in runs:
                        with tempfile.TemporaryDirectory() as directory:
                            result = run_crossrec(arguments.crossrec, split, pathlib.Path(directory), options)
                        scores[method].append((result["rmse"], result["mae"]))
                        print(f"{dataset} {task} beta={beta} seed={seed} {method}: rmse {result['rmse']:.4f} {result}",
                              file=sys.stderr)
                        if method != "crossrec":
                            continue
                        if "CMF" in predictions:
                            gaps.append(paired_gap(result["predicted"], predictions["CMF"], split.test.rating, split.test.user))
                        for cold in result["cold_top_n"]:  # the held-out users' lists in the target
                            figures = cold["methods"]
                            ndcg.append((figures["served"]["ndcg10"], figures["popular"]["ndcg10"],
                                         figures["most_popular"]["ndcg10"]))
                        for served in result["served"]:  # the student against its teacher
                            print(f"  {served['domain']}: score RMSE {served['score_rmse']:.4f}, top-10 overlap "
                                  f"{served['top10_overlap']:.3f}, student/teacher bytes "
                                  f"{served['student_bytes'] / served['teacher_bytes']:.2f}", file=sys.stderr)
                means = {m: np.mean(np.array(v), axis=0) for m, v in scores.items()}
                rows.append({
                    "dataset": dataset, "task": task, "beta": beta, "overlapping_users": overlap,
                    "tuned_on": (dataset, task) in splits.TUNED_TASKS,
                    "rmse": {m: float(means[m][0]) for m in methods}, "mae": {m: float(means[m][1]) for m in methods},
                    "cmf_regularization": penalty.get("CMF"),
                })
                if gaps:  # the mean over seeds; the seeds' errors are independent
                    rows[-1]["crossrec_minus_cmf"] = {
                        "rmse": float(np.mean([g for g, _ in gaps])),
                        "se": float(np.sqrt(sum(se**2 for _, se in gaps)) / len(gaps))}
                if ndcg:
                    lists.append((dataset, task, beta, *np.mean(np.array(ndcg), axis=0)))

    if arguments.json:
        with open(arguments.json, "w") as handle:
            json.dump({
                "methods": methods, "cells": rows, "mean_rank": mean_ranks(rows, methods),
                "cold_lists": [{"dataset": d, "task": t, "beta": b, "served": float(s), "popular": float(p),
                                "most_popular": float(c)} for d, t, b, s, p, c in lists],
            }, handle, indent=1)
    print("| dataset | task | β | " + " | ".join(f"{m} RMSE / MAE" for m in methods) + " |")
    print("| --- | --- | --- |" + " --- |" * len(methods))
    for row in rows:
        best = min(row["rmse"].values())
        label = row["task"] + ("" if row["tuned_on"] else " ¹")
        print(f"| {row['dataset']} | {label} | {row['beta']} | " + " | ".join(
            ("**%.3f** / %.3f" if row["rmse"][m] == best else "%.3f / %.3f") % (row["rmse"][m], row["mae"][m])
            for m in methods) + " |")
    ranks = mean_ranks(rows, methods)
    print("| mean rank | | | " + " | ".join(f"{ranks[m]:.2f}" for m in methods) + " |")
    print("\n¹ held out: no default was chosen on this task.")
    if "crossrec" in methods and "CMF" in methods:
        ahead = sum(row["rmse"]["crossrec"] <= row["rmse"]["CMF"] for row in rows)
        print(f"crossrec ≤ CMF in {ahead} of {len(rows)} cells; largest gap "
              f"{max(row['rmse']['crossrec'] - row['rmse']['CMF'] for row in rows):+.4f}")
        paired = [row for row in rows if "crossrec_minus_cmf" in row]
        if paired:
            def gap(row): return row["crossrec_minus_cmf"]["rmse"]
            def se(row): return row["crossrec_minus_cmf"]["se"]
            print(f"paired by user (RMSE difference ± standard error, mean of the seeds): crossrec ahead by more than "
                  f"2 SE in {sum(gap(r) < -2 * se(r) for r in paired)} cells, behind by more than 2 SE in "
                  f"{sum(gap(r) > 2 * se(r) for r in paired)}, within 2 SE in {sum(abs(gap(r)) <= 2 * se(r) for r in paired)}")
            for row in paired:
                if gap(row) > 0:
                    print(f"  CMF ahead: {row['dataset']} {row['task']} β {row['beta']}: {gap(row):+.4f} ± {se(row):.4f}")
    if "crossrec shared" in methods:
        worst = max(rows, key=lambda row: row["rmse"]["crossrec"] - row["rmse"]["crossrec shared"])
        print(f"crossrec against its shared method: worst {worst['rmse']['crossrec'] - worst['rmse']['crossrec shared']:+.4f} "
              f"({worst['dataset']} {worst['task']} β {worst['beta']})")
    if lists:
        print("\nCold users' lists in the target domain (NDCG@10, mean over seeds):\n")
        print("| dataset | task | β | crossrec transfer lists | the daemon's popular list (decayed) | most rated in training |")
        print("| --- | --- | --- | --- | --- | --- |")
        for dataset, task, beta, served, popular, counted in lists:
            print(f"| {dataset} | {task} | {beta} | {served:.4f} | {popular:.4f} | {counted:.4f} |")


if __name__ == "__main__":
    main()
