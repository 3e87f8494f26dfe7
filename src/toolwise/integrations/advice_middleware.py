"""Moved to :mod:`toolwise.integrations.langchain`; this alias is kept for one release."""

import warnings

from toolwise.integrations.langchain import AdviceMiddleware, ToolwiseAgentState

__all__ = ["AdviceMiddleware", "ToolwiseAgentState"]

warnings.warn(
    "toolwise.integrations.advice_middleware moved to toolwise.integrations.langchain",
    DeprecationWarning,
    stacklevel=2,
)
