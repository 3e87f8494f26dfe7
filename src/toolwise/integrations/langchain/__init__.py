"""LangChain adapters: a callback handler, instrumented tools and ``create_agent`` middleware.

Build them with ``tw.callback()``, ``tw.instrument(tool)``, ``tw.pool(name, tools)`` and
``tw.middleware()``, or by hand
from ``tw.runtime.recorder`` and ``tw.advisor(...)``.
"""

from toolwise.integrations.langchain.advice_middleware import AdviceMiddleware, ToolwiseAgentState
from toolwise.integrations.langchain.callback import ToolwiseCallbackHandler
from toolwise.integrations.langchain.instrument import ConfirmHook, InstrumentedTool
from toolwise.integrations.langchain.middleware import ToolwiseMiddleware
from toolwise.integrations.langchain.pool import PooledTool, PoolExhaustedToolError

__all__ = [
    "AdviceMiddleware",
    "ConfirmHook",
    "InstrumentedTool",
    "PoolExhaustedToolError",
    "PooledTool",
    "ToolwiseAgentState",
    "ToolwiseCallbackHandler",
    "ToolwiseMiddleware",
]
