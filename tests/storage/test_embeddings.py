"""The offline hashing embedding: deterministic unit vectors that group related texts."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from toolwise.errors import InvalidArgumentError
from toolwise.storage.embeddings import EmbeddingFunction, HashingEmbedding, cosine


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
