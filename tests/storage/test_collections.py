"""Record collections store the default embedding's vectors folded to 128 dimensions; stores
made before keep 256 and work unchanged."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from toolwise.errors import EmbeddingMismatchError
from toolwise.models import ToolOutcome
from toolwise.storage import collections, failure_index
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.collections import fold, fold_matrix
from toolwise.storage.embeddings import HashingEmbedding
from toolwise.storage.naming import collection_name_for
from toolwise.storage.rows import outcome_document

T0 = datetime(2030, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=1)
TEXTS = [
    "kubectl failure for deploy. Task: roll out api to prod. Error: TimeoutError timed out",
    "helm_upgrade success for release in staging",
    "",
]


def _outcome(minutes: int, tool: str, **fields: Any) -> ToolOutcome:
    return ToolOutcome(tool=tool, timestamp=T0 + timedelta(minutes=minutes), **fields)


def _failure(minutes: int, tool: str, message: str) -> ToolOutcome:
    return _outcome(
        minutes, tool, outcome="failure", error_type="TimeoutError", error_message=message
    )


def _dimension(client: Any, name: str) -> int:
    got = client.get_collection(name, embedding_function=None).get(include=["embeddings"])
    return len(got["embeddings"][0])


def test_a_folded_vector_is_the_hashing_vector_of_half_the_dimension() -> None:
    """crc % 256 % 128 == crc % 128: folding loses nothing HashingEmbedding(128) keeps."""
    folded = np.asarray(fold(HashingEmbedding(256)(TEXTS), 128))
    assert np.allclose(folded, np.asarray(HashingEmbedding(128)(TEXTS)))


def test_fold_keeps_stored_dimensions_and_refuses_others() -> None:
    vectors = HashingEmbedding(128)(TEXTS)
    assert fold(vectors, 128) == vectors
    assert fold(vectors, None) == vectors
    with pytest.raises(EmbeddingMismatchError):
        fold(HashingEmbedding(100)(TEXTS), 128)


def test_an_array_folds_to_exactly_what_its_lists_fold_to() -> None:
    """A batch write folds one array (no lists): the same floats, bit for bit."""
    matrix = np.asarray(HashingEmbedding(256)(TEXTS))
    assert fold_matrix(matrix, 128).tolist() == fold(matrix.tolist(), 128)
    assert fold_matrix(matrix, None) is matrix
    with pytest.raises(EmbeddingMismatchError):
        fold_matrix(np.asarray(HashingEmbedding(100)(TEXTS)), 128)


def test_a_vector_whose_features_cancel_is_still_a_unit_vector() -> None:
    vector = [0.0] * 256
    vector[3], vector[131] = 0.5, -0.5
    (folded,) = fold([vector], 128)
    assert math.isclose(math.fsum(v * v for v in folded), 1.0)


def test_new_record_collections_store_128_dimensions(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """The agent's collection and its failure index; the record and recall are unchanged."""
    failure = _failure(1, "kubectl", "context deadline exceeded")
    store.write([failure, _outcome(2, "helm")])
    assert _dimension(client, collection_name_for("default", prefix)) == 128
    assert (
        _dimension(client, collection_name_for("default", f"{prefix}-{failure_index.KIND}")) == 128
    )
    found = store.similar("default", "kubectl TimeoutError", k=3, now=NOW, outcome="failure")
    assert [hit.outcome for hit in found] == [failure]
    assert [hit.outcome.tool for hit in store.similar("default", "helm", k=1, now=NOW)] == ["helm"]


