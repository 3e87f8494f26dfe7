"""Who may touch which agent: the bearer key checked against the path's agent id.

- No key configured: everything is allowed, and the server binds only to loopback
  (:func:`check_bind`), so only this machine can reach it.
- With keys: no or an unknown key is ``401``; a key for agent A asking about agent B gets
  ``404``, exactly as if B did not exist, so keys cannot probe for other agents; a read-only
  key writing is ``403``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import TypeAdapter

from toolwise.errors import InvalidAgentIdError, InvalidArgumentError
from toolwise.service.errors import ApiError
from toolwise.service.keys import ApiKey, KeyRing
from toolwise.storage.naming import check_agent_id

__all__ = [
    "AgentPath",
    "Principal",
    "ReadAgent",
    "WriteAgent",
    "check_bind",
    "current_principal",
    "is_loopback",
    "principal_of",
    "writable_agent",
]

_bearer = HTTPBearer(auto_error=False, description="An API key: `toolwise keys create`.")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="toolwise"'}


@dataclass(frozen=True, slots=True)
class Principal:
    """Whoever is calling: a key, or anyone on loopback when no key is configured."""

    key: ApiKey | None

    def allows(self, agent_id: str) -> bool:
        return self.key is None or self.key.allows(agent_id)

    @property
    def read_only(self) -> bool:
        return self.key is not None and self.key.read_only

    @property
    def admin(self) -> bool:
        return self.key is None or self.key.admin


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost``: reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, keys: KeyRing | None) -> None:
    """Refuse to listen beyond loopback without keys.

    Raises:
        InvalidArgumentError: naming ``host``.
    """
    if not is_loopback(host) and (keys is None or not keys.configured):
        raise InvalidArgumentError(
            "host",
            host,
            "no API key is configured, so the server listens on loopback only; "
            "create one with `toolwise keys create --agent NAME` (or `--admin`) first",
        )


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
"""The presented bearer key (declares the scheme in the OpenAPI schema)."""


def _principal(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    keys: KeyRing | None = request.app.state.toolwise.keys
    return principal_of(keys, None if credentials is None else credentials.credentials)


def principal_of(keys: KeyRing | None, token: str | None) -> Principal:
    """The caller presenting ``token`` (``None``: no bearer key was sent).

    Raises:
        ApiError: ``401`` with a challenge: keys are configured and ``token`` is missing,
            unknown or revoked.
    """
    if keys is None or not keys.configured:
        return Principal(None)
    if token is None:
        raise ApiError(401, "unauthorized", "an API key is required", headers=_CHALLENGE)
    key = keys.authenticate(token)
    if key is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API key", headers=_CHALLENGE)
    return Principal(key)


async def current_principal(request: Request, credentials: Credentials) -> Principal:
    """The caller, from ``Authorization: Bearer <key>``."""
    return _principal(request, credentials)


AgentPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        # Printable, not blank: the rule of toolwise.storage.naming.check_agent_id.
        pattern=r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$",
        description="The agent's id: its namespace of records and learning.",
    ),
]


def _agent(agent: str, principal: Principal, *, write: bool) -> str:
    try:
        check_agent_id(agent)
    except InvalidAgentIdError as exc:
        raise ApiError(
            422, "invalid_argument", f"agent: {exc}", field="agent", location="path"
        ) from exc
    if not principal.allows(agent):
        raise ApiError(404, "not_found", f"no agent {agent!r}")
    if write and principal.read_only:
        raise ApiError(403, "forbidden", "this API key is read-only")
    return agent


# The key is checked here rather than through ``current_principal``: every dependency is a
# node FastAPI resolves per request (~10 µs each), and these two guard every agent route.
async def _readable(agent: AgentPath, request: Request, credentials: Credentials) -> str:
    return _agent(agent, _principal(request, credentials), write=False)


async def _writable(agent: AgentPath, request: Request, credentials: Credentials) -> str:
    return _agent(agent, _principal(request, credentials), write=True)


_AGENT_PATH: TypeAdapter[str] = TypeAdapter(AgentPath)


def writable_agent(keys: KeyRing | None, agent: str, token: str | None) -> str:
    """The checks of a :data:`WriteAgent` route, for code that answers before routing.

    ``agent`` is the raw path segment, validated as FastAPI validates the path parameter;
    ``token`` the bearer key as ``HTTPBearer`` reads it. The same functions as the route's
    guard decide, without a ``Request`` or FastAPI's security dependency.

    Raises:
        pydantic.ValidationError: the agent id breaks the path's rule.
        ApiError: ``401``, ``403``, ``404`` or ``422``, as the route would answer.
    """
    return _agent(_AGENT_PATH.validate_python(agent), principal_of(keys, token), write=True)


ReadAgent = Annotated[str, Depends(_readable)]
"""The path's agent id, checked for reading."""

WriteAgent = Annotated[str, Depends(_writable)]
"""The path's agent id, checked for writing (not with a read-only key)."""
