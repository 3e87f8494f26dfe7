"""Agent ids become Chroma collection names: validated, or mapped with a stable hash suffix."""

from __future__ import annotations

import hashlib
import re

from toolwise.models import check_agent_id

__all__ = ["check_agent_id", "collection_name_for"]

_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")


def collection_name_for(agent_id: str, prefix: str = "toolwise") -> str:
    """The collection that holds ``agent_id``'s records.

    Chroma allows 3–512 characters of ``[a-zA-Z0-9._-]`` starting and ending alphanumeric.
    Safe ids map to ``{prefix}_{agent_id}``; other printable ids (``team/devops``,
    ``Déploiement``) are mapped to their safe characters plus an 8-hex hash of the original, so
    two different ids never share a namespace.

    Raises:
        InvalidAgentIdError: see :func:`check_agent_id`.
    """
    check_agent_id(agent_id)
    if _SAFE.match(agent_id) and agent_id[-1].isalnum():
        return f"{prefix}_{agent_id}"
    digest = hashlib.sha256(agent_id.encode()).hexdigest()[:8]
    safe = _UNSAFE_RUN.sub("-", agent_id).strip("-._")
    return f"{prefix}_{safe}-{digest}" if safe else f"{prefix}_{digest}"