def test_a_batch_stores_the_vectors_its_records_embed_to(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """Each row and index entry holds its own record's folded vector (as float32, what
    Chroma keeps of any vector), whichever way the batch reached Chroma."""
    batch = [_failure(n, f"tool_{n}", f"error number {n}") for n in range(5)]
    batch += [_outcome(10 + n, f"other_{n}") for n in range(3)]
    store.write(batch)
    expected = fold(HashingEmbedding(256)([outcome_document(o) for o in batch]), 128)
    for name in (prefix, f"{prefix}-{failure_index.KIND}"):
        rows = client.get_collection(
            collection_name_for("default", name), embedding_function=None
        ).get(include=["embeddings", "metadatas"])
        for row_id, vector, meta in zip(
            rows["ids"], rows["embeddings"], rows["metadatas"], strict=True
        ):
            record_id = meta.get(failure_index.RECORD_KEY, row_id)
            at = next(n for n, o in enumerate(batch) if o.id == record_id)
            assert np.array_equal(vector, np.float32(expected[at]))
    assert len(rows["ids"]) == 5  # the index: the failures only


def test_another_embedding_is_stored_as_it_is(client: Any, prefix: str) -> None:
    store = ChromaOutcomeStore(client, prefix=prefix, embedding=HashingEmbedding(64))
    store.write([_outcome(1, "kubectl")])
    assert _dimension(client, collection_name_for("default", prefix)) == 64


def test_a_store_of_the_older_layout_reads_writes_and_recalls_unchanged(
    client: Any, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Collections made before folding keep 256 dimensions: old and new records are read,
    recalled and forgotten alike, and an older toolwise refuses a folded collection."""
    monkeypatch.setattr(collections, "FOLDED", {})  # as the older toolwise made them
    old_failure = _failure(1, "kubectl", "context deadline exceeded")
    old_success = _outcome(2, "helm")
    ChromaOutcomeStore(client, prefix=prefix).write([old_failure, old_success])
    monkeypatch.undo()

    store = ChromaOutcomeStore(client, prefix=prefix)
    new_failure = _failure(3, "terraform_apply", "state lock held")
    store.write([new_failure])
    assert _dimension(client, collection_name_for("default", prefix)) == 256
    assert (
        _dimension(client, collection_name_for("default", f"{prefix}-{failure_index.KIND}")) == 256
    )
    assert store.get([old_failure.id, old_success.id]) == [old_failure, old_success]
    recalled = store.similar("default", "kubectl deadline", k=1, now=NOW, outcome="failure")
    assert [hit.outcome for hit in recalled] == [old_failure]
    recalled = store.similar("default", "terraform_apply lock", k=1, now=NOW, outcome="failure")
    assert [hit.outcome for hit in recalled] == [new_failure]
    assert store.delete("default", tool="kubectl") == 1
    left = store.similar("default", "kubectl", k=5, now=NOW, outcome="failure")
    assert [hit.outcome for hit in left] == [new_failure]
    assert {h.outcome.id for h in store.similar("default", "x", k=5, now=NOW)} == {
        old_success.id,
        new_failure.id,
    }

    folded = ChromaOutcomeStore(client, prefix=f"{prefix}-new")
    folded.write([_outcome(1, "kubectl")])
    name = client.get_collection(
        collection_name_for("default", f"{prefix}-new"), embedding_function=None
    ).metadata["toolwise_embedding"]
    assert name != HashingEmbedding().name  # what an older toolwise compares: it refuses


def test_an_index_older_than_its_collection_keeps_its_own_dimension(
    client: Any, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent's collection made anew (folded) beside a complete index of 256 dimensions:
    writes reach both, recall reads the index."""
    monkeypatch.setattr(collections, "FOLDED", {})
    old = _failure(1, "kubectl", "context deadline exceeded")
    ChromaOutcomeStore(client, prefix=prefix).write([old])
    monkeypatch.undo()
    client.delete_collection(collection_name_for("default", prefix))

    store = ChromaOutcomeStore(client, prefix=prefix)
    new = _failure(2, "terraform_apply", "state lock held")
    store.write([new])
    assert _dimension(client, collection_name_for("default", prefix)) == 128
    assert (
        _dimension(client, collection_name_for("default", f"{prefix}-{failure_index.KIND}")) == 256
    )
    found = store.similar("default", "terraform_apply lock", k=2, now=NOW, outcome="failure")
    assert [hit.outcome for hit in found] == [new]  # the old one's home is gone
