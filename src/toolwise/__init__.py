"""toolwise: LangChain and LangGraph agents that learn which tool works.

Record every tool call into Chroma, learn per-tool reliability from the outcomes, and put a
ranked, evidence-backed recommendation in front of the model before it picks its next tool.
"""

from toolwise._facade import Toolwise
from toolwise.errors import (
    EmbeddingMismatchError,
    InvalidAgentIdError,
    InvalidArgumentError,
    SpoolError,
    StoreError,
    ToolwiseError,
)
from toolwise.models import ToolOutcome, ToolStats, UsageSummary
from toolwise.recording.context import RecordingDefaults
from toolwise.recording.judge import Judge, Verdict
from toolwise.recording.redact import SecretRedactor
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.embeddings import EmbeddingFunction, HashingEmbedding, OpenAIEmbedding
from toolwise.storage.protocol import CallFilter, OutcomeStore

__all__ = [
    "CallFilter",
    "ChromaOutcomeStore",
    "EmbeddingFunction",
    "EmbeddingMismatchError",
    "HashingEmbedding",
    "InvalidAgentIdError",
    "InvalidArgumentError",
    "Judge",
    "OpenAIEmbedding",
    "OutcomeStore",
    "RecordingDefaults",
    "SecretRedactor",
    "SpoolError",
    "StoreError",
    "ToolOutcome",
    "ToolStats",
    "Toolwise",
    "ToolwiseError",
    "UsageSummary",
    "Verdict",
]
__version__ = "0.1.0"
