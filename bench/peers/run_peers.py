#!/usr/bin/env python3
"""Peers on the learner benchmark's protocol: MovieLens-1M, one pass, test-then-train,
events sorted by timestamp, then user id, then item; d = 32; single domain.

River reco.BiasedMF and Vowpal Wabbit --rank 32, both from PyPI (bench/requirements-peers.txt).
Prints one JSON object per peer: RMSE/MAE over all events and over the last 10 %, events/s.
"""
import argparse, json, math, resource, sys, time


def load(path):
    rows = []
    with open(path, encoding="utf-8") as handle:
        header = handle.readline()
        assert header.startswith("user_id"), header
        for line in handle:
            user, item, rating, ts = line.rstrip("\r\n").split("\t")[:4]
            rows.append((float(ts), user, item, float(rating)))
    # Same order as `crossrec replay`: time, then user, then item (byte order of UTF-8 = code points).
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return rows


class Metrics:
    def __init__(self, total):
        self.tail_start = int(total * 0.9)
        self.n = self.se = self.ae = 0.0
        self.tn = self.tse = self.tae = 0.0

    def add(self, index, predicted, truth):
        predicted = min(5.0, max(1.0, predicted))
        error = predicted - truth
        self.n += 1; self.se += error * error; self.ae += abs(error)
        if index >= self.tail_start:
            self.tn += 1; self.tse += error * error; self.tae += abs(error)

    def result(self):
        return {"rmse": math.sqrt(self.se / self.n), "mae": self.ae / self.n,
                "rmse_last10": math.sqrt(self.tse / self.tn), "mae_last10": self.tae / self.tn}


def run_river(rows, factors):
    from river import optim, reco
    model = reco.BiasedMF(
        n_factors=factors, bias_optimizer=optim.SGD(0.025), latent_optimizer=optim.SGD(0.05),
        weight_initializer=optim.initializers.Zeros(),
        latent_initializer=optim.initializers.Normal(mu=0.0, sigma=0.1, seed=71), l2_bias=0.0, l2_latent=0.0)
    metrics = Metrics(len(rows))
    start = time.perf_counter()
    for index, (_, user, item, rating) in enumerate(rows):
        metrics.add(index, model.predict_one(user, item), rating)
        model.learn_one(user, item, rating)
    return "river BiasedMF", "n_factors=%d, SGD 0.025 bias / 0.05 latent, N(0, 0.1) init" % factors, metrics, time.perf_counter() - start


def run_vw(rows, factors):
    import vowpalwabbit
    options = "--rank %d -q ui --l2 1e-6 --learning_rate 0.05 --power_t 0 -b 20 --quiet" % factors
    workspace = vowpalwabbit.Workspace(options)
    metrics = Metrics(len(rows))
    clean = lambda s: s.replace(" ", "_").replace("|", "_").replace(":", "_")
    start = time.perf_counter()
    for index, (_, user, item, rating) in enumerate(rows):
        example = workspace.parse("%s |u %s |i %s" % (rating, clean(user), clean(item)))
        workspace.learn(example)  # the prediction stored is the one made before the update
        metrics.add(index, example.get_simplelabel_prediction(), rating)
        workspace.finish_example(example)
    workspace.finish()
    return "vowpalwabbit", options, metrics, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("inter", help="ml-1m.inter (from bench/fetch_movielens.sh)")
    parser.add_argument("--factors", type=int, default=32)
    parser.add_argument("--only", choices=["river", "vw"])
    args = parser.parse_args()
    rows = load(args.inter)
    for runner in (run_river, run_vw):
        if args.only and not runner.__name__.endswith(args.only):
            continue
        name, settings, metrics, seconds = runner(rows, args.factors)
        result = {"peer": name, "settings": settings, "events": len(rows), "seconds": seconds,
                  "events_per_second": len(rows) / seconds,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        result.update(metrics.result())
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
