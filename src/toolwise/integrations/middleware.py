"""Moved to :mod:`toolwise.integrations.langchain`; this alias is kept for one release."""

import warnings

from toolwise.integrations.langchain import ToolwiseMiddleware

__all__ = ["ToolwiseMiddleware"]

warnings.warn(
    "toolwise.integrations.middleware moved to toolwise.integrations.langchain",
    DeprecationWarning,
    stacklevel=2,
)
