"""Errors: one class per stable error code of the protocol (docs/PROTOCOL.md)."""

from __future__ import annotations

from typing import Dict, Optional, Type


class CrossrecError(Exception):
    """An error answer from the daemon. ``code`` is the protocol's stable code."""

    code: str = ""

    def __init__(self, message: str, code: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class BadRequest(CrossrecError):
    code = "bad_request"


class UnknownOp(CrossrecError):
    code = "unknown_op"


class UnknownDomain(CrossrecError):
    code = "unknown_domain"


class UnknownItem(CrossrecError):
    code = "unknown_item"


class TooLarge(CrossrecError):
    code = "too_large"


class Overloaded(CrossrecError):
    code = "overloaded"


class NotReady(CrossrecError):
    code = "not_ready"


class Forbidden(CrossrecError):
    code = "forbidden"


class ReadOnly(CrossrecError):
    """An admin operation sent to a read replica: send it to the learner."""

    code = "read_only"


class InternalError(CrossrecError):
    code = "internal"


_BY_CODE: Dict[str, Type[CrossrecError]] = {
    cls.code: cls
    for cls in (BadRequest, UnknownOp, UnknownDomain, UnknownItem, TooLarge, Overloaded, NotReady, Forbidden, ReadOnly, InternalError)
}


def error_for(code: str, message: str) -> CrossrecError:
    """The exception for an error answer; a code this client does not know keeps its name."""
    cls = _BY_CODE.get(code)
    return cls(message) if cls is not None else CrossrecError(message, code)


class ConnectionFailed(ConnectionError):
    """The daemon could not be reached, or closed the connection before answering."""


class Timeout(TimeoutError):
    """No complete answer within the client's timeout. The connection is closed: answers
    still on their way would otherwise be taken for the next request's."""
