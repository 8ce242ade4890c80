"""The client against a real crossrecd on the embedded dev broker, fed with kcat.

CROSSRECD names the daemon binary (default: the repository's debug build). Run with
``python -m unittest discover -s clients/python/tests`` after ``pip install clients/python``.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path
from typing import Dict, List, Optional, Set

import crossrec_client
from crossrec_client import (
    BadRequest, Client, ConnectionFailed, CrossrecError, Health, Prediction, Recommendations, Timeout, TooLarge,
    UnknownDomain, UnknownItem, UnknownOp,
)

REPOSITORY = Path(__file__).resolve().parents[3]
CROSSRECD = os.environ.get("CROSSRECD", str(REPOSITORY / ".build" / "debug" / "crossrecd"))
USERS = 40
MOVIES = 60
BOOKS = 30


def wait_for(what: str, condition, seconds: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            result = condition()
        except (ConnectionFailed, CrossrecError, OSError):
            result = None
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class DaemonTestCase(unittest.TestCase):
    """One daemon for the whole class: two domains (books is a target), CSV events from kcat."""

    directory: str
    daemon: subprocess.Popen  # type: ignore[type-arg]
    socket_path: str
    rated: Dict[str, Set[str]]

    @classmethod
    def setUpClass(cls) -> None:
        cls.directory = tempfile.mkdtemp(prefix="crossrec-py-")
        cls.socket_path = os.path.join(cls.directory, "run", "crossrecd.sock")
        config = os.path.join(cls.directory, "crossrecd.yaml")
        with open(config, "w") as file:
            file.write(f"""
domains:
  - {{name: movies, topic: ratings.movies, format: csv, rating_range: [1, 5]}}
  - {{name: books, topic: ratings.books, format: csv, rating_range: [1, 10], target: true}}
