"""A client for crossrecd's query socket: one JSON request per line, answers in order."""

from __future__ import annotations

import json
import os
import selectors
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Generic, List, Optional, Sequence, TypeVar, cast

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


@dataclass(frozen=True)
class _Call(Generic[T]):
    """A request and the decoder of its answer."""

    request: Answer
    decode: Callable[[Answer], T]


def _recommend(user: str, domain: str, k: int, exclude_seen: bool) -> _Call[Recommendations]:
    request = {"op": "recommend", "user": user, "domain": domain, "k": k, "exclude_seen": exclude_seen}
    return _Call(request, _recommendations)


def _predict(user: str, domain: str, item: str) -> _Call[Prediction]:
    return _Call({"op": "predict", "user": user, "domain": domain, "item": item}, _prediction)


def _similar(domain: str, item: str, k: int) -> _Call[Items]:
    return _Call({"op": "similar", "domain": domain, "item": item, "k": k}, _item_list)


def _popular(domain: str, k: int) -> _Call[Items]:
    return _Call({"op": "popular", "domain": domain, "k": k}, _item_list)


def _metrics_text(answer: Answer) -> str:
    return str(answer["text"])


def _forgotten(answer: Answer) -> bool:
    return bool(answer["forgotten"])


class Client:
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
        self._selector: Optional[selectors.BaseSelector] = None
        self._pending = bytearray()
        self._next_id = 1

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._pending.clear()

    def recommend(self, user: str, domain: str, k: int = 10, exclude_seen: bool = True) -> Recommendations:
        return self._call(_recommend(user, domain, k, exclude_seen))

    def predict(self, user: str, domain: str, item: str) -> Prediction:
        return self._call(_predict(user, domain, item))

    def similar(self, domain: str, item: str, k: int = 10) -> Items:
        return self._call(_similar(domain, item, k))

    def popular(self, domain: str, k: int = 10) -> Items:
        return self._call(_popular(domain, k))

    def health(self) -> Health:
        return self._call(_Call({"op": "health"}, _health))

    def stats(self) -> Dict[str, Any]:
        return self._call(_Call({"op": "stats"}, _fields))

    def metrics(self) -> str:
        return self._call(_Call({"op": "metrics"}, _metrics_text))

    def checkpoint(self) -> Dict[str, Any]:
        """Admin: writes a checkpoint now and returns the answer (`path`, `offsets` …)."""
        return self._call(_Call({"op": "checkpoint"}, _fields))

    def forget(self, user: str) -> bool:
        """Admin: erases the user everywhere; True when the user was known."""
        return self._call(_Call({"op": "forget", "user": user}, _forgotten))

    def request(self, op: str, **fields: Any) -> Dict[str, Any]:
        """Any operation, for fields this client has no method for: the answer's fields."""
        return self._call(_Call({"op": op, **fields}, _fields))

    def pipeline(self) -> "Pipeline":
        """Requests sent together and answered in order (see `Pipeline`)."""
        return Pipeline(self)

    def _call(self, call: "_Call[T]") -> T:
        result = self._exchange([call])[0]
        if isinstance(result, CrossrecError):
            raise result
        return cast(T, result)

    def _exchange(self, requests: Sequence["_Call[Any]"]) -> List[Any]:
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

    def _exchange_once(self, requests: Sequence["_Call[Any]"]) -> List[Any]:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        sock = self._connect()
        ids = []
        lines = []
        for call in requests:
            ids.append(self._next_id)
            lines.append(json.dumps({**call.request, "id": self._next_id}, separators=(",", ":")).encode() + b"\n")
            self._next_id += 1
        out = memoryview(b"".join(lines))
        sent = 0
        answers: List[Any] = []
        received_any = False
        selector = self._selector
        assert selector is not None
        selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
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
                        answers.append(self._decode(line, ids[index], requests[index].decode))
        return answers

    def _decode(self, line: bytes, expected_id: int, decode: Callable[[Answer], Any]) -> Any:
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
            # One selector for the connection's life (not one per request).
            self._selector = selectors.DefaultSelector()
            self._selector.register(sock, selectors.EVENT_READ)
            self._socket = sock
            self._pending.clear()
        return self._socket


class _ClosedBeforeAnswer(Exception):
    pass


class Pipeline:
    """Requests queued by the same methods as `Client`'s, sent at once by `execute`, which
    returns their answers in order: each decoded, or the `CrossrecError` of an error answer
    (returned, not raised, so one bad request does not hide the others' answers). The
    methods return the pipeline, so calls can be chained.

    >>> with Client() as crossrec:
    ...     pipe = crossrec.pipeline()
    ...     for user in ("alice", "bob"):
    ...         pipe.recommend(user, "movies")
    ...     lists = pipe.execute()
    """

    def __init__(self, client: Client) -> None:
        self._client = client
        self._calls: List[_Call[Any]] = []

    def __len__(self) -> int:
        return len(self._calls)

    def recommend(self, user: str, domain: str, k: int = 10, exclude_seen: bool = True) -> "Pipeline":
        return self._queue(_recommend(user, domain, k, exclude_seen))

    def predict(self, user: str, domain: str, item: str) -> "Pipeline":
        return self._queue(_predict(user, domain, item))

    def similar(self, domain: str, item: str, k: int = 10) -> "Pipeline":
        return self._queue(_similar(domain, item, k))

    def popular(self, domain: str, k: int = 10) -> "Pipeline":
        return self._queue(_popular(domain, k))

    def health(self) -> "Pipeline":
        return self._queue(_Call({"op": "health"}, _health))

    def request(self, op: str, **fields: Any) -> "Pipeline":
        return self._queue(_Call({"op": op, **fields}, _fields))

    def execute(self) -> List[Any]:
        """Sends the queued requests and returns their answers (or `CrossrecError`s) in
        order; the pipeline is empty after."""
        calls, self._calls = self._calls, []
        return self._client._exchange(calls) if calls else []

    def _queue(self, call: "_Call[Any]") -> "Pipeline":
        self._calls.append(call)
        return self
