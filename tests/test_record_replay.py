"""``record()`` never acknowledges a record that the spool cannot replay after a crash."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from toolwise import InvalidArgumentError, Toolwise
from toolwise.models import OUTCOMES, ToolOutcome
from toolwise.storage.clients import ephemeral_client
from toolwise.storage.spool import Spool


def _unused_url() -> str:
    """A local address nothing listens on: the store is down, so nothing leaves the spool."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _replay_after_a_crash(spool_dir: Path, scratch: Path) -> list[ToolOutcome]:
    """What the next process replays if this one is SIGKILLed now, before the writer stored
    anything: the segments exactly as written, in a directory whose lock nobody holds and
    that has no close marker — what a killed process leaves behind."""
    dead = scratch / "spool" / "inst-99999-deadbeef"
    dead.mkdir(parents=True)
    (dead / ".lock").touch()
    for segment in sorted(spool_dir.glob("inst-*/seg-*.jsonl")):
        shutil.copyfile(segment, dead / segment.name)
    spool = Spool(scratch / "spool", fsync="never")
    try:
        replayed, cursor = spool.read_batch(100_000)
        assert cursor.skipped == 0  # no line was unreadable
        return replayed
    finally:
        spool.close(drained=False)


def _mostly(valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]) -> Any:
    """Three draws in four from ``valid``: enough records get through to be replayed."""
    return st.one_of(valid, valid, valid, hostile)


# Text with every code point, lone surrogates (a badly decoded tool output) included.
_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
_FLOATS = st.floats() | st.sampled_from([5e-324, -0.0, 1.7976931348623157e308, 0.1 + 0.2])
_INTS = st.integers() | st.sampled_from([2**63, -(2**63) - 1, 10**40])
_SCALARS = st.one_of(st.booleans(), _INTS, _FLOATS, _TEXT)
_JSONISH = st.recursive(
    st.none() | _SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner)
)
_ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=23))])
_MOMENTS = st.datetimes(timezones=_ZONES) | st.sampled_from([datetime.max, datetime.min])
_NUMBERS = _mostly(st.floats(0, 1e9) | st.integers(0, 10**6), _FLOATS | _INTS)
_OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "id": _mostly(st.text(min_size=1, max_size=40), _TEXT),
    "agent_id": _mostly(st.sampled_from(["default", "team/ops", "ünïcode"]), _TEXT),
    "task": _JSONISH,
    "task_type": _TEXT,
    "environment": _TEXT,
    "session_id": _TEXT,
    "run_id": _TEXT,
    "tool_call_id": _TEXT,
    "outcome": _mostly(st.sampled_from(OUTCOMES), _TEXT),
    "quality": _mostly(st.none() | st.floats(0, 1) | st.sampled_from([0, 1]), _FLOATS | _INTS),
    "latency_ms": _NUMBERS,
    "cost": _NUMBERS,
    "error_type": _TEXT,
    "error_message": _JSONISH,
    "judged_by": _TEXT,
    "tool_input": _JSONISH,
    "tool_output": _JSONISH,
    "timestamp": _MOMENTS,
    "expires_at": st.none() | _MOMENTS,
    "attempt": _mostly(st.integers(1, 10), _INTS),
    "tags": _mostly(st.lists(_TEXT, max_size=3), st.lists(_TEXT | _INTS, max_size=3)),
    "metadata": _mostly(
        st.dictionaries(_TEXT | _INTS, _SCALARS, max_size=4),
        st.dictionaries(_TEXT | _INTS, _JSONISH, max_size=4),
    ),
    "source": _TEXT,
    "decision_id": _TEXT,
    "recommended_tool": _TEXT,
    "context_key": _TEXT,
}
_FIELDS = st.fixed_dictionaries(
    {"tool": _mostly(st.sampled_from(["deploy", "kubectl apply"]), _TEXT)},
    optional=_OPTIONAL,
)


@pytest.fixture(scope="module")
def down(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Toolwise, Path]]:
    """A toolwise whose store is down: every acknowledged record stays in its spool."""
    root = tmp_path_factory.mktemp("down")
    tw = Toolwise(root, url=_unused_url(), spool_dir=root / "spool")
    yield tw, root / "spool"
    tw.close(timeout=0.1)


# The writer retries the dead store with tenacity's jitter, which draws from the global
# `random` while hypothesis generates; no strategy here uses it.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module")
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fields=_FIELDS)
def test_a_record_is_refused_or_replays_equal_after_a_crash(
    down: tuple[Toolwise, Path], tmp_path_factory: pytest.TempPathFactory, fields: dict[str, Any]
) -> None:
    """For any ``record()`` input: ``InvalidArgumentError`` naming a field, or the record the
    call returned is the record a restart replays from the spool — equal, value types too."""
    tw, spool_dir = down
    try:
        acknowledged = tw.record(**fields)
    except InvalidArgumentError as error:
        refused = error.field  # every refusal names what it refused
        event(f"refused: {refused.split('[')[0]}")
        assert refused
        return
    event("acknowledged")
    replayed = _replay_after_a_crash(spool_dir, tmp_path_factory.mktemp("crash"))
    mine = [r for r in replayed if r.id == acknowledged.id]
    assert mine[-1] == acknowledged
    assert [type(v) for v in mine[-1].metadata.values()] == [
        type(v) for v in acknowledged.metadata.values()
    ]


def _nan_redactor(value: Any) -> Any:
    """A user's redactor with a bug: it turns every metadata value into NaN."""
    return dict.fromkeys(value, float("nan")) if isinstance(value, dict) else value


def test_a_record_a_redactor_made_unreplayable_is_refused_not_acknowledged(
    tmp_path: Path, prefix: str
) -> None:
    """The line check is the backstop behind the builder's own rules: whatever produced the
    record, ``record()`` raises naming the field, and nothing reaches the spool."""
    with Toolwise(
        client=ephemeral_client(),
        spool_dir=tmp_path / "spool",
        prefix=prefix,
        redactor=_nan_redactor,
    ) as tw:
        with pytest.raises(InvalidArgumentError) as info:
            tw.record(tool="deploy", metadata={"w": 0.5})
        assert info.value.field == "metadata['w']"
        counters = tw.counters
        assert (counters.recorded, counters.invalid) == (0, 1)
        spooled = b"".join(p.read_bytes() for p in tmp_path.glob("spool/inst-*/seg-*.jsonl"))
        assert spooled == b""
