"""crossrec_client: talk to crossrecd's query socket from Python (standard library only).

>>> from crossrec_client import Client
>>> with Client("/run/crossrec/crossrecd.sock") as crossrec:
...     for entry in crossrec.recommend("alice", "movies", k=5).items:
...         print(entry.item, entry.score)
"""

from .client import (
    SYSTEM_SOCKET, Client, Health, Item, Items, Pipeline, Prediction, Recommendations, default_socket_path,
)
from .errors import (
    BadRequest, ConnectionFailed, CrossrecError, Forbidden, InternalError, NotReady, Overloaded, ReadOnly, Timeout,
    TooLarge, UnknownDomain, UnknownItem, UnknownOp,
)

__version__ = "0.9.0"

__all__ = [
    "SYSTEM_SOCKET", "Client", "Health", "Item", "Items", "Pipeline", "Prediction", "Recommendations",
    "default_socket_path", "BadRequest", "ConnectionFailed", "CrossrecError", "Forbidden", "InternalError", "ReadOnly",
    "NotReady", "Overloaded", "Timeout", "TooLarge", "UnknownDomain", "UnknownItem", "UnknownOp", "__version__",
]
