"""What toolwise's Chroma collections carry: whose they are, which embedding made them, and
the index settings a new one is made with."""

from __future__ import annotations

from typing import Any

from toolwise.errors import EmbeddingMismatchError
from toolwise.storage.connection import is_remote
from toolwise.storage.embeddings import EmbeddingFunction

__all__ = [
    "AGENT_KEY",
    "COSINE",
    "INDEX_OF_KEY",
    "SERVER_SYNC_THRESHOLD",
    "check_embedding",
    "records_configuration",
    "stamp",
]

AGENT_KEY = "toolwise_agent_id"
INDEX_OF_KEY = "toolwise_failures_of"  # not AGENT_KEY: no agents() may mistake an index
COSINE = {"hnsw": {"space": "cosine"}}
SERVER_SYNC_THRESHOLD = 10_000


def records_configuration(client: Any) -> dict[str, Any]:
    """The configuration a new collection of records (an agent's, or its failure index) is
    made with; an existing collection keeps the one it was made with.

    Every ``sync_threshold`` rows (1,000 by default) Chroma rewrites a collection's id map,
    whole, and its index files: work that grows with the collection. At 55,000 rows a server
    wrote 20 KiB to disk per row stored, 5 KiB with 10,000 (``benchmarks/write_cost.py
    --hnsw``); its CPU per row moved less than the run-to-run noise there, and the rewrite
    grows with every row kept. The rows since are replayed from Chroma's log when the
    collection is next loaded: a server keeps its collections loaded, so only after it
    restarts (at most :data:`SERVER_SYNC_THRESHOLD` rows, once per collection, on its first
    read: ~1.5 s of the server's CPU for 9,500 rows); embedded, at every process start, so
    there Chroma's default stays. Neither changes the graph, so recall is the same.
    """
    if is_remote(client):
        return {"hnsw": {"space": "cosine", "sync_threshold": SERVER_SYNC_THRESHOLD}}
    return COSINE


def stamp(owner_key: str, agent_id: str, embedding: EmbeddingFunction) -> dict[str, Any]:
    """The metadata a new collection is created with: its agent and its embedding."""
    return {
        owner_key: agent_id,
        "toolwise_embedding": embedding.name,
        "toolwise_dimension": embedding.dimension,
    }


def check_embedding(collection: Any, embedding: EmbeddingFunction) -> None:
    """Refuse a collection written with another embedding: its vectors are not comparable.

    Raises:
        EmbeddingMismatchError: the collection names another embedding.
    """
    stored = (collection.metadata or {}).get("toolwise_embedding")
    if stored is not None and stored != embedding.name:
        msg = (
            f"collection {collection.name!r} was written with embedding {stored!r}, "
            f"not {embedding.name!r}; pass the same embedding or a new prefix"
        )
        raise EmbeddingMismatchError(msg)
