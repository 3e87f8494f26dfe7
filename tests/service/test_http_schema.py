"""The API's contract: the committed OpenAPI document, and property tests of every operation.

schemathesis generates requests from the schema for each operation and checks, against the
ASGI app over a real toolwise: never a 5xx, every answer matches the documented schema (status
code, content type, body), and an operation that declares a key refuses a request without
one. The example count is kept small for CI; raise ``EXAMPLES`` locally to dig deeper.

One check is left out: "schema-valid data is accepted". Some rules cannot be said in JSON
Schema — a delete names exactly one of ``tool``/``ids``/``everything``, a cursor must be one
the server issued, an objective needs a positive weight — and those requests rightly get 422.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from toolwise import Toolwise
from toolwise.service import KeyRing, ToolwiseBackend, create_app
from toolwise.service.openapi import openapi_schema
from toolwise.storage.clients import ephemeral_client

COMMITTED = Path(__file__).parents[2] / "docs" / "openapi.json"
EXAMPLES = 12


def test_the_committed_schema_matches_the_app() -> None:
    """``docs/openapi.json`` is the app's schema; regenerate it after changing the API:
    ``python -m toolwise.service.openapi docs/openapi.json``."""
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == openapi_schema(), (
        "docs/openapi.json is stale: run `python -m toolwise.service.openapi docs/openapi.json`"
    )


# schemathesis parametrizes at collection, so the app is built at import (its lazy loader
# does not run under this pytest); the module fixture below closes it.
_HOME = Path(tempfile.mkdtemp(prefix="toolwise-schema-"))
_TW = Toolwise(client=ephemeral_client(), spool_dir=_HOME / "spool", prefix="schemathesis")
_KEYS = KeyRing(_HOME / "keys.json")
_, ADMIN = _KEYS.create(admin=True)
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(ToolwiseBackend(_TW.runtime), keys=_KEYS)
)


@pytest.fixture(scope="module", autouse=True)
def _close_the_app() -> Iterator[None]:
    _TW.record(agent_id="devops", tool="kubectl_deploy", latency_ms=12.0)
    yield
    _TW.close()
    shutil.rmtree(_HOME, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_keeps_its_contract(case: schemathesis.Case) -> None:
    """Generated requests never get a 5xx, answers match the schema, and auth is enforced."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {ADMIN}"}, excluded_checks=[positive_data_acceptance]
    )
