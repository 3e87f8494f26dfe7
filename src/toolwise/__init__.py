"""toolwise: LangChain and LangGraph agents that learn which tool works.

Record every tool call into Chroma, learn per-tool reliability from the outcomes, and put a
ranked, evidence-backed recommendation in front of the model before it picks its next tool.

The names here are the front door. The rest lives in the subpackage that names its layer:
framework adapters in :mod:`toolwise.integrations.langchain` and
:mod:`toolwise.integrations.langgraph`, the brief in :mod:`toolwise.advice`, ranking in
:mod:`toolwise.learning`, self-improvement in :mod:`toolwise.improve`, stores and embeddings
in :mod:`toolwise.storage`, the record path in :mod:`toolwise.recording`.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from toolwise._deprecations import warn_renamed
from toolwise._facade import Toolwise
from toolwise._lazy import exports
from toolwise._runtime import Runtime
from toolwise.errors import (
    InvalidAgentIdError,
    InvalidArgumentError,
    SpoolError,
    StoreError,
    ToolwiseError,
)
from toolwise.learning import LearningConfig, Recommendation, ToolPrior
from toolwise.models import ToolOutcome, UsageSummary
from toolwise.recording.judge import Judge, Verdict
from toolwise.recording.redact import SecretRedactor
from toolwise.storage.embeddings import OpenAIEmbedding
from toolwise.storage.protocol import OutcomeStore

if TYPE_CHECKING:
    from toolwise.advice import AdviceOptions, Advisor, Brief
    from toolwise.improve import ImproveConfig

try:
    __version__ = version("toolwise")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "AdviceOptions",
    "Advisor",
    "Brief",
    "ImproveConfig",
    "InvalidAgentIdError",
    "InvalidArgumentError",
    "Judge",
    "LearningConfig",
    "OpenAIEmbedding",
    "OutcomeStore",
    "Recommendation",
    "Runtime",
    "SecretRedactor",
    "SpoolError",
    "StoreError",
    "ToolOutcome",
    "ToolPrior",
    "Toolwise",
    "ToolwiseError",
    "UsageSummary",
    "Verdict",
    "__version__",
]

# Names this module used to export, and where they live now: importable from here for one
# release, with a DeprecationWarning that says where to import them from.
_MOVED = {
    **dict.fromkeys(
        (
            "AdviceMiddleware",
            "InstrumentedTool",
            "ToolwiseCallbackHandler",
            "ToolwiseMiddleware",
        ),
        "toolwise.integrations.langchain",
    ),
    **dict.fromkeys(
        (
            "ToolCallRecorder",
            "ToolGuard",
            "ToolwiseReactState",
            "ToolwiseState",
            "brief_messages",
            "with_brief",
        ),
        "toolwise.integrations.langgraph",
    ),
    **dict.fromkeys(
        (
            "AuditEntry",
            "CompositeSpec",
            "Demonstration",
            "ImprovementReport",
            "Lesson",
            "PromotionPolicy",
            "RefinementResult",
        ),
        "toolwise.improve",
    ),
    **dict.fromkeys(("InfraEvent", "ObjectiveWeights", "ScoreBreakdown"), "toolwise.learning"),
    **dict.fromkeys(
        (
            "CallFilter",
            "ChromaOutcomeStore",
            "EmbeddingFunction",
            "HashingEmbedding",
            "WriterCounters",
        ),
        "toolwise.storage",
    ),
    "EmbeddingMismatchError": "toolwise.errors",
    "RecordingDefaults": "toolwise.recording",
    "TaskQuery": "toolwise.advice",
    "ToolStats": "toolwise.models",
}


# Front-door names imported on first use (``toolwise._lazy``): the brief and the
# self-improvement loop bring LangChain and scipy, which a cold start does not need.
_LAZY = {
    "AdviceOptions": "toolwise.advice",
    "Advisor": "toolwise.advice",
    "Brief": "toolwise.advice",
    "ImproveConfig": "toolwise.improve",
}
_lazy_getattr, _lazy_dir = exports(__name__, _LAZY)


def __dir__() -> list[str]:
    return _lazy_dir()


if not TYPE_CHECKING:  # type checkers see only __all__: an old name there is an error

    def __getattr__(name: str) -> Any:
        home = _MOVED.get(name)
        if home is None:
            return _lazy_getattr(name)
        warn_renamed(f"toolwise.{name}", f"{home}.{name}")
        return getattr(importlib.import_module(home), name)
