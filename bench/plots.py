#!/usr/bin/env python3
"""Pictures for docs/BENCHMARKS.md, from what `make bench` writes into its results folder
(bench/results/ by default): each picture is drawn only when its inputs are there.

  learning-curves.png  crossrec.csv, river.csv, vw.csv: `crossrec replay --curve` and
                       bench/peers/run_peers.py --curve-dir, MovieLens-1M, one pass, d = 32
  topn.png             topn.json: bench/topn/run.py --json (temporal 80/20 split)
  coldstart.png        cdr.json: bench/cdr/run.py --json
  query-latency.png    latency.csv: crossrec-bench query --percentiles (bench/query.sh)

Usage: bench/.venv/bin/python bench/plots.py [RESULTS] [--out docs/img]
"""
import argparse
import csv
import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"crossrec": "#d62728", "river": "#1f77b4", "vw": "#2ca02c"}


def read_curve(path):
    """The curve's points, less a last window under half the others' size (a few events)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if len(rows) > 2:
        window = int(rows[1]["events"]) - int(rows[0]["events"])
        if int(rows[-1]["events"]) - int(rows[-2]["events"]) < window / 2:
            rows.pop()
    return rows


def learning_curves(results, out):
    curves = {name: results / f"{name}.csv" for name in ("crossrec", "river", "vw")}
    if not curves["crossrec"].exists():
        return None
    labels = {"crossrec": "crossrec (d=32)", "river": "River BiasedMF", "vw": "Vowpal Wabbit --rank 32"}
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name, path in curves.items():
        if not path.exists():
            continue
        rows = read_curve(path)
        events = [int(r["events"]) / 1e6 for r in rows]
        left.plot(events, [float(r["window_rmse"]) for r in rows], label=labels[name], color=COLORS[name], linewidth=1.2)
    left.set_xlabel("events learned (millions)")
    window = int(read_curve(curves["crossrec"])[0]["events"])
    left.set_ylabel(f"RMSE of the window ({window:,} events)".replace(",", " "))
    left.set_title("Prequential RMSE, MovieLens-1M in time order")
    left.grid(alpha=0.3)
    left.legend()
    rows = [r for r in read_curve(curves["crossrec"]) if r["hr10"]]
    if rows:
        events = [int(r["events"]) / 1e6 for r in rows]
        right.plot(events, [float(r["hr10"]) for r in rows], label="HR@10", color=COLORS["crossrec"])
        right.plot(events, [float(r["ndcg10"]) for r in rows], label="NDCG@10", color="#ff7f0e")
        right.set_xlabel("events learned (millions)")
        right.set_ylabel("share of sampled events")
        right.set_title("crossrec: was the next item in the user's top 10?")
        right.grid(alpha=0.3)
        right.legend()
    figure.tight_layout()
    return save(figure, out / "learning-curves.png")


def topn(results, out):
    path = results / "topn.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())["results"]
    order = [m for m in ("crossrec", "most_popular", "ease", "pure_svd", "implicit_als") if m in data]
    names = {"crossrec": "crossrec\n(served lists)", "most_popular": "most\npopular", "ease": "EASE",
             "pure_svd": "PureSVD", "implicit_als": "implicit\nALS"}
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    for axis, key, title in zip(axes, ("ndcg10", "hr10", "coverage10"), ("NDCG@10", "HR@10", "item coverage of the lists")):
        values = [data[m][key] for m in order]
        bars = axis.bar([names[m] for m in order], values,
                        color=[COLORS["crossrec"] if m == "crossrec" else "#7f7f7f" for m in order])
        axis.bar_label(bars, fmt="%.3f", fontsize=8)
        axis.set_title(title)
        axis.tick_params(axis="x", labelsize=8)
        axis.set_ylim(0, max(values) * 1.18)
    figure.suptitle("Top-10 lists, MovieLens-1M temporal 80/20 split (baselines' knobs chosen on validation)")
    figure.tight_layout()
    return save(figure, out / "topn.png")


def coldstart(results, out):
    path = results / "cdr.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    cells = data["cells"]
    datasets = list(dict.fromkeys(c.get("dataset", "ml-1m") for c in cells))
    methods = [m for m in ("crossrec", "CMF", "EMCDR", "TGT", "crossrec shared") if m in data["methods"]]
    colors = {"crossrec": COLORS["crossrec"], "CMF": "#1f77b4", "EMCDR": "#2ca02c", "TGT": "#7f7f7f", "crossrec shared": "#ff9896"}
    figure, axes = plt.subplots(len(datasets), 1, figsize=(13, 3.6 * len(datasets)), squeeze=False)
    for axis, dataset in zip(axes[:, 0], datasets):
        mine = [c for c in cells if c.get("dataset", "ml-1m") == dataset]
        width = 0.8 / len(methods)
        for index, method in enumerate(methods):
            xs = [c + (index - (len(methods) - 1) / 2) * width for c in range(len(mine))]
            axis.bar(xs, [cell["rmse"][method] for cell in mine], width, label=method, color=colors[method])
        axis.set_xticks(range(len(mine)))
        axis.set_xticklabels([f"{c['task']}{'' if c.get('tuned_on') else '*'}\nβ {c['beta']}" for c in mine], fontsize=7)
        values = [v for c in mine for v in c["rmse"].values()]
        axis.set_ylim(min(values) - 0.03, max(values) + 0.01)
        axis.set_ylabel("RMSE, cold users")
        axis.set_title(f"{dataset}: cold-start RMSE per cell (mean of seeds; lower is better; * no default chosen on it)",
                       fontsize=10)
        axis.grid(axis="y", alpha=0.3)
    axes[0, 0].legend(ncol=len(methods), fontsize=8, loc="upper left")
    figure.tight_layout()
    return save(figure, out / "coldstart.png")


def query_latency(results, out):
    path = results / "latency.csv"
    if not path.exists():
        return None
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    figure, axis = plt.subplots(figsize=(9, 4.5))
    labels = list(dict.fromkeys(r["label"] for r in rows))
    palette = ["#d62728", "#1f77b4", "#7f7f7f", "#2ca02c", "#9467bd"]
    styles = {1: ":", 10: "-", 100: "--"}
    for label in labels:
        for connections in sorted({int(r["connections"]) for r in rows if r["label"] == label}):
            points = [r for r in rows if r["label"] == label and int(r["connections"]) == connections]
            xs = [1 / (1 - float(r["percentile"]) / 100) for r in points]
            axis.plot(xs, [float(r["latency_us"]) / 1000 for r in points], label=f"{label}, {connections} conn.",
                      color=palette[labels.index(label) % len(palette)], linestyle=styles.get(connections, "-."))
    ticks = [2, 10, 100, 1000, 10000]
    axis.set_xscale("log")
    axis.set_xticks(ticks)
    axis.set_xticklabels(["p50", "p90", "p99", "p99.9", "p99.99"])
    axis.set_yscale("log")
    axis.set_ylabel("latency (ms)")
    axis.set_title("recommend top-10 over ~100 000 items while ingesting 10 000 events/s")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    return save(figure, out / "query-latency.png")


def save(figure, path):
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", default=str(pathlib.Path(__file__).parent / "results"))
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parents[1] / "docs" / "img"))
    args = parser.parse_args()
    results, out = pathlib.Path(args.results), pathlib.Path(args.out)
    if not results.is_dir():
        sys.exit(f"{results}: no such folder (make bench writes it)")
    out.mkdir(parents=True, exist_ok=True)
    drawn = [p for p in (learning_curves(results, out), topn(results, out), coldstart(results, out),
                         query_latency(results, out)) if p]
    for path in drawn:
        print(f"wrote {path}")
    if not drawn:
        sys.exit(f"{results}: nothing to draw")


if __name__ == "__main__":
    main()
