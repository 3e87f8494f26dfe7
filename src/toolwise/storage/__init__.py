"""Where records live: the outcome-store protocol, Chroma, the durable spool and its writer."""

from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.embeddings import EmbeddingFunction, HashingEmbedding, OpenAIEmbedding
from toolwise.storage.health import StoreHealth, StoreTimeouts
from toolwise.storage.protocol import CallFilter, OutcomeStore, SimilarOutcome
from toolwise.storage.writer import WriterCounters

__all__ = [
    "CallFilter",
    "ChromaOutcomeStore",
    "EmbeddingFunction",
    "HashingEmbedding",
    "OpenAIEmbedding",
    "OutcomeStore",
    "SimilarOutcome",
    "StoreHealth",
    "StoreTimeouts",
    "WriterCounters",
]