kafka: {{bootstrap: dev, group_id: python-client, dev_broker_partitions: 1}}
distill: {{interval_seconds: 1}}
socket: {{idle_timeout_seconds: 2}}
paths: {{run_dir: {cls.directory}/run, state_dir: {cls.directory}/state}}
log: {{level: warning, stats_interval_seconds: 0}}
""")
        cls.log = open(os.path.join(cls.directory, "log"), "w")
        cls.daemon = subprocess.Popen([CROSSRECD, "--config", config], stdout=cls.log, stderr=subprocess.STDOUT)
        broker_file = os.path.join(cls.directory, "run", "dev-broker.addr")
        broker_address = Path(broker_file)
        broker = wait_for("the dev broker", lambda: broker_address.exists() and broker_address.read_text().strip())
        # Every user rates movies; users 0..29 also rate books; "reader" rates books only
        # (personal there); "viewer" rates movies only (a transfer user in books).
        rng = random.Random(7)
        cls.rated = {}
        movies: List[str] = []
        books: List[str] = []
        for u in range(USERS):
            for m in rng.sample(range(MOVIES), 12):
                movies.append(f"u{u},m{m},{rng.randint(1, 5)}")
                cls.rated.setdefault(f"u{u}", set()).add(f"m{m}")
            if u < 30:
                for b in rng.sample(range(BOOKS), 6):
                    books.append(f"u{u},b{b},{rng.randint(1, 10)}")
        movies += [f"viewer,m{m},4" for m in range(5)]
        books += [f"reader,b{b},8" for b in range(5)]
        for topic, lines in (("ratings.movies", movies), ("ratings.books", books)):
            subprocess.run(["kcat", "-P", "-b", broker, "-t", topic], input="\n".join(lines) + "\n",
                           text=True, check=True, timeout=60)
        cls.events = len(movies) + len(books)

        def learned() -> bool:
            with Client(cls.socket_path, timeout=5) as crossrec:
                stats = crossrec.stats()
                return sum(d["events"] for d in stats["domains"]) == cls.events and \
                    stats["model"]["events"] == cls.events
        wait_for("every event learned and served", learned)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.daemon.terminate()
        try:
            status = cls.daemon.wait(timeout=60)
            if status != 0:
                raise AssertionError(f"crossrecd exited with {status}: {Path(cls.directory, 'log').read_text()[-2000:]}")
        finally:
            cls.daemon.kill()
            cls.log.close()
            shutil.rmtree(cls.directory, ignore_errors=True)

    def client(self, timeout: Optional[float] = 10.0) -> Client:
        crossrec = Client(self.socket_path, timeout=timeout)
        self.addCleanup(crossrec.close)
        return crossrec


class OperationsTests(DaemonTestCase):
    def test_recommend_ranks_unseen_items_of_the_domain(self) -> None:
        answer = self.client().recommend("u3", "movies", k=8)
        self.assertIsInstance(answer, Recommendations)
        self.assertEqual(answer.strategy, "personal")
        self.assertEqual(len(answer.items), 8)
        scores = [entry.score for entry in answer.items]
        self.assertEqual(scores, sorted(scores, reverse=True))
        self.assertTrue(all(entry.item.startswith("m") for entry in answer.items))
        self.assertFalse({entry.item for entry in answer.items} & self.rated["u3"], "exclude_seen")
        with_seen = self.client().recommend("u3", "movies", k=MOVIES, exclude_seen=False)
        self.assertTrue({entry.item for entry in with_seen.items} & self.rated["u3"])
        self.assertGreater(answer.model_version, 0)

    def test_strategies(self) -> None:
        crossrec = self.client()
        self.assertEqual(crossrec.recommend("viewer", "books", k=3).strategy, "transfer")
        self.assertEqual(crossrec.recommend("reader", "books", k=3).strategy, "personal")
        self.assertEqual(crossrec.recommend("nobody", "movies", k=3).strategy, "popular")

    def test_predict_similar_popular(self) -> None:
        crossrec = self.client()
        prediction = crossrec.predict("u1", "books", "b2")
        self.assertIsInstance(prediction, Prediction)
        self.assertTrue(1 <= prediction.score <= 10, prediction)
        similar = crossrec.similar("movies", "m1", k=5)
        self.assertEqual(len(similar.items), 5)
        self.assertNotIn("m1", [entry.item for entry in similar.items])
        self.assertTrue(all(-1.0001 <= entry.score <= 1.0001 for entry in similar.items))
        popular = crossrec.popular("books", k=4)
        self.assertEqual(len(popular.items), 4)

    def test_health_stats_metrics(self) -> None:
        crossrec = self.client()
        health = crossrec.health()
        self.assertIsInstance(health, Health)
        self.assertTrue(health.ready, health.reasons)
        version = subprocess.run([CROSSRECD, "--version"], capture_output=True, text=True).stdout.strip()
        self.assertEqual(health.version, version)
        self.assertEqual(crossrec_client.__version__, version, "the client is released with the daemon")
        stats = crossrec.stats()
        self.assertEqual([d["domain"] for d in stats["domains"]], ["movies", "books"])
        self.assertIn("crossrec_events_applied_total", crossrec.metrics())

    def test_admin_operations(self) -> None:
        crossrec = self.client()
        written = crossrec.checkpoint()
        self.assertTrue(os.path.exists(written["path"]), written)
        self.assertEqual(written["events"], self.events)
        self.assertTrue(crossrec.forget("u39"))
        self.assertFalse(crossrec.forget("u39"), "already forgotten")
        self.assertEqual(crossrec.recommend("u39", "movies", k=3).strategy, "popular")


class ErrorTests(DaemonTestCase):
    def test_errors_are_raised_with_their_stable_codes(self) -> None:
        crossrec = self.client()
        cases = [
            (lambda: crossrec.recommend("u1", "music"), UnknownDomain, "unknown_domain"),
            (lambda: crossrec.predict("u1", "movies", "no-such-item"), UnknownItem, "unknown_item"),
            (lambda: crossrec.popular("movies", k=1_000_000), TooLarge, "too_large"),
            (lambda: crossrec.request("recommend", domain="movies"), BadRequest, "bad_request"),
            (lambda: crossrec.request("dance"), UnknownOp, "unknown_op"),
        ]
        for call, error_class, code in cases:
            with self.assertRaises(error_class) as raised:
                call()
            self.assertEqual(raised.exception.code, code)
            self.assertIsInstance(raised.exception, CrossrecError)
        # The connection is still usable after error answers.
        self.assertTrue(crossrec.health().ready)

    def test_unreachable_daemon(self) -> None:
        with self.assertRaises(ConnectionFailed):
            Client(os.path.join(self.directory, "nowhere.sock")).health()

    def test_timeout_closes_the_connection(self) -> None:
        # A peer that accepts and never answers (Python's socket module, not the daemon).
        path = os.path.join(self.directory, "silent.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen()
        self.addCleanup(server.close)
        accepted: List[socket.socket] = []
        threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True).start()
        crossrec = Client(path, timeout=0.5)
        started = time.monotonic()
        with self.assertRaises(Timeout):
            crossrec.health()
        self.assertLess(time.monotonic() - started, 30)
        self.assertIsNone(crossrec._socket, "a timed-out connection is not reused")
        for peer in accepted:
            peer.close()

    def test_reopens_a_connection_the_daemon_closed_while_idle(self) -> None:
        crossrec = self.client()
        self.assertTrue(crossrec.health().ready)
        first = crossrec._socket
        time.sleep(3.5)  # the daemon's idle timeout is 2 s
        self.assertTrue(crossrec.health().ready)
        self.assertIsNot(crossrec._socket, first)


class PipelineTests(DaemonTestCase):
    def test_answers_in_order_with_errors_in_place(self) -> None:
        crossrec = self.client()
        pipe = crossrec.pipeline()
        users = [f"u{u}" for u in range(USERS)]
        for user in users:
            pipe.predict(user, "movies", "m5")
        pipe.recommend("u1", "nowhere")
        pipe.health()
        self.assertEqual(len(pipe), USERS + 2)
        answers = pipe.execute()
        self.assertEqual(len(answers), USERS + 2)
        self.assertEqual(len(pipe), 0)
        for user, answer in zip(users, answers):
            self.assertEqual(answer, crossrec.predict(user, "movies", "m5"), user)
        self.assertIsInstance(answers[USERS], UnknownDomain)
        self.assertIsInstance(answers[USERS + 1], Health)

    def test_a_pipeline_larger_than_every_buffer(self) -> None:
        # ~20 000 requests (1.4 MB) whose answers (~12 MB) far exceed what the daemon reads
        # ahead (256 KiB) and keeps unread (64 KiB): the client must read while it writes.
        crossrec = self.client(timeout=120)
        pipe = crossrec.pipeline()
        for n in range(20_000):
            pipe.popular("movies", k=20) if n % 2 else pipe.recommend(f"u{n % USERS}", "movies", k=10)
        answers = pipe.execute()
        self.assertEqual(len(answers), 20_000)
        self.assertTrue(all(len(answer.items) == (20 if n % 2 else 10) for n, answer in enumerate(answers)))
        self.assertTrue(crossrec.health().ready)


if __name__ == "__main__":
    unittest.main()
