"""The errors toolwise raises, all under one root so callers can catch one type.

```
ToolwiseError
├── InvalidArgumentError   (also a ValueError) a bad field or argument; ``.field`` names it
│   └── InvalidAgentIdError  an agent id that cannot become a Chroma collection name
├── StoreError             the outcome store failed (raised only where the caller asked)
│   ├── EmbeddingMismatchError  a collection was made with another embedding function
│   └── StoreUnavailableError   the store did not answer in time or cannot be reached (transient)
└── SpoolError             the durable spool cannot be written: records would be lost
```
Recording never raises these into a running agent: the automatic paths log and count them.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "EmbeddingMismatchError",
    "InvalidAgentIdError",
    "InvalidArgumentError",
    "SpoolError",
    "StoreError",
    "StoreUnavailableError",
    "ToolwiseError",
]


class ToolwiseError(Exception):
    """Root of every error toolwise raises on purpose."""


class InvalidArgumentError(ToolwiseError, ValueError):
    """A field or argument has a value toolwise cannot accept.

    Attributes:
        field: the name of the offending field or argument, as the caller spelt it.
        value: the rejected value (``repr`` is used in the message, truncated).
        reason: what is wrong with it, e.g. ``"must be >= 0"``.
    """

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field}: {reason} (got {shown})")

    def within(self, prefix: str) -> InvalidArgumentError:
        """The same error with its field named inside a larger whole: ``[3].`` names the
        fourth item of a batch (``[3].cost``)."""
        return type(self)(f"{prefix}{self.field}", self.value, self.reason)


class InvalidAgentIdError(InvalidArgumentError):
    """An agent id that cannot be mapped to a Chroma collection name."""


class StoreError(ToolwiseError):
    """The outcome store failed; raised only from calls that read or that asked to raise."""


class EmbeddingMismatchError(StoreError):
    """A collection was created with an embedding of another name or dimension."""


class StoreUnavailableError(StoreError):
    """The store did not answer within its timeout, or cannot be reached, or is known to be
    down (its health probe has not succeeded since): transient, so writes are retried."""


class SpoolError(ToolwiseError):
    """The durable spool cannot be written, so a record could be lost."""
