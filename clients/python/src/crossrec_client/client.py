"""A client for crossrecd's query socket: one JSON request per line, answers in order."""

from __future__ import annotations

import json
import os
import selectors
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union

from .errors import ConnectionFailed, CrossrecError, Timeout, error_for

T = TypeVar("T")

#: Where a packaged crossrecd listens (``socket.path`` in crossrecd.yaml).
SYSTEM_SOCKET = "/run/crossrec/crossrecd.sock"


def default_socket_path() -> str:
    """``$CROSSREC_SOCKET``, else ``.run/crossrecd.sock`` when present (``make run``), else the
    system socket: the same choice as the ``crossrec`` command."""
    configured = os.environ.get("CROSSREC_SOCKET")
    if configured:
        return configured
    return ".run/crossrecd.sock" if os.path.exists(".run/crossrecd.sock") else SYSTEM_SOCKET


@dataclass(frozen=True)
class Item:
    item: str
    score: float


@dataclass(frozen=True)
class Recommendations:
    """A ranked list, best first. ``strategy`` is ``personal``, ``transfer`` or ``popular``.
    With the ranking head, ``score`` is a logit (higher is likelier), not a rating."""

    items: List[Item]
    strategy: str
    model_version: int


@dataclass(frozen=True)
class Items:
    """The answer of ``similar`` and ``popular``."""

    items: List[Item]
    model_version: int


@dataclass(frozen=True)
class Prediction:
    """The predicted rating, clipped to the domain's range."""

    score: float
    strategy: str
    model_version: int


@dataclass(frozen=True)
class Health:
    """``status`` is ``ready`` or ``degraded`` (then ``reasons`` says why)."""

    status: str
    reasons: List[str]
    version: str
    model_version: int

    @property
    def ready(self) -> bool:
        return self.status == "ready"


Answer = Dict[str, Any]
Decoder = Callable[[Answer], Any]


def _items(answer: Answer) -> List[Item]:
    return [Item(str(entry["item"]), float(entry["score"])) for entry in answer.get("items", [])]


def _recommendations(answer: Answer) -> Recommendations:
    return Recommendations(_items(answer), str(answer.get("strategy", "")), int(answer["model_version"]))


def _item_list(answer: Answer) -> Items:
    return Items(_items(answer), int(answer["model_version"]))


def _prediction(answer: Answer) -> Prediction:
    return Prediction(float(answer["score"]), str(answer.get("strategy", "")), int(answer["model_version"]))


def _health(answer: Answer) -> Health:
    return Health(
        str(answer["status"]), [str(r) for r in answer.get("reasons", [])],
        str(answer.get("crossrec_version", "")), int(answer.get("model_version", 0)))


def _fields(answer: Answer) -> Answer:
    return {key: value for key, value in answer.items() if key not in ("ok", "id")}


class _Requests:
    """The operations, as requests with the decoder of their answer; `Client` sends one at a
    time, `Pipeline` many at once."""

    def _add(self, request: Answer, decode: Decoder) -> Any:
        raise NotImplementedError

    def recommend(self, user: str, domain: str, k: int = 10, exclude_seen: bool = True) -> Any:
        return self._add(
            {"op": "recommend", "user": user, "domain": domain, "k": k, "exclude_seen": exclude_seen},
            _recommendations)

    def predict(self, user: str, domain: str, item: str) -> Any:
        return self._add({"op": "predict", "user": user, "domain": domain, "item": item}, _prediction)

    def similar(self, domain: str, item: str, k: int = 10) -> Any:
        return self._add({"op": "similar", "domain": domain, "item": item, "k": k}, _item_list)

    def popular(self, domain: str, k: int = 10) -> Any:
        return self._add({"op": "popular", "domain": domain, "k": k}, _item_list)

    def health(self) -> Any:
        return self._add({"op": "health"}, _health)

    def stats(self) -> Any:
        return self._add({"op": "stats"}, _fields)

    def metrics(self) -> Any:
        return self._add({"op": "metrics"}, lambda answer: str(answer["text"]))

    def checkpoint(self) -> Any:
        return self._add({"op": "checkpoint"}, _fields)

    def forget(self, user: str) -> Any:
        return self._add({"op": "forget", "user": user}, lambda answer: bool(answer["forgotten"]))


