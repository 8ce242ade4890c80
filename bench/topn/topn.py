"""Top-N on a global temporal split: the split, the metrics, and the batch baselines.

The split is the one `crossrec replay --split F` makes: ratings sorted by (time, user bytes,
item bytes), the first F of them are training. Warm users have ratings on both sides; their
relevant items are the distinct items they rate after the split; their training items are
never candidates. Binary relevance, items first seen after the split stay relevant.
"""
import math

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds

BUCKETS = [("1-19", 1, 20), ("20-99", 20, 100), ("100-499", 100, 500), ("500+", 500, 1 << 62)]


def read_ratings(path):
    """(user, item, rating, time) rows of a RecBole .inter file or a headerless TSV."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            try:
                rows.append((parts[0], parts[1], float(parts[2]), float(parts[3])))
            except (IndexError, ValueError):
                continue  # the header
    return rows


def temporal_split(rows, fraction):
    ordered = sorted(rows, key=lambda r: (r[3], r[0].encode(), r[1].encode()))
    cut = int(len(ordered) * fraction)
    return ordered[:cut], ordered[cut:]


class Split:
    """Indexes of one split: training matrix, warm users, their relevant items."""

    def __init__(self, train, test):
        counts = {}
        for _, item, _, _ in train:
            counts[item] = counts.get(item, 0) + 1
        self.items = sorted(counts)
        self.item_index = {item: i for i, item in enumerate(self.items)}
        users = sorted({r[0] for r in train})
        self.user_index = {user: u for u, user in enumerate(users)}
        self.users = users
        seen = {}
        for user, item, _, _ in train:
            seen.setdefault(user, set()).add(item)
        self.seen = seen
        relevant = {}
        for user, item, _, _ in test:
            if user in seen:
                relevant.setdefault(user, set()).add(item)
        self.relevant = relevant
        self.warm = sorted(relevant)
        rows = [self.user_index[u] for u, _, _, _ in train]
        cols = [self.item_index[i] for _, i, _, _ in train]
        matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(len(users), len(self.items)))
        matrix.data[:] = 1.0  # repeated (user, item) pairs are one interaction
        self.matrix = matrix
        self.popularity = np.asarray((matrix > 0).sum(axis=0)).ravel().astype(np.float64)
        order = sorted(range(len(self.items)), key=lambda i: (-counts[self.items[i]], self.items[i]))
        self.popularity_rank = {self.items[i]: rank + 1 for rank, i in enumerate(order)}
        self.popular_order = order

    def evaluate(self, lists):
        """Metrics of `lists` (user → items, best first) over the warm users."""
        n = len(self.warm)
        total = {key: 0.0 for key in ("hr10", "ndcg10", "recall10", "precision10", "hr20", "ndcg20", "recall20", "precision20")}
        listed, pop_sum, pop_count, leaks = set(), 0.0, 0, 0
        bucket_sum = {name: [0, 0.0] for name, _, _ in BUCKETS}
        for user in self.warm:
            items = list(lists.get(user, []))[:20]
            wanted, seen = self.relevant[user], self.seen[user]
            dcg10 = dcg20 = 0.0
            hits10 = hits20 = 0
            for position, item in enumerate(items):
                if position < 10:
                    listed.add(item)
                    pop_sum += self.popularity_rank.get(item, len(self.items) + 1)
                    pop_count += 1
                if item in seen:
                    leaks += 1
                if item not in wanted:
                    continue
                gain = 1 / math.log2(position + 2)
                if position < 10:
                    dcg10 += gain
                    hits10 += 1
                dcg20 += gain
                hits20 += 1

            def ideal(k):
                return sum(1 / math.log2(r + 2) for r in range(min(k, len(wanted))))

            ndcg10 = dcg10 / ideal(10)
            total["ndcg10"] += ndcg10
            total["ndcg20"] += dcg20 / ideal(20)
            total["hr10"] += hits10 > 0
            total["hr20"] += hits20 > 0
            total["recall10"] += hits10 / len(wanted)
            total["recall20"] += hits20 / len(wanted)
            total["precision10"] += hits10 / 10
            total["precision20"] += hits20 / 20
            for name, low, high in BUCKETS:
                if low <= len(seen) < high:
                    bucket_sum[name][0] += 1
                    bucket_sum[name][1] += ndcg10
        result = {key: value / max(n, 1) for key, value in total.items()}
        result.update(
            users=n,
            coverage10=len(listed) / len(self.items),
            mean_popularity_rank=pop_sum / max(pop_count, 1),
            leaks=leaks,
            by_activity={name: {"users": c, "ndcg10": s / c if c else 0.0} for name, (c, s) in bucket_sum.items()},
        )
        return result

    def top_lists(self, scores_for_users, k=20):
        """Lists from a score function over warm users' rows (training items excluded)."""
        lists = {}
        warm = self.warm
        for start in range(0, len(warm), 512):
            chunk = warm[start:start + 512]
            rows = np.array([self.user_index[u] for u in chunk])
            scores = np.array(scores_for_users(rows), dtype=np.float64)
            seen = self.matrix[rows]
            scores[seen.nonzero()] = -np.inf
            best = np.argpartition(-scores, k, axis=1)[:, :k]
            for row, user in enumerate(chunk):
                order = best[row][np.argsort(-scores[row, best[row]], kind="stable")]
                lists[user] = [self.items[i] for i in order]
        return lists


def most_popular(split):
    counts = split.popularity
    return split.top_lists(lambda rows: np.tile(counts, (len(rows), 1)))


def ease(split, regularization):
    """EASE (Steck 2019): B = I − P·diag(1/diag(P)), P = (XᵀX + λI)⁻¹, zero diagonal."""
    x = split.matrix
    gram = (x.T @ x).toarray()
    gram[np.diag_indices_from(gram)] += regularization
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)
    np.fill_diagonal(weights, 0.0)
    return split.top_lists(lambda rows: x[rows] @ weights)


def pure_svd(split, rank):
    """PureSVD (Cremonesi et al. 2010): scores X·Q·Qᵀ from the top `rank` right singular vectors."""
    x = split.matrix.astype(np.float64)
    _, _, vt = svds(x, k=rank, random_state=0)
    q = vt.T
    return split.top_lists(lambda rows: (x[rows] @ q) @ q.T)


def implicit_als(split, factors, regularization, alpha, iterations=15, seed=0):
    """Implicit ALS (Hu, Koren, Volinsky 2008) with confidence 1 + alpha on observed pairs."""
    x = split.matrix.tocsr()
    xt = x.T.tocsr()
    rng = np.random.default_rng(seed)
    users = rng.normal(0, 0.01, (x.shape[0], factors))
    items = rng.normal(0, 0.01, (x.shape[1], factors))

    def solve(matrix, fixed):
        gram = fixed.T @ fixed + regularization * np.eye(factors)
        out = np.zeros((matrix.shape[0], factors))
        for row in range(matrix.shape[0]):
            start, end = matrix.indptr[row], matrix.indptr[row + 1]
            cols = matrix.indices[start:end]
            if len(cols) == 0:
                continue
            y = fixed[cols]
            a = gram + alpha * (y.T @ y)
            b = (1 + alpha) * y.sum(axis=0)
            out[row] = np.linalg.solve(a, b)
        return out

    for _ in range(iterations):
        users = solve(x, items)
        items = solve(xt, users)
    return split.top_lists(lambda rows: users[rows] @ items.T)
