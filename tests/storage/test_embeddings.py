"""The offline hashing embedding: deterministic unit vectors that group related texts."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolwise.errors import InvalidArgumentError
from toolwise.storage.embeddings import EmbeddingFunction, HashingEmbedding, cosine, embed_matrix


def test_vectors_are_unit_length_of_the_declared_dimension() -> None:
    """Every text, even an empty one, becomes a unit vector of `dimension` floats."""
    embed = HashingEmbedding(64)
    for vector in embed(["kubectl success for deploy", "", "!!!"]):
        assert len(vector) == 64
        assert math.isclose(math.fsum(v * v for v in vector), 1.0)


def test_vectors_are_the_same_in_another_process() -> None:
    """CRC32, not Python's salted hash: a restarted app finds its old records."""
    code = "from toolwise.storage.embeddings import HashingEmbedding as H; print(H(32)(['x y'])[0])"
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert other.strip() == str(HashingEmbedding(32)(["x y"])[0])


def test_related_texts_are_closer_than_unrelated_ones() -> None:
    """Same tool and error score above a different tool."""
    embed = HashingEmbedding()
    a, b, c = embed(
        ["kubectl failure Timeout", "kubectl failure Timeout again", "helm_upgrade success"]
    )
    assert cosine(a, b) > cosine(a, c)


def test_name_carries_the_dimension() -> None:
    """Collections remember the embedding by name: the dimension is part of it."""
    assert HashingEmbedding(128).name != HashingEmbedding(256).name
    assert isinstance(HashingEmbedding(), EmbeddingFunction)


def test_too_small_dimension_is_rejected() -> None:
    """Tiny vectors collide too much to be useful."""
    with pytest.raises(InvalidArgumentError) as info:
        HashingEmbedding(8)
    assert info.value.field == "dimension"


def test_cosine_of_a_zero_vector_is_zero() -> None:
    """No division by zero."""
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0


def _reference(text: str, dimension: int) -> list[float]:
    """The hashing embedding as first written, one feature hashed at a time."""
    import math
    import re
    import zlib

    vector = [0.0] * dimension
    for word in re.findall(r"[a-z0-9]+", text.lower().replace("_", " ")):
        padded = f"^{word}$"
        features = [("w:" + word, 1.0)] + [(padded[i : i + 3], 0.5) for i in range(len(padded) - 2)]
        for feature, weight in features:
            digest = zlib.crc32(feature.encode())
            sign = 1.0 if digest & 0x80000000 else -1.0
            vector[digest % len(vector)] += sign * weight
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    return [v / norm for v in vector]


@pytest.mark.parametrize("dimension", [16, 256, 1000])
def test_vectorised_embedding_gives_the_vectors_bit_for_bit(dimension: int) -> None:
    """Cached word features and one NumPy pass per batch change no vector: stored vectors
    stay comparable with the ones written before."""
    texts = [
        "tool_5 failure for task_09. Task: task 09 for service 3. Error: TimeoutError timed out",
        "deploy success in prod",
        "",
        "   ",
        "naïve café ÄÖ 123 456 a_b-c",
        "x" * 3000,
        "deploy deploy deploy",
    ]
    assert HashingEmbedding(dimension)(texts) == [_reference(t, dimension) for t in texts]


_WORDS = st.sampled_from(
    ["kubectl", "deploy", "failure", "success", "for", "Task:", "Error:", "TimeoutError", "_", ""]
)
_TEXTS = st.lists(_WORDS | st.text(max_size=30), max_size=40).map(" ".join) | st.text()


@settings(max_examples=300)
@given(texts=st.lists(_TEXTS, max_size=12), dimension=st.sampled_from([16, 64, 256, 257]))
def test_any_batch_of_texts_embeds_as_the_reference_does(texts: list[str], dimension: int) -> None:
    """Whatever the texts, and whether embedded alone or in a batch, the vectors are the
    reference's, float for float."""
    embed = HashingEmbedding(dimension)
    expected = [_reference(text, dimension) for text in texts]
    assert embed(texts) == expected
    assert [embed([text])[0] for text in texts] == expected


def test_many_record_documents_embed_as_the_reference_does() -> None:
    """Thousands of record-like documents (the write path's batches) match the reference."""
    texts = [
        f"tool_{n % 7} {('success', 'failure')[n % 2]} for task_{n % 50:02d} in prod. "
        f"Task: deploy service {n} to cluster {n % 13}. Error: TimeoutError after {n % 60} s"
        for n in range(3000)
    ]
    assert HashingEmbedding()(texts) == [_reference(text, 256) for text in texts]


class _Listed:
    """An embedding of another kind: lists of floats, as the protocol asks."""

    name = "listed"
    dimension = 3

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        return [[float(len(text)), 1.0, 0.0] for text in texts]


def test_a_batch_writes_array_holds_the_vectors_the_embedding_gives() -> None:
    """``embed_matrix`` (a batch write's vectors, one array) changes no vector."""
    texts = ["kubectl failure for deploy", "", "helm success", "kubectl failure for deploy"]
    hashing = HashingEmbedding(64)
    assert embed_matrix(hashing, texts).tolist() == hashing(texts)
    assert embed_matrix(_Listed(), texts).tolist() == _Listed()(texts)
