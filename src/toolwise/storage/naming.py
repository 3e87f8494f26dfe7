"""Agent ids become Chroma collection names, one-to-one.

Chroma allows 3–512 characters of ``[a-zA-Z0-9._-]``, starting and ending alphanumeric, with no
``..``. An id that is already such a name (and does not look like a mapped one) keeps it:
``{prefix}_{agent_id}``. Every other id is mapped to ``{prefix}_{readable}--{hash}``: its
letters and digits, then 16 hex digits of the SHA-256 of the whole id. The two forms never meet
— a kept id never contains ``--``, a mapped name always does — and two mapped ids share a name
only if they share the readable part *and* 64 bits of hash. Collections also carry the exact
agent id they belong to, checked on every open (:mod:`toolwise.storage.namespaces`), so even a
hash collision is refused rather than mixed.

Stores written by toolwise 0.1 mapped unsafe ids to ``{prefix}_{safe}-{sha8}``, which a safe
id could spell: ``team-devops-<sha8 of "team/devops">`` opened ``team/devops``'s collection.
:func:`legacy_collection_name_for` keeps that mapping so such stores can be found and migrated;
ids whose kept name would look like an old mapped one are now mapped themselves.
"""

from __future__ import annotations

import hashlib
import re

from toolwise.models import check_agent_id

__all__ = [
    "check_agent_id",
    "collection_name_for",
    "legacy_collection_name_for",
    "may_be_shared",
]

_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")
_NOT_READABLE = re.compile(r"[^A-Za-z0-9_]+")
_OLD_MAPPED = re.compile(r"(^|-)[0-9a-f]{8}$")  # the tail the old mapping gave unsafe ids
_HASH_HEX = 16


def _kept(agent_id: str) -> bool:
    """Whether ``agent_id`` names its collection as it is."""
    return (
        bool(_SAFE.match(agent_id))
        and agent_id[-1].isalnum()
        and ".." not in agent_id  # Chroma refuses it
        and "--" not in agent_id  # mapped names have it
        and not _OLD_MAPPED.search(agent_id)  # the old mapping's names: now mapped, never kept
    )


def collection_name_for(agent_id: str, prefix: str = "toolwise") -> str:
    """The collection that holds ``agent_id``'s records (one-to-one: see the module doc).

    Raises:
        InvalidAgentIdError: see :func:`check_agent_id`.
    """
    check_agent_id(agent_id)
    if _kept(agent_id):
        return f"{prefix}_{agent_id}"
    digest = hashlib.sha256(agent_id.encode()).hexdigest()[:_HASH_HEX]
    readable = _NOT_READABLE.sub("-", agent_id).strip("-_")
    return f"{prefix}_{readable or 'id'}--{digest}"


def legacy_collection_name_for(agent_id: str, prefix: str = "toolwise") -> str:
    """The name the first mapping (toolwise 0.1) gave ``agent_id`` (not one-to-one)."""
    check_agent_id(agent_id)
    if _SAFE.match(agent_id) and agent_id[-1].isalnum():
        return f"{prefix}_{agent_id}"
    digest = hashlib.sha256(agent_id.encode()).hexdigest()[:8]
    safe = _UNSAFE_RUN.sub("-", agent_id).strip("-._")
    return f"{prefix}_{safe}-{digest}" if safe else f"{prefix}_{digest}"


def may_be_shared(name: str, prefix: str) -> bool:
    """Whether the old mapping could have given collection ``name`` to two agents: a kept id
    and a mapped one spell it alike only when it ends like a mapped name."""
    start = f"{prefix}_"
    return name.startswith(start) and bool(_OLD_MAPPED.search(name[len(start) :]))
