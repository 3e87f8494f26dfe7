"""Agent namespaces: one collection per agent id, never shared, checked on every open, and
stores written with the old (colliding) naming migrated without mixing or losing records."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolwise.errors import InvalidAgentIdError
from toolwise.models import ToolOutcome
from toolwise.storage import rows
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.collections import AGENT_KEY, COSINE, stamp
from toolwise.storage.embeddings import HashingEmbedding
from toolwise.storage.naming import (
    check_agent_id,
    collection_name_for,
    legacy_collection_name_for,
)
from toolwise.storage.protocol import CallFilter

T0 = datetime(2030, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=1)
SLASHED = "team/devops"
# The safe id that spelt team/devops's collection under the old naming.
LOOKALIKE = f"team-devops-{hashlib.sha256(SLASHED.encode()).hexdigest()[:8]}"
_CHROMA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")


def _call(agent_id: str, minute: int, **fields: Any) -> ToolOutcome:
    fields.setdefault("tool", "kubectl")
    return ToolOutcome(agent_id=agent_id, timestamp=T0 + timedelta(minutes=minute), **fields)


def _ids(found: list[ToolOutcome]) -> set[str]:
    return {o.id for o in found}


def _find(store: ChromaOutcomeStore, agent_id: str) -> list[ToolOutcome]:
    return store.find(agent_id, CallFilter(), limit=100, offset=0, now=NOW)


# -- the mapping ------------------------------------------------------------------------------


def test_the_lookalike_safe_id_no_longer_spells_the_slashed_ids_collection() -> None:
    """The collision the old naming had: now two names."""
    assert legacy_collection_name_for(LOOKALIKE) == legacy_collection_name_for(SLASHED)
    assert collection_name_for(LOOKALIKE) != collection_name_for(SLASHED)


def test_ids_that_are_collection_names_keep_them() -> None:
    """Readable names for the usual ids, as before."""
    assert collection_name_for("devops", "tw") == "tw_devops"
    assert collection_name_for("ops.eu-1_v2", "tw") == "tw_ops.eu-1_v2"


_agent_ids = st.text(
    # Valid ids only: control characters, lone surrogates and invisible format characters
    # (U+202E, a soft hyphen) are refused by check_agent_id.
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Cf")),
    min_size=1,
    max_size=200,
).filter(lambda s: bool(s.strip()))
# Ids near the boundary between kept and mapped: Chroma's alphabet, hex tails, `--`, `..`.
_tricky = st.from_regex(r"[a-f0-9A-Z._/ -]{1,24}", fullmatch=True).filter(lambda s: s.strip())


@settings(max_examples=400, deadline=None)
@given(a=st.one_of(_agent_ids, _tricky), b=st.one_of(_agent_ids, _tricky))
def test_distinct_agent_ids_never_share_a_collection(a: str, b: str) -> None:
    """For any two different valid ids, two different valid Chroma names."""
    name_a, name_b = collection_name_for(a, "tw"), collection_name_for(b, "tw")
    assert (name_a == name_b) == (a == b)
    for name in (name_a, name_b):
        assert _CHROMA_NAME.match(name)
        assert ".." not in name


@settings(max_examples=200, deadline=None)
@given(agent_id=_tricky)
def test_kept_and_mapped_names_cannot_meet(agent_id: str) -> None:
    """A kept id never contains `--`; a mapped name always does: the two forms are apart."""
    name = collection_name_for(check_agent_id(agent_id), "tw")
    kept = name == f"tw_{agent_id}"
    assert kept != ("--" in name[3:])


# -- every open checks the owner --------------------------------------------------------------


def test_records_of_the_lookalike_pair_stay_apart(store: ChromaOutcomeStore) -> None:
    """Listing, counting and forgetting one never touches the other."""
    slashed, lookalike = _call(SLASHED, 1), _call(LOOKALIKE, 2)
    store.write([slashed, lookalike])
    assert _find(store, SLASHED) == [slashed]
    assert _find(store, LOOKALIKE) == [lookalike]
    assert store.delete(LOOKALIKE) == 1
    assert _find(store, SLASHED) == [slashed]
    assert store.agents() == sorted([SLASHED, LOOKALIKE])


def test_a_collection_recording_another_agent_is_refused(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """A collection under an agent's name that records someone else (a hash collision, a
    foreign writer) raises InvalidAgentIdError on read and write; nothing is read or written."""
    name = collection_name_for("ops", prefix)
    squatter = client.get_or_create_collection(
        name, metadata=stamp(AGENT_KEY, "intruder", HashingEmbedding()), embedding_function=None
    )
    with pytest.raises(InvalidAgentIdError, match="belongs to 'intruder'") as info:
        _find(store, "ops")
    assert info.value.field == "agent_id"
    with pytest.raises(InvalidAgentIdError):
        store.write([_call("ops", 1)])
    assert squatter.count() == 0


# -- stores written with the old naming -------------------------------------------------------


def _old_collection(client: Any, prefix: str, owner: str, records: list[ToolOutcome]) -> Any:
    """A collection as toolwise 0.1 wrote it: the old name, ``owner`` in its metadata, and
    ``records`` in it (of any agents: the old naming let two agents share it)."""
    collection = client.get_or_create_collection(
        legacy_collection_name_for(owner, prefix),
        metadata=stamp(AGENT_KEY, owner, HashingEmbedding()),
        configuration=COSINE,
        embedding_function=None,
    )
    collection.upsert(
        ids=[o.id for o in records],
        embeddings=HashingEmbedding()([rows.outcome_document(o) for o in records]),
        metadatas=[rows.outcome_metadata(o) for o in records],
    )
    return collection


@pytest.mark.parametrize("opener", [SLASHED, LOOKALIKE])
def test_a_shared_old_collection_is_untangled_whoever_opens_it_first(
    client: Any, prefix: str, opener: str
) -> None:
    """team/devops's old collection also holds the lookalike's records: each agent reads
    exactly its own, the lookalike's are moved to its own collection, none is lost."""
    slashed = [_call(SLASHED, m, outcome="failure", error_type="Timeout") for m in range(3)]
    lookalike = [_call(LOOKALIKE, 10 + m) for m in range(2)]
    _old_collection(client, prefix, SLASHED, [*slashed, *lookalike])
    store = ChromaOutcomeStore(client, prefix=prefix)

    _find(store, opener)  # the first open migrates
    assert _ids(_find(store, SLASHED)) == _ids(slashed)
    assert _ids(_find(store, LOOKALIKE)) == _ids(lookalike)
    assert store.agents() == sorted([SLASHED, LOOKALIKE])
    found = store.similar(SLASHED, "kubectl Timeout", k=5, now=NOW, outcome="failure")
    assert {hit.outcome.id for hit in found} == _ids(slashed)
    names = {c.name for c in client.list_collections()}
    assert collection_name_for(SLASHED, prefix) in names
    assert collection_name_for(LOOKALIKE, prefix) in names


