"""ChromaOutcomeStore on a real (in-memory) Chroma: upserts, namespaces, embeddings, queries."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from toolwise.errors import (
    EmbeddingMismatchError,
    InvalidAgentIdError,
    InvalidArgumentError,
    StoreUnavailableError,
)
from toolwise.models import ToolOutcome
from toolwise.storage import collections, failure_index, rows
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
    store._connection.max_batch = 40  # the real limit is 5,461; a small one keeps it fast
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


def test_a_client_factory_is_retried_after_it_fails(
    prefix: str, eventually: Callable[..., bool]
) -> None:
    """A server that is down at start-up fails the write (the store turns unhealthy); the
    health probe connects, and the next write goes through."""
    attempts: list[int] = []
    real = ephemeral_client()

    def factory() -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("not up yet")
        return real

    store = ChromaOutcomeStore(factory, prefix=prefix)
    with pytest.raises(StoreUnavailableError):
        store.write([_at(1)])
    assert eventually(lambda: store.health.healthy)
    store.write([_at(2)])
    assert store.count("default") == 1


def test_invalid_prefix_is_rejected_at_construction(client: Any) -> None:
    """A prefix Chroma cannot start a collection name with fails now, naming `prefix`."""
    with pytest.raises(InvalidArgumentError) as info:
        ChromaOutcomeStore(client, prefix="_bad")
    assert info.value.field == "prefix"


# -- the failure index and reads without `where` --------------------------------------------


def _failure(minutes: int, **fields: Any) -> ToolOutcome:
    fields.setdefault("error_type", "TimeoutError")
    fields.setdefault("error_message", "context deadline exceeded")
    return _at(minutes, outcome="failure", **fields)


def _index(client: Any, prefix: str, agent_id: str = "default") -> Any:
    return client.get_collection(
        collection_name_for(agent_id, f"{prefix}-failures"), embedding_function=None
    )


def _ids(found: list[Any]) -> set[str]:
    return {hit.outcome.id for hit in found}


def test_failures_are_recalled_from_their_own_index(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """Failures are also kept in the agent's failure index; recall of failures reads it."""
    failures = [_failure(i, tool=f"tool{i}") for i in range(3)]
    store.write([_at(10), *failures, _at(11, outcome="partial")])
    index = _index(client, prefix)
    assert sorted(index.get(include=[])["ids"]) == sorted(o.id for o in failures)
    found = store.similar("default", "tool1 failure TimeoutError", k=5, now=NOW, outcome="failure")
    assert _ids(found) == {o.id for o in failures}
    assert found[0].outcome == failures[1]  # the full record, read back from its collection
    index.delete(ids=[o.id for o in failures])  # gone from the index: recall can't find them
    assert store.similar("default", "tool1", k=5, now=NOW, outcome="failure") == []


