"""What toolwise's Chroma collections carry: whose they are and which embedding made them."""

from __future__ import annotations

from typing import Any

from toolwise.errors import EmbeddingMismatchError
from toolwise.storage.embeddings import EmbeddingFunction

__all__ = ["AGENT_KEY", "COSINE", "INDEX_OF_KEY", "check_embedding", "stamp"]

AGENT_KEY = "toolwise_agent_id"
INDEX_OF_KEY = "toolwise_failures_of"  # not AGENT_KEY: no agents() may mistake an index
COSINE = {"hnsw": {"space": "cosine"}}


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
