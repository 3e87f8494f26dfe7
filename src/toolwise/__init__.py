"""toolwise: LangChain and LangGraph agents that learn which tool works.

Record every tool call into Chroma, learn per-tool reliability from the outcomes, and put a
ranked, evidence-backed recommendation in front of the model before it picks its next tool.
"""

from toolwise._facade import Toolwise
from toolwise._runtime import Runtime
from toolwise.advice import AdviceOptions, Advisor, Brief, TaskQuery
from toolwise.errors import (
    EmbeddingMismatchError,
    InvalidAgentIdError,
    InvalidArgumentError,
    SpoolError,
    StoreError,
    ToolwiseError,
)
from toolwise.improve import (
    AuditEntry,
    CompositeSpec,
    Demonstration,
    ImproveConfig,
    ImprovementReport,
    Lesson,
    PromotionPolicy,
    RefinementResult,
)
from toolwise.integrations.langchain import (
    AdviceMiddleware,
    InstrumentedTool,
    ToolwiseCallbackHandler,
    ToolwiseMiddleware,
)
from toolwise.integrations.langgraph import (
    ToolCallRecorder,
    ToolGuard,
    ToolwiseReactState,
    ToolwiseState,
    brief_messages,
    with_brief,
)
from toolwise.learning import (
    InfraEvent,
    LearningConfig,
    ObjectiveWeights,
    Recommendation,
    ScoreBreakdown,
    ToolPrior,
)
from toolwise.models import ToolOutcome, ToolStats, UsageSummary
from toolwise.recording.context import RecordingDefaults
from toolwise.recording.judge import Judge, Verdict
from toolwise.recording.redact import SecretRedactor
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.embeddings import EmbeddingFunction, HashingEmbedding, OpenAIEmbedding
from toolwise.storage.protocol import CallFilter, OutcomeStore
from toolwise.storage.writer import WriterCounters

__all__ = [
    "AdviceMiddleware",
    "AdviceOptions",
    "Advisor",
    "AuditEntry",
    "Brief",
    "CallFilter",
    "ChromaOutcomeStore",
    "CompositeSpec",
    "Demonstration",
    "EmbeddingFunction",
    "EmbeddingMismatchError",
    "HashingEmbedding",
    "ImproveConfig",
    "ImprovementReport",
    "InfraEvent",
    "InstrumentedTool",
    "InvalidAgentIdError",
    "InvalidArgumentError",
    "Judge",
    "LearningConfig",
    "Lesson",
    "ObjectiveWeights",
    "OpenAIEmbedding",
    "OutcomeStore",
    "PromotionPolicy",
    "Recommendation",
    "RecordingDefaults",
    "RefinementResult",
    "Runtime",
    "ScoreBreakdown",
    "SecretRedactor",
    "SpoolError",
    "StoreError",
    "TaskQuery",
    "ToolCallRecorder",
    "ToolGuard",
    "ToolOutcome",
    "ToolPrior",
    "ToolStats",
    "Toolwise",
    "ToolwiseCallbackHandler",
    "ToolwiseError",
    "ToolwiseMiddleware",
    "ToolwiseReactState",
    "ToolwiseState",
    "UsageSummary",
    "Verdict",
    "WriterCounters",
    "brief_messages",
    "with_brief",
]
__version__ = "0.1.0"
