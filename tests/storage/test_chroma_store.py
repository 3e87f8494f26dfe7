"""ChromaOutcomeStore on a real (in-memory) Chroma: upserts, namespaces, embeddings, queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from toolwise.errors import EmbeddingMismatchError, InvalidAgentIdError, InvalidArgumentError
from toolwise.models import ToolOutcome
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import ephemeral_client
from toolwise.storage.embeddings import HashingEmbedding
from toolwise.storage.naming import collection_name_for
from toolwise.storage.protocol import CallFilter, OutcomeStore

T0 = datetime(2030, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=1)


def _at(minutes: int, **fields: Any) -> ToolOutcome:
    fields.setdefault("tool", "kubectl")
    return ToolOutcome(timestamp=T0 + timedelta(minutes=minutes), **fields)


@pytest.fixture
def client() -> Any:
    return ephemeral_client()


@pytest.fixture
def store(client: Any, prefix: str) -> ChromaOutcomeStore:
    return ChromaOutcomeStore(client, prefix=prefix)


def test_store_satisfies_the_protocol(store: ChromaOutcomeStore) -> None:
    """The Chroma store is an OutcomeStore (the extension point users implement)."""
    assert isinstance(store, OutcomeStore)


def test_rewriting_a_batch_never_duplicates(store: ChromaOutcomeStore) -> None:
    """A spool replay resends records: upsert keeps one copy per id."""
    batch = [_at(i) for i in range(5)]
    store.write(batch)
    store.write(batch)
    assert store.count("default") == 5


def test_find_returns_newest_first_with_exact_records(store: ChromaOutcomeStore) -> None:
    """Reads are lossless and ordered by time, newest first."""
    batch = [_at(i, latency_ms=float(i), tags=("a", "b"), metadata={"k": 1}) for i in range(4)]
    store.write(batch)
    found = store.find("default", CallFilter(), limit=10, offset=0, now=NOW)
    assert found == batch[::-1]


def test_large_write_is_split_into_client_sized_chunks(store: ChromaOutcomeStore) -> None:
    """More records than one Chroma call may take are written in several calls."""
    store._max_batch = 40  # the real limit is 5,461; a small one keeps the test fast
    store.write([_at(i) for i in range(100)])
    assert store.count("default") == 100


def test_agents_never_see_each_others_records(store: ChromaOutcomeStore) -> None:
    """One collection per agent: reads for A never return B's records."""
    a, b = _at(1, agent_id="alpha"), _at(2, agent_id="beta")
    store.write([a, b])
    assert store.find("alpha", CallFilter(), limit=10, offset=0, now=NOW) == [a]
    assert store.get([b.id], agent_id="alpha") == []
    assert store.get([b.id]) == [b]
    assert store.agents() == ["alpha", "beta"]


def test_prefixes_sharing_a_server_stay_apart(client: Any, prefix: str) -> None:
    """Apps with prefixes `p` and `p_x` on one Chroma list and read only their own agents."""
    short = ChromaOutcomeStore(client, prefix=prefix)
    longer = ChromaOutcomeStore(client, prefix=f"{prefix}_x")
    longer.write([_at(1, agent_id="a")])
    short.write([_at(2, agent_id="b")])
    assert short.agents() == ["b"]
    assert longer.agents() == ["a"]


def test_ids_that_are_not_collection_names_map_to_distinct_namespaces(
    store: ChromaOutcomeStore,
) -> None:
    """`team/devops` and `team-devops` are different agents, each in its own collection."""
    slash, dash = _at(1, agent_id="team/devops"), _at(2, agent_id="team-devops")
    store.write([slash, dash])
    assert store.find("team/devops", CallFilter(), limit=10, offset=0, now=NOW) == [slash]
    assert store.find("team-devops", CallFilter(), limit=10, offset=0, now=NOW) == [dash]
    assert sorted(store.agents()) == ["team-devops", "team/devops"]