class Client(_Requests):
    """A connection to crossrecd, opened at the first request and kept.

    Every method sends one request and returns its decoded answer, or raises the
    `CrossrecError` subclass of the error code (``UnknownDomain``, ``NotReady`` …).
    ``timeout`` (seconds, None for none) bounds each exchange; on expiry the connection is
    closed and `Timeout` raised. A kept connection the daemon has closed meanwhile (its idle
    timeout) is reopened once, when nothing of the answer had arrived. Not thread-safe: use
    one client per thread.

    >>> with Client() as crossrec:
    ...     crossrec.recommend("alice", "movies", k=5).items
    """

    def __init__(self, path: Optional[str] = None, *, timeout: Optional[float] = 10.0) -> None:
        self.path = path or default_socket_path()
        self.timeout = timeout
        self._socket: Optional[socket.socket] = None
        self._pending = bytearray()
        self._next_id = 1

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._pending.clear()

    # Operations of `_Requests` return what `_add` returns: the decoded answer.
    def recommend(self, user: str, domain: str, k: int = 10, exclude_seen: bool = True) -> Recommendations:
        return super().recommend(user, domain, k, exclude_seen)  # type: ignore[no-any-return]

    def predict(self, user: str, domain: str, item: str) -> Prediction:
        return super().predict(user, domain, item)  # type: ignore[no-any-return]

    def similar(self, domain: str, item: str, k: int = 10) -> Items:
        return super().similar(domain, item, k)  # type: ignore[no-any-return]

    def popular(self, domain: str, k: int = 10) -> Items:
        return super().popular(domain, k)  # type: ignore[no-any-return]

    def health(self) -> Health:
        return super().health()  # type: ignore[no-any-return]

    def stats(self) -> Dict[str, Any]:
        return super().stats()  # type: ignore[no-any-return]

    def metrics(self) -> str:
        return super().metrics()  # type: ignore[no-any-return]

    def checkpoint(self) -> Dict[str, Any]:
        return super().checkpoint()  # type: ignore[no-any-return]

    def forget(self, user: str) -> bool:
        return super().forget(user)  # type: ignore[no-any-return]

    def request(self, op: str, **fields: Any) -> Dict[str, Any]:
        """Any operation, for fields this client has no method for: the answer's fields."""
        return self._add({"op": op, **fields}, _fields)  # type: ignore[no-any-return]

    def pipeline(self) -> "Pipeline":
        """Requests sent together and answered in order (see `Pipeline`)."""
        return Pipeline(self)

    def _add(self, request: Answer, decode: Decoder) -> Any:
        result = self._exchange([(request, decode)])[0]
        if isinstance(result, CrossrecError):
            raise result
        return result

    def _exchange(self, requests: Sequence[Tuple[Answer, Decoder]]) -> List[Any]:
        """Sends every request and reads one answer each, writing and reading at once so that
        neither side waits on a full buffer. Error answers come back as exceptions, in place."""
        reused = self._socket is not None
        try:
            return self._exchange_once(requests)
        except _ClosedBeforeAnswer:
            self.close()
            if not reused:
                raise ConnectionFailed(f"{self.path}: the daemon closed the connection without answering") from None
            return self._exchange_once(requests)

    def _exchange_once(self, requests: Sequence[Tuple[Answer, Decoder]]) -> List[Any]:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        sock = self._connect()
        ids = []
        lines = []
        for request, _ in requests:
            ids.append(self._next_id)
            lines.append(json.dumps({**request, "id": self._next_id}, separators=(",", ":")).encode() + b"\n")
            self._next_id += 1
        out = memoryview(b"".join(lines))
        sent = 0
        answers: List[Any] = []
        received_any = False
        selector = selectors.DefaultSelector()
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        try:
            while len(answers) < len(requests):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    self.close()
                    raise Timeout(f"{self.path}: no answer within {self.timeout} s")
                for _, events in selector.select(remaining):
                    if events & selectors.EVENT_WRITE and sent < len(out):
                        try:
                            sent += sock.send(out[sent:sent + 65536])
                        except BlockingIOError:
                            pass
                        except OSError as error:
                            if not received_any:
                                raise _ClosedBeforeAnswer() from error
                            self.close()
                            raise ConnectionFailed(f"{self.path}: {error}") from error
                        if sent == len(out):
                            selector.modify(sock, selectors.EVENT_READ)
                    if events & selectors.EVENT_READ:
                        try:
                            data = sock.recv(262144)
                        except BlockingIOError:
                            continue
                        except OSError:
                            data = b""
                        if not data:
                            if not received_any:
                                raise _ClosedBeforeAnswer()
                            self.close()
                            raise ConnectionFailed(f"{self.path}: the daemon closed the connection after "
                                                   f"{len(answers)} of {len(requests)} answers")
                        received_any = True
                        self._pending += data
                        while len(answers) < len(requests):
                            newline = self._pending.find(b"\n")
                            if newline < 0:
                                break
                            line = bytes(self._pending[:newline])
                            del self._pending[:newline + 1]
                            index = len(answers)
                            answers.append(self._decode(line, ids[index], requests[index][1]))
        finally:
            selector.close()
        return answers

    def _decode(self, line: bytes, expected_id: int, decode: Decoder) -> Any:
        try:
            answer = json.loads(line)
        except ValueError as error:
            self.close()
            raise ConnectionFailed(f"{self.path}: an answer that is not JSON: {line[:200]!r}") from error
        if not isinstance(answer, dict):
            self.close()
            raise ConnectionFailed(f"{self.path}: an answer that is not a JSON object: {line[:200]!r}")
        if "id" in answer and answer["id"] != expected_id:
            self.close()
            raise ConnectionFailed(f"{self.path}: answer for request {answer['id']!r}, expected {expected_id}")
        if not answer.get("ok", False):
            failure = answer.get("error") or {}
            return error_for(str(failure.get("code", "internal")), str(failure.get("message", "")))
        return decode(answer)

    def _connect(self) -> socket.socket:
        if self._socket is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.path)
            except socket.timeout as error:
                sock.close()
                raise Timeout(f"{self.path}: not accepted within {self.timeout} s") from error
            except OSError as error:
                sock.close()
                raise ConnectionFailed(f"{self.path}: {error.strerror or error}") from error
            sock.setblocking(False)
            self._socket = sock
            self._pending.clear()
        return self._socket


class _ClosedBeforeAnswer(Exception):
    pass


class Pipeline(_Requests):
    """Requests queued by the same methods as `Client`'s, sent at once by `execute`, which
    returns their answers in order: each decoded, or the `CrossrecError` of an error answer
    (returned, not raised, so one bad request does not hide the others' answers).

    >>> with Client() as crossrec:
    ...     pipe = crossrec.pipeline()
    ...     for user in ("alice", "bob"):
    ...         pipe.recommend(user, "movies")
    ...     lists = pipe.execute()
    """

    def __init__(self, client: Client) -> None:
        self._client = client
        self._requests: List[Tuple[Answer, Decoder]] = []

    def __len__(self) -> int:
        return len(self._requests)

    def _add(self, request: Answer, decode: Decoder) -> "Pipeline":
        self._requests.append((request, decode))
        return self

    def request(self, op: str, **fields: Any) -> "Pipeline":
        return self._add({"op": op, **fields}, _fields)

    def execute(self) -> List[Union[Any, CrossrecError]]:
        """Sends the queued requests and returns their answers; the pipeline is empty after."""
        requests, self._requests = self._requests, []
        return self._client._exchange(requests) if requests else []
