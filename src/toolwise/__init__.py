"""toolwise: LangChain and LangGraph agents that learn which tool works.

Record every tool call into Chroma, learn per-tool reliability from the outcomes, and put a
ranked, evidence-backed recommendation in front of the model before it picks its next tool.
"""

from toolwise._facade import Toolwise
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
from toolwise.integrations.advice_middleware import AdviceMiddleware
from toolwise.integrations.langgraph import ToolCallRecorder
from toolwise.integrations.middleware import ToolwiseMiddleware
from toolwise.integrations.preselect import (
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
from toolwise.recording.callback import ToolwiseCallbackHandler
from toolwise.recording.context import RecordingDefaults
from toolwise.recording.instrument import InstrumentedTool
from toolwise.recording.judge import FieldRule, Judge, JudgeRules, Verdict
from toolwise.recording.judging.llm import LLMJudge
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
    "FieldRule",
    "HashingEmbedding",
    "ImproveConfig",
    "ImprovementReport",
    "InfraEvent",
    "InstrumentedTool",
    "InvalidAgentIdError",
    "InvalidArgumentError",
    "Judge",
    "JudgeRules",
    "LLMJudge",
    "LearningConfig",
    "Lesson",
    "ObjectiveWeights",
    "OpenAIEmbedding",
    "OutcomeStore",
    "PromotionPolicy",
    "Recommendation",
    "RecordingDefaults",
    "RefinementResult",
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
