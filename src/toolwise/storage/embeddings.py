"""Embedding functions toolwise passes to Chroma itself, so nothing downloads at run time.

Chroma's default embedding function fetches an ONNX model on first use and fails offline; we
therefore always compute vectors ourselves and hand Chroma ``embeddings=``/``query_embeddings=``.
The default :class:`HashingEmbedding` is offline, deterministic and fast (feature hashing of
words and character trigrams) — good enough to find records about the same tool, task type and
error. :class:`OpenAIEmbedding` (the ``openai`` extra) gives semantic vectors when wanted.
"""

from __future__ import annotations

import math
import operator
import re
import zlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

__all__ = ["EmbeddingFunction", "HashingEmbedding", "OpenAIEmbedding", "cosine"]


@runtime_checkable
class EmbeddingFunction(Protocol):
    """Turns texts into vectors of one fixed dimension.

    ``name`` and ``dimension`` are stored with each collection; reopening a collection with an
    embedding of another name or dimension is refused (vectors would not be comparable).
    """

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def __call__(self, texts: Sequence[str]) -> list[list[float]]: ...


_TOKEN = re.compile(r"[a-z0-9]+")


class HashingEmbedding:
    """Offline feature-hashing embedding: words (weight 1) and char trigrams (weight 0.5).

    Deterministic across processes and machines (CRC32, not Python's salted ``hash``).
    Args:
        dimension: vector size; 256 keeps Chroma fast and collisions rare for short texts.
    """

    def __init__(self, dimension: int = 256) -> None:
        if dimension < 16:
            from toolwise.errors import InvalidArgumentError

            raise InvalidArgumentError("dimension", dimension, "must be at least 16")
        self._dimension = dimension

    @property
    def name(self) -> str:
        return f"toolwise-hashing-v1-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        return [list(self._embed_one(text)) for text in texts]

    def _embed_one(self, text: str) -> tuple[float, ...]:
        return _hash_embed(text, self._dimension)


@lru_cache(maxsize=4096)
def _hash_embed(text: str, dimension: int) -> tuple[float, ...]:
    vector = [0.0] * dimension
    for word in _TOKEN.findall(text.lower().replace("_", " ")):
        for index, weight in _word_features(word, dimension):
            vector[index] += weight
    norm = math.sqrt(sum(map(operator.mul, vector, vector)))
    if norm == 0.0:
        vector[0] = 1.0  # empty text still gets a valid unit vector
        return tuple(vector)
    return tuple([v / norm for v in vector])


@lru_cache(maxsize=65_536)
def _word_features(word: str, dimension: int) -> tuple[tuple[int, float], ...]:
    """Where one word adds to a vector, in order: the word (1), then its trigrams (0.5), each
    as (index, signed weight). Cached: records repeat their words (tool names, task types,
    error words), and hashing each feature again was most of a write's Python time; the
    additions happen in the same order, so vectors are bit for bit those of before."""
    padded = f"^{word}$"
    features = [("w:" + word, 1.0)]
    features += [(padded[i : i + 3], 0.5) for i in range(len(padded) - 2)]
    found = []
    for feature, weight in features:
        digest = zlib.crc32(feature.encode())
        found.append((digest % dimension, weight if digest & 0x80000000 else -weight))
    return tuple(found)


class OpenAIEmbedding:
    """OpenAI embeddings (``pip install toolwise[openai]``); needs network and an API key.

    Args:
        model: embedding model name.
        dimensions: requested vector size (text-embedding-3 models can shorten vectors).
        client: an ``openai.OpenAI`` instance; built from the environment when omitted.
    """

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        dimensions: int = 512,
        client: Any | None = None,
    ) -> None:
        if client is None:
            import openai

            client = openai.OpenAI()
        self._client = client
        self._model = model
        self._dimension = dimensions

    @property
    def name(self) -> str:
        return f"openai-{self._model}-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        inputs = [t or " " for t in texts]  # the API rejects empty strings
        response = self._client.embeddings.create(
            model=self._model, input=inputs, dimensions=self._dimension
        )
        return [list(item.embedding) for item in sorted(response.data, key=lambda d: d.index)]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity, 0.0 when either vector is all zeros."""
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return 0.0 if na == 0.0 or nb == 0.0 else dot / (na * nb)
