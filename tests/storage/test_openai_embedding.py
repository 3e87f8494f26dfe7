"""OpenAI embeddings (the ``openai`` extra) behind toolwise's embedding protocol."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import respx

from toolwise import OpenAIEmbedding, Toolwise
from toolwise.storage.clients import ephemeral_client


def _embeddings(request: httpx.Request) -> httpx.Response:
    import json

    texts = json.loads(request.content)["input"]
    data = [
        {"object": "embedding", "index": i, "embedding": [float(len(t) % 7), 1.0, float(i)]}
        for i, t in enumerate(texts)
    ]
    return httpx.Response(
        200,
        json={
            "object": "list",
            "data": data,
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        },
    )


def _client() -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test-000000000000000000", http_client=httpx.Client())


def test_openai_embedding_returns_one_vector_per_text_in_order() -> None:
    """Vectors come back in input order, with the requested dimension in the name."""
    with respx.mock:
        respx.post("https://api.openai.com/v1/embeddings").mock(side_effect=_embeddings)
        embedding = OpenAIEmbedding(dimensions=3, client=_client())
        vectors = embedding(["a", "", "abc"])
    assert [v[2] for v in vectors] == [0.0, 1.0, 2.0]
    assert embedding.name == "openai-text-embedding-3-small-3"
    assert embedding.dimension == 3


def test_toolwise_stores_records_with_openai_vectors(tmp_path: Path) -> None:
    """A Toolwise with OpenAI embeddings records and recalls through Chroma."""
    with respx.mock:
        respx.post("https://api.openai.com/v1/embeddings").mock(side_effect=_embeddings)
        embedding = OpenAIEmbedding(dimensions=3, client=_client())
        with Toolwise(
            client=ephemeral_client(),
            spool_dir=tmp_path / "spool",
            prefix="openaiemb",
            embedding=embedding,
        ) as tw:
            tw.record(agent_id="a", tool="search", outcome="failure", error_message="timeout")
            assert tw.flush(timeout=30)
            [hit] = tw.store.similar("a", "search timeout", k=1, now=tw.clock())
    assert hit.outcome.tool == "search"
