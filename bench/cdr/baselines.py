"""Batch baselines of the cross-domain benchmark: TGT, CMF and EMCDR, biased MF by ALS.

Every model: r = mu_d + b_u + b_i + p_u . q_i, fitted by alternating ridge solves
(regularization lambda * number of ratings of the row, Zhou et al. 2008). A cold-start user
is one with no target rating in training.

- TGT: target ratings only; a cold user gets mu_t + b_i.
- CMF: one model over both domains, user factors and bias shared, item factors per domain.
- EMCDR: one MF per domain, then a ridge map [p_s, b_s, 1] -> [p_t, b_t] fitted on the
  overlapping training users (the linear variant of Man et al. 2017).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sparse

from split import Ratings


@dataclasses.dataclass
class Factors:
    user: np.ndarray  # (users, d + 1): vector then bias
    item: np.ndarray  # (items, d + 1)
    mean: float


def _solve_side(rows, cols, target, other, n_rows, regularization):
    """Ridge solve of every row's [vector, bias] against the other side's [vector, 1]."""
    k = other.shape[1]
    augmented = np.hstack([other[:, :-1], np.ones((other.shape[0], 1))])
    indicator = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_rows, other.shape[0]))
    outer = np.einsum("ij,ik->ijk", augmented, augmented).reshape(other.shape[0], k * k)
    gram = (indicator @ outer).reshape(n_rows, k, k)
    weighted = sparse.csr_matrix((target, (rows, cols)), shape=(n_rows, other.shape[0]))
    right = weighted @ augmented
    counts = np.asarray(indicator.sum(axis=1)).ravel()
    gram += (regularization * np.maximum(counts, 1))[:, None, None] * np.eye(k)[None]
    return np.linalg.solve(gram, right[..., None])[..., 0]


def fit_mf(
    users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
    dimension: int = 32, regularization: float = 0.05, iterations: int = 12, seed: int = 0,
) -> Factors:
    rng = np.random.default_rng(seed)
    mean = float(ratings.mean())
    user = np.hstack([rng.normal(0, 0.1, (n_users, dimension)), np.zeros((n_users, 1))])
    item = np.hstack([rng.normal(0, 0.1, (n_items, dimension)), np.zeros((n_items, 1))])
    residual = ratings - mean
    for _ in range(iterations):
        user = _solve_side(users, items, residual - item[items, -1], item, n_users, regularization)
        item = _solve_side(items, users, residual - user[users, -1], user, n_items, regularization)
    return Factors(user, item, mean)


def _predict(user_rows: np.ndarray, item_rows: np.ndarray, mean: float) -> np.ndarray:
    return np.clip(mean + user_rows[:, -1] + item_rows[:, -1] + np.sum(user_rows[:, :-1] * item_rows[:, :-1], axis=1), 1, 5)


def tgt(train: Ratings, test: Ratings, n_users: int, n_items: int, **options) -> np.ndarray:
    target = train.domain == 1
    model = fit_mf(train.user[target], train.item[target], train.rating[target], n_users, n_items, **options)
    # A cold user has no target rating: their row stayed at the ridge solution of nothing (zero).
    cold_user = np.zeros((len(test), model.user.shape[1]))
    return _predict(cold_user, model.item[test.item], model.mean)


def cmf(train: Ratings, test: Ratings, n_users: int, n_items: int, **options) -> np.ndarray:
    # Items of the two domains are disjoint, so one item table holds both; each domain keeps its
    # own mean through the item biases' offset.
    target_mean = float(train.rating[train.domain == 1].mean())
    source_mean = float(train.rating[train.domain == 0].mean())
    means = np.where(train.domain == 1, target_mean, source_mean)
    model = fit_mf(train.user, train.item, train.rating - means + 0, n_users, n_items, **options)
    # fit_mf centers by the (near zero) mean of the residuals; add it back with the target mean.
    return _predict(model.user[test.user], model.item[test.item], model.mean + target_mean)


def emcdr(train: Ratings, test: Ratings, n_users: int, n_items: int, map_regularization: float = 1.0, **options):
    source, target = train.domain == 0, train.domain == 1
    s = fit_mf(train.user[source], train.item[source], train.rating[source], n_users, n_items, **options)
    t = fit_mf(train.user[target], train.item[target], train.rating[target], n_users, n_items, **options)
    both = np.intersect1d(np.unique(train.user[source]), np.unique(train.user[target]))
    features = np.hstack([s.user[both], np.ones((len(both), 1))])
    gram = features.T @ features + map_regularization * np.eye(features.shape[1])
    mapping = np.linalg.solve(gram, features.T @ t.user[both])
    mapped = np.hstack([s.user[test.user], np.ones((len(test), 1))]) @ mapping
    return _predict(mapped, t.item[test.item], t.mean)


BASELINES = {"TGT": tgt, "CMF": cmf, "EMCDR": emcdr}
