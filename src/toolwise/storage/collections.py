"""What toolwise's Chroma collections carry: whose they are, which embedding made them, and
the dimension their vectors are stored at.

**Folded vectors.** A Chroma server's CPU per stored row grows with the vector's dimension
(HNSW insertion, its log): 128 dimensions instead of 256 took 17 % less server CPU per row in
paired runs at 46,000 rows. So a record collection (an agent's, and its failure index) made
now for the default :class:`~toolwise.storage.embeddings.HashingEmbedding` (256) stores its
vectors folded to 128 (:data:`FOLDED`): coordinate ``i`` is added to ``i mod 128`` and the
result normalised. For feature hashing that is exactly the vector the same embedding gives at
128 dimensions (``crc % 256 % 128 == crc % 128``), so recall matches ``HashingEmbedding(128)``;
queries are folded the same way (:func:`fold`). The runtime's embedding is unchanged (task
types, clusters). Collections made before keep their 256-dimension vectors and read, write and
recall as before: the stored dimension is the collection's own (:data:`STORED_KEY`). A folded
collection is stamped with another embedding name, so an older toolwise refuses it
(:class:`~toolwise.errors.EmbeddingMismatchError`) instead of writing vectors Chroma rejects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from toolwise.errors import EmbeddingMismatchError
from toolwise.storage.embeddings import EmbeddingFunction

__all__ = [
    "AGENT_KEY",
    "COSINE",
    "FOLDED",
    "INDEX_OF_KEY",
    "STORED_KEY",
    "check_embedding",
    "fold",
    "fold_matrix",
    "folded",
    "opened",
    "stamp",
    "stored_dimension",
]

AGENT_KEY = "toolwise_agent_id"
INDEX_OF_KEY = "toolwise_failures_of"  # not AGENT_KEY: no agents() may mistake an index
COSINE = {"hnsw": {"space": "cosine"}}
STORED_KEY = "toolwise_stored_dimension"
FOLDED = {"toolwise-hashing-v1-256": 128}
"""Embeddings whose vectors new record collections store folded, and to what dimension."""


def _folded_name(name: str, stored: int) -> str:
    return f"{name}-stored-{stored}"


def folded(embedding: EmbeddingFunction) -> int | None:
    """The dimension a new record collection stores ``embedding``'s vectors at, folded
    (``None``: as embedded)."""
    return FOLDED.get(embedding.name)


def stamp(
    owner_key: str, agent_id: str, embedding: EmbeddingFunction, *, stored: int | None = None
) -> dict[str, Any]:
    """The metadata a new collection is created with: its agent and its embedding, and with
    ``stored`` the dimension its vectors are folded to."""
    meta: dict[str, Any] = {
        owner_key: agent_id,
        "toolwise_embedding": embedding.name,
        "toolwise_dimension": embedding.dimension,
    }
    if stored is not None and stored != embedding.dimension:
        meta["toolwise_embedding"] = _folded_name(embedding.name, stored)
        meta[STORED_KEY] = stored
    return meta


def stored_dimension(collection: Any) -> int | None:
    """The dimension ``collection`` stores its vectors at when folded; ``None``: as embedded."""
    value = (collection.metadata or {}).get(STORED_KEY)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def fold(vectors: Sequence[Sequence[float]], stored: int | None) -> list[list[float]]:
    """``vectors`` as a collection storing ``stored`` dimensions keeps them (``None``: as
    they are): coordinate ``i`` added to ``i mod stored``, then normalised.

    Raises:
        EmbeddingMismatchError: a vector's dimension is not a multiple of ``stored``.
    """
    if stored is None or not len(vectors) or len(vectors[0]) == stored:
        return [list(v) for v in vectors]  # nothing to fold: no NumPy round trip
    result: list[list[float]] = fold_matrix(np.asarray(vectors, dtype=np.float64), stored).tolist()
    return result


def fold_matrix(matrix: npt.NDArray[np.float64], stored: int | None) -> npt.NDArray[np.float64]:
    """:func:`fold` for vectors already in one array (a batch write: no list round trip);
    returns ``matrix`` itself when there is nothing to fold.

    Raises:
        EmbeddingMismatchError: the vectors' dimension is not a multiple of ``stored``.
    """
    if stored is None or not len(matrix) or matrix.shape[-1] == stored:
        return matrix
    if matrix.ndim != 2 or matrix.shape[1] % stored:
        msg = f"vectors of {matrix.shape[-1]} dimensions cannot be stored at {stored}"
        raise EmbeddingMismatchError(msg)
    folded = matrix.reshape(len(matrix), -1, stored).sum(axis=1)
    norms = np.sqrt(np.einsum("ij,ij->i", folded, folded))
    empty = norms == 0.0
    folded[empty, 0] = 1.0  # every feature cancelled out: still a valid unit vector
    norms[empty] = 1.0
    result: npt.NDArray[np.float64] = folded / norms[:, np.newaxis]
    return result


def check_embedding(collection: Any, embedding: EmbeddingFunction) -> None:
    """Refuse a collection written with another embedding: its vectors are not comparable.

    Raises:
        EmbeddingMismatchError: the collection names another embedding.
    """
    stored = (collection.metadata or {}).get("toolwise_embedding")
    dimension = folded(embedding)
    if dimension is not None and stored == _folded_name(embedding.name, dimension):
        return
    if stored is not None and stored != embedding.name:
        msg = (
            f"collection {collection.name!r} was written with embedding {stored!r}, "
            f"not {embedding.name!r}; pass the same embedding or a new prefix"
        )
        raise EmbeddingMismatchError(msg)


def opened(
    client: Any, name: str, *, create: bool, metadata: dict[str, Any], configuration: Any
) -> Any | None:
    """Collection ``name``, made with ``metadata`` and ``configuration`` if ``create``; without
    ``create``, ``None`` when there is none (a store-wide collection nobody wrote to yet)."""
    if create:
        return client.get_or_create_collection(
            name, metadata=metadata, configuration=configuration, embedding_function=None
        )
    try:
        return client.get_collection(name, embedding_function=None)
    except Exception:  # NotFoundError or ValueError, by Chroma version
        return None