def test_reopening_with_another_embedding_is_refused(client: Any, prefix: str) -> None:
    """Vectors of two embeddings are not comparable: reads and writes both refuse."""
    ChromaOutcomeStore(client, embedding=HashingEmbedding(256), prefix=prefix).write([_at(1)])
    other = ChromaOutcomeStore(client, embedding=HashingEmbedding(64), prefix=prefix)
    with pytest.raises(EmbeddingMismatchError, match="toolwise-hashing-v1-256"):
        other.find("default", CallFilter(), limit=10, offset=0, now=NOW)
    with pytest.raises(EmbeddingMismatchError):
        other.write([_at(2)])


def test_empty_id_lists_read_and_delete_nothing(store: ChromaOutcomeStore) -> None:
    """Chroma rejects `get(ids=[])`; the store answers 'nothing' instead of raising."""
    store.write([_at(1)])
    assert store.get([]) == []
    assert store.delete("default", ids=[]) == 0
    assert store.count("default") == 1


def test_reads_of_an_unknown_agent_are_empty(store: ChromaOutcomeStore) -> None:
    """An agent that never recorded has no records, and reading creates nothing."""
    assert store.find("nobody", CallFilter(), limit=10, offset=0, now=NOW) == []
    assert store.count("nobody") == 0
    assert store.delete("nobody") == 0
    assert store.agents() == []


def test_similar_finds_records_about_the_same_thing(store: ChromaOutcomeStore) -> None:
    """The vector query ranks a record on the same tool and error first."""
    store.write(
        [
            _at(1, tool="helm_upgrade", task_type="deploy"),
            _at(2, tool="kubectl", outcome="failure", error_type="Timeout", error_message="slow"),
            _at(3, tool="terraform_apply", task_type="infra"),
        ]
    )
    found = store.similar("default", "kubectl failure Timeout", k=2, now=NOW)
    assert found[0].outcome.tool == "kubectl"
    assert found[0].distance <= found[1].distance
    only_failures = store.similar("default", "anything", k=5, now=NOW, outcome="failure")
    assert [s.outcome.tool for s in only_failures] == ["kubectl"]


def test_a_client_factory_is_retried_after_it_fails(prefix: str) -> None:
    """A server that is down at start-up fails the write; the next write connects."""
    attempts: list[int] = []
    real = ephemeral_client()

    def factory() -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("not up yet")
        return real

    store = ChromaOutcomeStore(factory, prefix=prefix)
    with pytest.raises(ConnectionError):
        store.write([_at(1)])
    store.write([_at(2)])
    assert store.count("default") == 1


def test_invalid_prefix_is_rejected_at_construction(client: Any) -> None:
    """A prefix Chroma cannot start a collection name with fails now, naming `prefix`."""
    with pytest.raises(InvalidArgumentError) as info:
        ChromaOutcomeStore(client, prefix="_bad")
    assert info.value.field == "prefix"


# -- agent id → collection name ------------------------------------------------------------

_CHROMA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")


@pytest.mark.parametrize(
    "agent_id", ["devops", "team/devops", "Déploiement", "agent-", "a", "x" * 200, "日本"]
)
def test_every_valid_agent_id_maps_to_a_chroma_name(agent_id: str, client: Any) -> None:
    """Mapped names obey Chroma's rules, and Chroma accepts them."""
    name = collection_name_for(agent_id)
    assert _CHROMA_NAME.match(name)
    client.get_or_create_collection(name, embedding_function=None)
    assert collection_name_for(agent_id) == name  # stable


def test_safe_agent_ids_map_readably() -> None:
    """Ids that are already valid names are kept as they are, after the prefix."""
    assert collection_name_for("devops", "tw") == "tw_devops"


@pytest.mark.parametrize(
    "agent_id", ["", "   ", "a\nb", "tab\there", "nul\x00", "del\x7f", "x" * 201]
)
def test_unusable_agent_ids_raise_naming_agent_id(agent_id: str) -> None:
    """Blank, control characters or too long: InvalidAgentIdError with field `agent_id`."""
    with pytest.raises(InvalidAgentIdError) as info:
        collection_name_for(agent_id)
    assert info.value.field == "agent_id"