def test_an_old_collection_of_a_lookalike_id_is_renamed_and_kept(client: Any, prefix: str) -> None:
    """A safe id shaped like an old hashed name (a date suffix) had its own collection under
    the old naming: it is renamed to the new name, records and all."""
    agent = "deploy-20250106"  # 8 hex digits after a dash: now a mapped id
    records = [_call(agent, m) for m in range(3)]
    _old_collection(client, prefix, agent, records)
    store = ChromaOutcomeStore(client, prefix=prefix)
    assert _ids(_find(store, agent)) == _ids(records)
    names = {c.name for c in client.list_collections() if c.name.startswith(f"{prefix}_")}
    assert names == {collection_name_for(agent, prefix)}
    store.write([_call(agent, 9)])
    assert store.count(agent) == 4
    assert store.agents() == [agent]


def test_an_unknown_agent_reads_nothing_from_another_agents_old_collection(
    client: Any, prefix: str
) -> None:
    """The lookalike with no records of its own in team/devops's old collection: empty."""
    _old_collection(client, prefix, SLASHED, [_call(SLASHED, 1)])
    store = ChromaOutcomeStore(client, prefix=prefix)
    assert _find(store, LOOKALIKE) == []
    assert len(_find(store, SLASHED)) == 1


# -- every entry point validates agent ids ----------------------------------------------------


@pytest.mark.parametrize("bad", ["", "   ", "a\x00b", "x" * 201])
def test_priors_and_recommend_refuse_invalid_agent_ids(tw: Any, bad: str) -> None:
    """Like every other entry point: InvalidAgentIdError naming agent_id, nothing learnt."""
    for call in (
        lambda: tw.priors(agent_id=bad),
        lambda: tw.recommend("deploy", ["kubectl"], agent_id=bad),
        lambda: tw.seed_prior("kubectl", 0.9, agent_id=bad),
    ):
        with pytest.raises(InvalidAgentIdError) as info:
            call()
        assert info.value.field == "agent_id"


def test_self_improvement_state_follows_its_agent_to_the_new_name(client: Any, prefix: str) -> None:
    """The knowledge store (lessons, audit, ...) finds an agent's old collection and renames
    it; a collection recording another agent is refused there too."""
    from toolwise.improve.store import ChromaKnowledgeStore, Item

    knowledge = ChromaKnowledgeStore(client, embedding=HashingEmbedding(), prefix=prefix)
    old = client.get_or_create_collection(
        legacy_collection_name_for(SLASHED, f"{prefix}-audit"),
        metadata={"toolwise_improve_agent": SLASHED},
        embedding_function=None,
    )
    old.upsert(ids=["a1"], embeddings=[[1.0]], metadatas=[{"record": "{}", "timestamp": 1.0}])
    assert [item.id for item in knowledge.load("audit", SLASHED)] == ["a1"]
    assert knowledge.load("audit", LOOKALIKE) == []
    assert knowledge.agents("audit") == [SLASHED]
    client.get_or_create_collection(
        collection_name_for("ops", f"{prefix}-audit"),
        metadata={"toolwise_improve_agent": "intruder"},
        embedding_function=None,
    )
    with pytest.raises(InvalidAgentIdError):
        knowledge.put("audit", "ops", [Item(id="a2", payload="{}", timestamp=2.0)])


def test_the_knowledge_store_finds_what_it_writes_after_finding_nothing(
    client: Any, prefix: str
) -> None:
    """A missing collection is remembered as missing (briefs ask for lessons every turn), but
    lessons this store then writes are found at once."""
    from toolwise.improve.store import ChromaKnowledgeStore, Item

    knowledge = ChromaKnowledgeStore(client, embedding=HashingEmbedding(), prefix=prefix)
    assert knowledge.nearest("lessons", "ops", [1.0, 0.0], 3) == []
    assert knowledge.nearest("lessons", "ops", [1.0, 0.0], 3) == []  # remembered as missing
    knowledge.put("lessons", "ops", [Item(id="l1", payload="{}", timestamp=1.0, vector=[1.0, 0.0])])
    assert [item.id for item, _ in knowledge.nearest("lessons", "ops", [1.0, 0.0], 3)] == ["l1"]
