"""Deterministic cold-start splits of MovieLens-1M and -100K by genre (the protocol of EMCDR, Man et al.
IJCAI 2017, and PTUPCDR, Zhu et al. WSDM 2022).

A movie's domain is its first-listed genre (MovieLens lists genres alphabetically). Overlapping
users have ratings in both the source and the target domain; a fraction beta of them (seeded)
are test users whose target ratings are all hidden. Training = every source rating + the target
ratings of the other users, in timestamp order.

A validation split is the same construction inside the training users only: a further slice of
the non-test overlapping users is hidden, so hyper-parameters are tuned without test users.
"""
from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

TASKS = {
    "family": (
        ["Comedy", "Drama", "Romance", "Documentary", "War", "Western"],
        ["Animation", "Children's", "Musical", "Fantasy"],
    ),
    "scifihorror": (
        ["Action", "Adventure", "Crime", "Thriller", "Mystery", "Film-Noir"],
        ["Horror", "Sci-Fi"],
    ),
    # Not in the protocol (not run by default): splits no setting was tuned on, to
    # check that what was chosen on the validation cells of the two tasks above carries over.
    "crime": (
        ["Comedy", "Drama", "Romance", "Documentary", "War", "Western"],
        ["Crime", "Mystery", "Film-Noir", "Thriller"],
    ),
    "horror": (
        ["Comedy", "Drama", "Romance", "Documentary", "War", "Western"],
        ["Horror", "Sci-Fi"],
    ),
    # Added after every default was fixed: nothing has been chosen on them.
    "action": (
        ["Comedy", "Drama", "Romance", "Documentary", "War", "Western"],
        ["Action", "Adventure"],
    ),
    "drama": (
        ["Action", "Adventure", "Crime", "Thriller", "Mystery", "Film-Noir", "Horror", "Sci-Fi"],
        ["Drama", "Romance"],
    ),
}

PROTOCOL_TASKS = ["family", "scifihorror"]
# The (dataset, task) pairs whose validation cells chose crossrec's defaults (the joint refit's
# on both datasets, the earlier ones on MovieLens-1M only); every other pair is held out from
# every choice.
TUNED_TASKS = {("ml-1m", "family"), ("ml-1m", "scifihorror"), ("ml-100k", "family"), ("ml-100k", "scifihorror")}
DATASETS = ["ml-1m", "ml-100k"]


@dataclasses.dataclass
class Ratings:
    """Parallel arrays, one entry per rating; domain 0 = source, 1 = target."""

    user: np.ndarray  # int32 user index
    item: np.ndarray  # int32 item index
    rating: np.ndarray  # float64
    time: np.ndarray  # int64 seconds
    domain: np.ndarray  # int8

    def take(self, mask: np.ndarray) -> "Ratings":
        return Ratings(*(getattr(self, f.name)[mask] for f in dataclasses.fields(self)))

    def __len__(self) -> int:
        return len(self.user)


@dataclasses.dataclass
class Split:
    train: Ratings
    test: Ratings  # hidden target ratings of the test users
    users: list[str]
    items: list[str]


def load_task(data_dir: pathlib.Path, task: str) -> tuple[Ratings, list[str], list[str]]:
    """Every rating of a movie whose first genre is in the task's source or target group.
    `data_dir` is a dataset's folder (bench/data/ml-1m, bench/data/ml-100k): NAME.item (id,
    title, year, genres separated by spaces) and NAME.inter (user, item, rating, time)."""
    source, target = TASKS[task]
    name = data_dir.name
    domain_of_item: dict[str, int] = {}
    with open(data_dir / f"{name}.item", encoding="utf-8") as file:
        next(file)
        for line in file:
            fields = line.rstrip("\n").split("\t")
            genres = fields[3].split(" ") if len(fields) > 3 and fields[3] else []
            if not genres:
                continue
            if genres[0] in source:
                domain_of_item[fields[0]] = 0
            elif genres[0] in target:
                domain_of_item[fields[0]] = 1
    user_index: dict[str, int] = {}
    item_index: dict[str, int] = {}
    columns: tuple[list, ...] = ([], [], [], [], [])
    with open(data_dir / f"{name}.inter", encoding="utf-8") as file:
        next(file)
        for line in file:
            user, item, rating, time = line.rstrip("\n").split("\t")
            domain = domain_of_item.get(item)
            if domain is None:
                continue
            columns[0].append(user_index.setdefault(user, len(user_index)))
            columns[1].append(item_index.setdefault(item, len(item_index)))
            columns[2].append(float(rating))
            columns[3].append(int(float(time)))
            columns[4].append(domain)
    ratings = Ratings(
        np.array(columns[0], dtype=np.int32), np.array(columns[1], dtype=np.int32),
        np.array(columns[2], dtype=np.float64), np.array(columns[3], dtype=np.int64),
        np.array(columns[4], dtype=np.int8))
    return ratings, list(user_index), list(item_index)


def overlapping_users(ratings: Ratings) -> np.ndarray:
    source = np.unique(ratings.user[ratings.domain == 0])
    target = np.unique(ratings.user[ratings.domain == 1])
    return np.intersect1d(source, target)


def hide(ratings: Ratings, hidden_users: np.ndarray) -> tuple[Ratings, Ratings]:
    """(training ratings in time order, hidden target ratings of `hidden_users`)."""
    hidden = np.isin(ratings.user, hidden_users) & (ratings.domain == 1)
    train = ratings.take(~hidden)
    order = np.lexsort((train.item, train.user, train.time))  # time, then user, then item
    return train.take(order), ratings.take(hidden)


def make_split(ratings: Ratings, users: list[str], items: list[str], beta: float, seed: int) -> Split:
    overlap = overlapping_users(ratings)
    rng = np.random.default_rng(seed)
    test_users = rng.choice(overlap, size=int(round(beta * len(overlap))), replace=False)
    train, test = hide(ratings, test_users)
    return Split(train, test, users, items)


def make_validation(split: Split, fraction: float = 0.2, seed: int = 1000) -> Split:
    """A split of the training data alone: `fraction` of the training overlapping users hidden."""
    overlap = overlapping_users(split.train)
    rng = np.random.default_rng(seed)
    hidden = rng.choice(overlap, size=int(round(fraction * len(overlap))), replace=False)
    train, test = hide(split.train, hidden)
    return Split(train, test, split.users, split.items)


def write_tsv(path: pathlib.Path, ratings: Ratings, users: list[str], items: list[str]) -> None:
    """domain, user, item, rating, time: the columns `crossrec replay` reads."""
    names = ("source", "target")
    with open(path, "w", encoding="utf-8") as file:
        for d, u, i, r, t in zip(ratings.domain, ratings.user, ratings.item, ratings.rating, ratings.time):
            file.write(f"{names[d]}\t{users[u]}\tm{i}\t{r:g}\t{t}\n")