def test_expired_records_are_never_recalled(
    store: ChromaOutcomeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expiry is checked in Python: expired neighbours are skipped, over-fetching if needed."""
    gone = T0 - timedelta(minutes=1)
    expired = [_failure(i, tool="kubectl", expires_at=gone) for i in range(12)]
    live = _failure(20, tool="terraform_apply", error_message="state lock held")
    store.write([*expired, live, _at(30, tool="kubectl", expires_at=gone)])
    query = "kubectl failure TimeoutError context deadline exceeded"
    assert _ids(store.similar("default", query, k=2, now=NOW, outcome="failure")) == {live.id}
    assert _ids(store.similar("default", query, k=2, now=NOW)) == {live.id}
    monkeypatch.setattr(rows, "MAX_FETCH", 4)  # over-fetching gives up: Chroma filters
    assert _ids(store.similar("default", query, k=2, now=NOW, outcome="failure")) == {live.id}
    assert _ids(store.similar("default", query, k=2, now=NOW)) == {live.id}


def test_similar_filters_other_outcomes_without_where(store: ChromaOutcomeStore) -> None:
    """`outcome="success"` (or any other) keeps only that verdict, k at most."""
    successes = [_at(i, tool="kubectl") for i in range(3)]
    store.write([*successes, _failure(5), _at(6, outcome="refused")])
    found = store.similar("default", "kubectl failure", k=2, now=NOW, outcome="success")
    assert len(found) == 2
    assert _ids(found) <= {o.id for o in successes}
    refused = store.similar("default", "kubectl", k=3, now=NOW, outcome="refused")
    assert [s.outcome.outcome for s in refused] == ["refused"]


def test_forgetting_removes_records_from_both_collections(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """Forget by ids, by tool, or everything: the failure index loses the same records."""
    by_id, by_tool, rest = _failure(1), _failure(2, tool="helm"), _failure(3, tool="argo")
    store.write([by_id, by_tool, rest, _at(4, tool="helm")])
    assert store.delete("default", ids=[by_id.id, "unknown"]) == 1
    assert sorted(_index(client, prefix).get(include=[])["ids"]) == sorted([by_tool.id, rest.id])
    assert store.delete("default", tool="helm") == 2
    assert _index(client, prefix).get(include=[])["ids"] == [rest.id]
    assert _ids(store.similar("default", "helm", k=5, now=NOW, outcome="failure")) == {rest.id}
    assert store.delete("default") == 1
    assert _index(client, prefix).count() == 0
    assert store.similar("default", "argo", k=5, now=NOW, outcome="failure") == []


def test_purging_expired_records_cleans_the_failure_index(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """The TTL purge removes expired failures from the index as well."""
    old = _failure(1, expires_at=T0 + timedelta(hours=1))
    kept = _failure(2, expires_at=T0 + timedelta(days=5))
    store.write([old, kept, _at(3, expires_at=T0 + timedelta(hours=1))])
    assert store.purge_expired(NOW) == 2
    assert _index(client, prefix).get(include=[])["ids"] == [kept.id]
    assert store.count("default") == 1


def test_records_missing_from_the_agents_collection_are_not_recalled(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """Hits are confirmed at home: a record removed or rewritten as a success elsewhere (an
    older writer that knew no index) is never recalled, and leaves the index."""
    removed, rewritten, kept = _failure(1), _failure(2), _failure(3)
    store.write([removed, rewritten, kept])
    home = client.get_collection(collection_name_for("default", prefix), embedding_function=None)
    home.delete(ids=[removed.id])
    store.write([rewritten.model_copy(update={"outcome": "success"})])
    found = store.similar("default", "kubectl failure", k=5, now=NOW, outcome="failure")
    assert _ids(found) == {kept.id}
    assert _index(client, prefix).get(include=[])["ids"] == [kept.id]


def test_agents_never_list_failure_indexes_and_namespaces_hold(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """Indexes are not agents, even to an app whose prefix spells an index's; agent `x` and
    agent `x_failures` keep their failures apart."""
    x, x_failures = _failure(1, agent_id="x"), _failure(2, agent_id="x_failures")
    store.write([x, x_failures])
    assert store.agents() == ["x", "x_failures"]
    assert ChromaOutcomeStore(client, prefix=f"{prefix}-failures").agents() == []
    assert _ids(store.similar("x", "kubectl", k=5, now=NOW, outcome="failure")) == {x.id}
    found = store.similar("x_failures", "kubectl", k=5, now=NOW, outcome="failure")
    assert _ids(found) == {x_failures.id}
    assert store.purge_expired(NOW) == 0


def test_a_store_without_failure_index_falls_back_then_builds_it(
    client: Any, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stores from before the index: recall still works (filtered query); the next write
    copies every stored failure into a new index, which recall then uses."""
    monkeypatch.setattr(rows, "PAGE", 2)  # the copy pages through failures
    old = [_failure(i, tool=f"tool{i}") for i in range(5)]
    ChromaOutcomeStore(client, prefix=prefix).write([*old, _at(9)])
    client.delete_collection(collection_name_for("default", f"{prefix}-failures"))

    reopened = ChromaOutcomeStore(client, prefix=prefix)
    found = reopened.similar("default", "tool1", k=10, now=NOW, outcome="failure")
    assert _ids(found) == {o.id for o in old}
    new = _failure(20, tool="tool9")
    reopened.write([new])
    index = _index(client, prefix)
    assert index.metadata[failure_index.STATE_KEY] == failure_index.COMPLETE
    assert sorted(index.get(include=[])["ids"]) == sorted(o.id for o in [*old, new])
    found = reopened.similar("default", "tool1", k=10, now=NOW, outcome="failure")
    assert _ids(found) == {o.id for o in [*old, new]}


def test_an_unfinished_index_is_not_used_and_can_be_built_on_demand(
    client: Any, prefix: str
) -> None:
    """An index not marked complete (a copy that was interrupted) is ignored by recall
    until it is completed, here by `build_failure_index`."""
    failures = [_failure(i) for i in range(3)]
    ChromaOutcomeStore(client, prefix=prefix).write(failures)
    index = _index(client, prefix)
    index.modify(metadata={k: v for k, v in index.metadata.items() if k != "toolwise_index"})
    index.delete(ids=[failures[0].id])  # the copy stopped before this one

    reopened = ChromaOutcomeStore(client, prefix=prefix)
    found = reopened.similar("default", "kubectl", k=5, now=NOW, outcome="failure")
    assert _ids(found) == {o.id for o in failures}  # from the agent's collection
    assert reopened.build_failure_index() == ["default"]
    assert _index(client, prefix).count() == 3
    found = reopened.similar("default", "kubectl", k=5, now=NOW, outcome="failure")
    assert _ids(found) == {o.id for o in failures}


def test_iter_outcomes_reads_every_live_record_once_across_pages(
    store: ChromaOutcomeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paged without `where`: each unexpired record exactly once, oldest first, per agent."""
    monkeypatch.setattr(rows, "PAGE", 3)
    live = [_at(m, agent_id="a") for m in (7, 1, 5, 3, 9, 2, 8)]
    expired = [_at(m, agent_id="a", expires_at=T0 + timedelta(hours=1)) for m in (4, 6)]
    other = [_at(m, agent_id="b") for m in range(4)]
    store.write([*live, *expired, *other])
    records = list(store.iter_outcomes("a", now=NOW))
    assert records == sorted(live, key=lambda o: o.timestamp)
    everything = list(store.iter_outcomes(now=NOW))
    assert sorted(o.id for o in everything) == sorted(o.id for o in [*live, *other])
    assert len(everything) == len(live) + len(other)
    found = store.find("a", CallFilter(), limit=4, offset=2, now=NOW)
    assert found == sorted(live, key=lambda o: o.timestamp, reverse=True)[2:6]
    kubectl = store.find("a", CallFilter(tool="kubectl"), limit=20, offset=0, now=NOW)
    assert len(kubectl) == len(live)


def test_iter_outcomes_orders_a_row_without_a_timestamp_key_by_its_record(
    store: ChromaOutcomeStore,
) -> None:
    """Records are kept as JSON and ordered by the metadata's time; a row written without
    that key (another writer's layout) is ordered by the time in its record."""
    rows_in_order = [_at(m) for m in (1, 2, 3)]
    store.write([rows_in_order[0], rows_in_order[2]])
    middle = rows_in_order[1]
    metadata = {k: v for k, v in rows.outcome_metadata(middle).items() if k not in ("timestamp",)}
    home = store._collection("default")
    vector = collections.fold(store.embedding(["x"]), collections.stored_dimension(home))
    home.upsert(ids=[middle.id], embeddings=vector, metadatas=[metadata])
    assert list(store.iter_outcomes(now=NOW)) == rows_in_order


def test_iter_outcomes_since_returns_only_newer_live_records(
    store: ChromaOutcomeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh reads records from `since` on (inclusive), still never expired ones."""
    monkeypatch.setattr(rows, "PAGE", 2)
    older = [_at(m) for m in range(5)]
    newer = [_at(m) for m in range(5, 10)]
    late_expired = _at(11, expires_at=T0 + timedelta(hours=1))
    store.write([*newer, late_expired, *older])
    since = T0 + timedelta(minutes=5)
    assert list(store.iter_outcomes(since=since, now=NOW)) == newer
    assert list(store.iter_outcomes("default", since=NOW, now=NOW)) == []


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
