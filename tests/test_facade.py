"""The tracking API of ``Toolwise``: record, list, get, summary, forget, TTL — on real Chroma."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import tool
from tests.conftest import FakeClock

from toolwise import (
    InvalidAgentIdError,
    InvalidArgumentError,
    SecretRedactor,
    ToolOutcome,
    Toolwise,
)
from toolwise.errors import EmbeddingMismatchError, StoreError
from toolwise.recording.redact import REDACTED
from toolwise.storage import HashingEmbedding
from toolwise.storage.clients import ephemeral_client

T0 = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def tw(tmp_path: Path, prefix: str, clock: FakeClock) -> Iterator[Toolwise]:
    """An in-memory Toolwise whose clock the test controls."""
    instance = Toolwise(
        client=ephemeral_client(), spool_dir=tmp_path / "spool", prefix=prefix, clock=clock
    )
    yield instance
    instance.close()


def _make_tw(tmp_path: Path, prefix: str, **options: Any) -> Toolwise:
    return Toolwise(
        client=ephemeral_client(), spool_dir=tmp_path / "spool", prefix=prefix, **options
    )


# -- round trip ----------------------------------------------------------------------------


def test_round_trip_returns_identical_records(any_tw: Toolwise) -> None:
    """What record() returned is what list_calls() and get_call() give back, field by field."""
    recorded = [
        any_tw.record(
            tool="kubectl_deploy",
            agent_id="devops",
            outcome="failure",
            quality=0.25,
            latency_ms=1234.5,
            cost=0.02,
            error_type="Timeout",
            error_message="no answer in 30 s",
            tool_input='{"service": "api"}',
            tool_output="",
            task_type="production_deploy",
            environment="production",
            session_id="s-1",
            tags=("friday", "freeze"),
            metadata={"region": "eu", "replicas": 3, "canary": True},
            timestamp=datetime.now(UTC) - timedelta(minutes=1),
        ),
        any_tw.record(tool="helm_upgrade", agent_id="devops", latency_ms=88.0),
    ]
    assert any_tw.flush(timeout=30)
    assert any_tw.list_calls("devops") == recorded[::-1]
    for outcome in recorded:
        assert any_tw.get_call(outcome.id) == outcome
        assert any_tw.get_call(outcome.id, agent_id="devops") == outcome


def test_record_accepts_a_built_outcome(ephemeral_tw: Toolwise) -> None:
    """A ToolOutcome can be recorded as is; expires_at is filled in from the TTL."""
    built = ToolOutcome(tool="search", latency_ms=5.0)
    stored = ephemeral_tw.record(built)
    assert stored.id == built.id
    assert stored.expires_at == built.timestamp + timedelta(days=30)
    assert ephemeral_tw.get_call(built.id) == stored


def test_record_refuses_an_outcome_and_fields_together(ephemeral_tw: Toolwise) -> None:
    """Either a ToolOutcome or its fields, never both."""
    with pytest.raises(InvalidArgumentError) as info:
        ephemeral_tw.record(ToolOutcome(tool="t"), latency_ms=3.0)
    assert info.value.field == "fields"


def test_records_survive_close_and_reopen(tmp_path: Path) -> None:
    """On disk, a new Toolwise on the same path reads what the last one wrote."""
    with Toolwise(tmp_path) as first:
        kept = first.record(tool="terraform_apply", latency_ms=9.0)
    with Toolwise(tmp_path) as second:
        assert second.get_call(kept.id) == kept


def test_after_close_reads_say_so_and_log_no_outage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A read after close() is refused naming the close; building the view then used to fail
    on the closed store and log an outage "caught up when the store answers"."""
    tw = Toolwise(tmp_path)
    tw.record(tool="terraform_apply", outcome="success")
    tw.close()

    for read in (lambda: tw.recommend("deploy", ["terraform_apply", "helm"]), tw.priors):
        with pytest.raises(StoreError, match="closed"):
            read()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_after_close_the_view_learnt_before_still_answers(tmp_path: Path) -> None:
    with Toolwise(tmp_path) as tw:
        tw.record(tool="terraform_apply", outcome="success")
        tw.flush()
        before = tw.recommend("deploy", ["terraform_apply"])
    assert tw.recommend("deploy", ["terraform_apply"])[0].observations == before[0].observations


# -- model validation through record() ------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"latency_ms": -1.0}, "latency_ms"),
        ({"latency_ms": float("nan")}, "latency_ms"),
        ({"cost": float("inf")}, "cost"),
        ({"outcome": "maybe"}, "outcome"),
        ({"quality": 1.5}, "quality"),
        ({"quality": -0.1}, "quality"),
        ({"tool": ""}, "tool"),
        ({"tool": "   "}, "tool"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
def test_invalid_fields_raise_naming_the_field(
    ephemeral_tw: Toolwise, fields: dict[str, Any], field: str
) -> None:
    """A bad field raises InvalidArgumentError with `.field` set, and nothing is recorded."""
    with pytest.raises(InvalidArgumentError) as info:
        ephemeral_tw.record(**{"tool": "t", **fields})
    assert info.value.field == field
    assert field in str(info.value)
    assert ephemeral_tw.counters.recorded == 0


@pytest.mark.parametrize("agent_id", ["", "  ", "bad\nid", "nul\x00", "x" * 201])
def test_unusable_agent_id_is_refused_everywhere(ephemeral_tw: Toolwise, agent_id: str) -> None:
    """record, callback and reads all raise InvalidAgentIdError naming `agent_id`."""
    attempts: list[Callable[[], object]] = [
        lambda: ephemeral_tw.record(tool="t", agent_id=agent_id),
        lambda: ephemeral_tw.callback(agent_id=agent_id),
        lambda: ephemeral_tw.list_calls(agent_id),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidAgentIdError) as info:
            attempt()
        assert info.value.field == "agent_id"
    assert ephemeral_tw.counters.recorded == 0


# -- namespaces -----------------------------------------------------------------------------


def test_agents_read_only_their_own_records(ephemeral_tw: Toolwise) -> None:
    """A's reads never return B's records; get_call with agent_id stays in that namespace."""
    a = ephemeral_tw.record(tool="search", agent_id="agent-a")
    b = ephemeral_tw.record(tool="search", agent_id="agent-b")
    assert ephemeral_tw.list_calls("agent-a") == [a]
    assert ephemeral_tw.list_calls("agent-b") == [b]
    assert ephemeral_tw.get_call(b.id, agent_id="agent-a") is None
    assert ephemeral_tw.get_call(b.id) == b
    assert ephemeral_tw.summary("agent-a").total_calls == 1
    assert ephemeral_tw.summary().total_calls == 2


def test_agent_ids_with_slashes_map_to_their_own_namespace(ephemeral_tw: Toolwise) -> None:
    """`team/devops` works as an agent id and does not mix with `team-devops`."""
    slash = ephemeral_tw.record(tool="kubectl", agent_id="team/devops")
    dash = ephemeral_tw.record(tool="kubectl", agent_id="team-devops")
    assert ephemeral_tw.list_calls("team/devops") == [slash]
    assert ephemeral_tw.list_calls("team-devops") == [dash]


def test_reopening_with_another_embedding_raises(tmp_path: Path) -> None:
    """A store written with one embedding refuses reads with another."""
    with Toolwise(tmp_path, embedding=HashingEmbedding(256)) as first:
        first.record(tool="t")
    with (
        Toolwise(tmp_path, embedding=HashingEmbedding(128)) as second,
        pytest.raises(EmbeddingMismatchError),
    ):
        second.list_calls()


# -- TTL ------------------------------------------------------------------------------------


def test_expired_records_are_hidden_then_purged(tw: Toolwise, clock: FakeClock) -> None:
    """Past its TTL a record leaves list, get and summary; purge_expired deletes it."""
    old = tw.record(tool="ansible_run", timestamp=T0)
    fresh = tw.record(tool="ansible_run", timestamp=T0 + timedelta(days=20))
    assert tw.list_calls() == [fresh, old]

    clock.now = T0 + timedelta(days=31)  # old expired at T0 + 30 d; fresh lives to T0 + 50 d
    assert tw.list_calls() == [fresh]
    assert tw.get_call(old.id) is None
    assert tw.summary().total_calls == 1
    assert tw.purge_expired() == 1

    clock.now = T0  # the record is gone for good, not merely hidden
    assert tw.list_calls() == [fresh]
    assert tw.store.count("default") == 1


def test_a_backfill_older_than_the_ttl_is_refused_not_lost(tw: Toolwise, clock: FakeClock) -> None:
    """A record that would expire at once is refused naming timestamp: never counted as
    written and then hidden from every read."""
    with pytest.raises(InvalidArgumentError) as info:
        tw.record(tool="ansible_run", timestamp=clock.now - timedelta(days=31))
    assert info.value.field == "timestamp"
    tw.flush()
    assert tw.list_calls() == []
    assert tw.summary().total_calls == 0


def test_records_without_ttl_never_expire(tmp_path: Path, prefix: str, clock: FakeClock) -> None:
    """ttl=None keeps records until they are forgotten."""
    with _make_tw(tmp_path, prefix, ttl=None, clock=clock) as tw:
        kept = tw.record(tool="t", timestamp=T0)
        assert kept.expires_at is None
        clock.now = T0 + timedelta(days=10_000)
        assert tw.purge_expired() == 0
        assert tw.list_calls() == [kept]


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(seconds=-1)])
def test_non_positive_ttl_is_rejected(tmp_path: Path, ttl: timedelta) -> None:
    """A TTL must be positive (or None)."""
    with pytest.raises(InvalidArgumentError) as info:
        Toolwise(client=ephemeral_client(), spool_dir=tmp_path, ttl=ttl)
    assert info.value.field == "ttl"


# -- forget ---------------------------------------------------------------------------------


def test_forget_a_retired_tool(ephemeral_tw: Toolwise) -> None:
    """forget(tool=...) deletes that tool's records only."""
    for _ in range(3):
        ephemeral_tw.record(tool="old_tool")
    kept = ephemeral_tw.record(tool="new_tool")
    assert ephemeral_tw.forget(tool="old_tool") == 3
    assert ephemeral_tw.list_calls() == [kept]


def test_forget_by_ids(ephemeral_tw: Toolwise) -> None:
    """forget(ids=...) deletes exactly those records; unknown ids are ignored."""
    a, b, c = (ephemeral_tw.record(tool="t", latency_ms=float(i)) for i in range(3))
    assert ephemeral_tw.forget(ids=[a.id, c.id, "no-such-id"]) == 2
    assert ephemeral_tw.list_calls() == [b]
    for nothing in ([], ["", " "]):  # an empty id list is a mistake, never "everything"
        with pytest.raises(InvalidArgumentError) as info:
            ephemeral_tw.forget(ids=nothing)
        assert info.value.field == "ids"
    assert ephemeral_tw.list_calls() == [b]


def test_forget_everything_of_one_agent(ephemeral_tw: Toolwise) -> None:
    """forget(agent) with no filter empties that agent only."""
    ephemeral_tw.record(tool="t", agent_id="gone")
    other = ephemeral_tw.record(tool="t", agent_id="stays")
    assert ephemeral_tw.forget("gone") == 1
    assert ephemeral_tw.list_calls("gone") == []
    assert ephemeral_tw.list_calls("stays") == [other]


def test_forget_refuses_tool_and_ids_together(ephemeral_tw: Toolwise) -> None:
    """One selection at a time, named in the error."""
    with pytest.raises(InvalidArgumentError) as info:
        ephemeral_tw.forget(tool="t", ids=["x"])
    assert info.value.field == "ids"


# -- listing --------------------------------------------------------------------------------


@pytest.fixture
def history(ephemeral_tw: Toolwise) -> list[ToolOutcome]:
    """25 calls a minute apart: tools alternate, sessions in threes, every 4th a failure."""
    return [
        ephemeral_tw.record(
            tool=("search", "fetch")[i % 2],
            session_id=f"s{i % 3}",
            outcome="failure" if i % 4 == 0 else "success",
            timestamp=datetime.now(UTC) - timedelta(hours=1) + timedelta(minutes=i),
        )
        for i in range(25)
    ]


def test_pages_are_newest_first_and_contiguous(
    ephemeral_tw: Toolwise, history: list[ToolOutcome]
) -> None:
    """limit/offset walk the history newest first without gaps or overlaps."""
    newest_first = history[::-1]
    assert ephemeral_tw.list_calls(limit=10) == newest_first[:10]
    assert ephemeral_tw.list_calls(limit=10, offset=10) == newest_first[10:20]
    assert ephemeral_tw.list_calls(limit=10, offset=20) == newest_first[20:]
    assert ephemeral_tw.list_calls(offset=25) == []


def test_filters_select_by_tool_session_success_and_time(
    ephemeral_tw: Toolwise, history: list[ToolOutcome]
) -> None:
    """tool, session_id, success_only and since each narrow the listing as documented."""
    newest_first = history[::-1]
    assert ephemeral_tw.list_calls(tool="fetch") == [o for o in newest_first if o.tool == "fetch"]
    assert ephemeral_tw.list_calls(session_id="s1") == [
        o for o in newest_first if o.session_id == "s1"
    ]
    assert ephemeral_tw.list_calls(success_only=True) == [
        o for o in newest_first if o.outcome == "success"
    ]
    since = history[20].timestamp
    assert ephemeral_tw.list_calls(since=since) == newest_first[:5]
    assert ephemeral_tw.list_calls(tool="search", session_id="s0", success_only=True) == [
        o
        for o in newest_first
        if o.tool == "search" and o.session_id == "s0" and o.outcome == "success"
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"limit": 0}, "limit"), ({"limit": 1_001}, "limit"), ({"offset": -1}, "offset")],
)
def test_paging_arguments_are_validated(
    ephemeral_tw: Toolwise, kwargs: dict[str, int], field: str
) -> None:
    """Out-of-range limit or offset raises InvalidArgumentError naming the argument."""
    with pytest.raises(InvalidArgumentError) as info:
        ephemeral_tw.list_calls(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


# -- summary --------------------------------------------------------------------------------


def test_summary_arithmetic_matches_hand_computed_numbers(ephemeral_tw: Toolwise) -> None:
    """Counts, success rates, mean/p50/p95 latency and cost, worked out by hand."""
    kubectl_calls = [(100, "success"), (200, "success"), (300, "failure"), (400, "partial")]
    for latency, outcome in kubectl_calls:
        ephemeral_tw.record(
            tool="kubectl",
            outcome=outcome,
            latency_ms=float(latency),
            cost=0.5,
            error_type="Timeout" if outcome == "failure" else "",
            error_message="deadline" if outcome == "failure" else "",
        )
    ephemeral_tw.record(tool="helm", latency_ms=50.0, cost=0.1)
    ephemeral_tw.record(tool="helm", outcome="refused", latency_ms=999.0)

    summary = ephemeral_tw.summary()
    assert summary.total_calls == 6
    assert summary.success_rate == pytest.approx(3 / 5)  # refusals did not run
    assert summary.total_cost == pytest.approx(2.1)
    kubectl, helm = summary.tools  # most-called first
    assert (kubectl.name, kubectl.call_count, kubectl.success_count) == ("kubectl", 4, 2)
    assert (kubectl.partial_count, kubectl.failure_count) == (1, 1)
    assert kubectl.success_rate == pytest.approx(0.5)
    assert kubectl.mean_latency_ms == pytest.approx(250.0)
    assert kubectl.p50_latency_ms == pytest.approx(250.0)
    assert kubectl.p95_latency_ms == pytest.approx(385.0)  # 300 + 0.85 × (400 − 300)
    assert kubectl.total_cost == pytest.approx(2.0)
    assert kubectl.last_error == "Timeout: deadline"
    assert (helm.name, helm.call_count, helm.refused_count) == ("helm", 2, 1)
    assert helm.success_rate == pytest.approx(1.0)
    assert helm.mean_latency_ms == helm.p50_latency_ms == helm.p95_latency_ms == 50.0
    assert helm.total_cost == pytest.approx(0.1)


def test_summary_since_counts_only_later_calls(ephemeral_tw: Toolwise) -> None:
    """`since` drops older records from every figure."""
    now = datetime.now(UTC)
    ephemeral_tw.record(tool="t", timestamp=now - timedelta(days=2), outcome="failure")
    ephemeral_tw.record(tool="t", timestamp=now - timedelta(hours=1))
    recent = ephemeral_tw.summary(since=now - timedelta(days=1))
    assert (recent.total_calls, recent.success_rate) == (1, 1.0)


def test_summary_of_nothing_is_zero(ephemeral_tw: Toolwise) -> None:
    """An agent with no calls has an empty summary, not an error."""
    summary = ephemeral_tw.summary("nobody")
    assert (summary.total_calls, summary.success_rate, summary.tools) == (0, 0.0, [])


# -- redaction through a real tool call -----------------------------------------------------


@tool
def login(user: str, password: str, headers: dict[str, str]) -> str:
    """Log in and return a session token."""
    return f"welcome {user}; token=tok_{user}_9f8e7d6c5b4a key sk-proj-{'A1b2C3d4' * 3}"


_LOGIN_ARGS = {
    "user": "ada",
    "password": "hunter2-correct-horse",
    "headers": {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "X-Trace": "t-1"},
}
_SECRETS = ("hunter2-correct-horse", "eyJhbGciOiJIUzI1NiJ9", "tok_ada_9f8e7d6c5b4a", "A1b2C3d4")


def _record_login(tw: Toolwise) -> ToolOutcome:
    result = login.invoke(_LOGIN_ARGS, config={"callbacks": [tw.callback(agent_id="auth")]})
    assert "sk-proj-" in result  # the tool's own result is untouched
    (call,) = tw.list_calls("auth")
    return call


def test_secrets_never_reach_the_store(ephemeral_tw: Toolwise) -> None:
    """Passwords, bearer headers, tokens in output and API keys are stored redacted."""
    call = _record_login(ephemeral_tw)
    stored = call.tool_input + call.tool_output
    for secret in _SECRETS:
        assert secret not in stored
    assert json.loads(call.tool_input)["password"] == REDACTED
    assert json.loads(call.tool_input)["headers"]["X-Trace"] == "t-1"  # the rest is kept
    assert call.tool_output.startswith("welcome ada; token=[REDACTED]")


def test_redaction_can_be_turned_off(tmp_path: Path, prefix: str) -> None:
    """redactor=None stores payloads as given."""
    with _make_tw(tmp_path, prefix, redactor=None) as tw:
        call = _record_login(tw)
    assert json.loads(call.tool_input)["password"] == "hunter2-correct-horse"


def test_extra_secret_keys_are_redacted(tmp_path: Path, prefix: str) -> None:
    """A redactor with extra keys hides those too, in mappings and in text."""

    @tool
    def enroll(name: str, ssn: str) -> str:
        """Enroll a person."""
        return f"enrolled ssn={ssn}"

    with _make_tw(tmp_path, prefix, redactor=SecretRedactor().with_keys(["ssn"])) as tw:
        enroll.invoke({"name": "ada", "ssn": "078-05-1120"}, config={"callbacks": [tw.callback()]})
        (call,) = tw.list_calls()
    assert "078-05-1120" not in call.tool_input + call.tool_output
    assert json.loads(call.tool_input)["name"] == "ada"


class Opaque:
    """Neither JSON nor a message: stored as its text form."""

    def __str__(self) -> str:
        return "Opaque(" + "z" * 5_000 + ")"


class Hostile:
    """An object whose text form itself fails."""

    def __str__(self) -> str:
        raise RuntimeError("no text for you")


@pytest.mark.parametrize(
    "output",
    [
        "x" * 10_000,
        {"rows": list(range(5_000))},
        Opaque(),
        {"when": datetime(2030, 1, 1, tzinfo=UTC), "blob": b"\x00\xff", "set": {1, 2}},
        Hostile(),
    ],
    ids=["long-text", "big-dict", "opaque-object", "non-json-values", "broken-str"],
)
def test_oversized_or_odd_outputs_are_stored_as_bounded_text(
    tmp_path: Path, prefix: str, output: object
) -> None:
    """Any output is stored as text of at most max_payload_chars plus the marker; never raises."""

    @tool
    def produce() -> object:
        """Return something awkward."""
        return output

    with _make_tw(tmp_path, prefix, max_payload_chars=500) as tw:
        assert produce.invoke({}, config={"callbacks": [tw.callback()]}) is output
        (call,) = tw.list_calls()
        assert tw.counters.invalid == 0
    assert call.outcome == "success"
    assert call.tool_output
    assert len(call.tool_output) <= 500 + len("…[truncated 1000000 chars]")


def test_truncated_payload_says_how_much_was_cut(tmp_path: Path, prefix: str) -> None:
    """The marker tells a reader the text is incomplete and by how much."""

    @tool
    def shout() -> str:
        """Return a long text."""
        return "a" * 1_200

    with _make_tw(tmp_path, prefix, max_payload_chars=1_000) as tw:
        shout.invoke({}, config={"callbacks": [tw.callback()]})
        (call,) = tw.list_calls()
    assert call.tool_output == "a" * 1_000 + "…[truncated 200 chars]"


def test_array_outputs_are_recorded(tmp_path: Path, prefix: str) -> None:
    """Outputs whose `== ""` is element-wise (numpy arrays) are recorded, not lost."""
    import numpy as np

    @tool
    def matrix() -> object:
        """Return an array."""
        return np.arange(4)

    with _make_tw(tmp_path, prefix) as tw:
        matrix.invoke({}, config={"callbacks": [tw.callback()]})
        (call,) = tw.list_calls()
    assert call.tool_output == "[0 1 2 3]"


def test_direct_records_are_redacted_and_stamped_by_the_injected_clock(tmp_path):
    """tw.record() redacts and renders inputs like the automatic paths, at the clock's time."""
    from datetime import UTC, datetime

    from toolwise import Toolwise
    from toolwise.storage.clients import ephemeral_client

    moment = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    with Toolwise(
        client=ephemeral_client(),
        spool_dir=tmp_path / "spool",
        prefix="directrec",
        clock=lambda: moment,
    ) as tw:
        stored = tw.record(
            tool="deploy",
            tool_input={"service": "api", "password": "hunter2"},
            error_message="auth failed for token=abc123def",
        )
        assert stored.timestamp == moment
        assert "hunter2" not in stored.tool_input
        assert '"service": "api"' in stored.tool_input
        assert "abc123def" not in stored.error_message


def test_a_malformed_server_url_is_refused_at_construction(tmp_path):
    """A url without a scheme fails at once, naming url, instead of retrying forever."""
    import pytest

    from toolwise import InvalidArgumentError, Toolwise

    with pytest.raises(InvalidArgumentError) as raised:
        Toolwise(url="localhost:8000", spool_dir=tmp_path / "spool")
    assert raised.value.field == "url"


@pytest.mark.parametrize(
    "label", ["x" * 600, "password=" + "hunter2-" * 3], ids=["too long", "secret-looking"]
)
def test_a_label_the_builder_rewrites_still_finds_its_records(tw: Toolwise, label: str) -> None:
    """priors and recommend ask about a label in the form it was stored in (cut, redacted)."""
    tw.record(tool="helm", outcome="failure", task_type=label, environment=label)
    tw.record(tool="kubectl", outcome="success", task_type=label, environment=label)
    assert tw.list_calls()[0].task_type != label
    [prior] = tw.priors(tool="helm", task_type=label, environment=label)
    assert prior.observations == 1
    ranked = tw.recommend(label, ["helm", "kubectl"], environment=label)
    assert sorted(r.observations for r in ranked) == [1, 1]


def test_list_calls_finds_a_session_stored_as_its_digest(tw: Toolwise) -> None:
    """A session id holding a secret is stored as ``redacted-<digest>``; filtering by the id
    as given found nothing (nor did ``GET .../calls?session_id=`` or ``calls --session``)."""
    session = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
    recorded = tw.record(tool="helm", session_id=session)
    assert recorded.session_id.startswith("redacted-")
    assert tw.list_calls(session_id=session) == [recorded]
    assert tw.list_calls(session_id=recorded.session_id) == [recorded]


@pytest.mark.parametrize(
    "label", ["x" * 600, "password=" + "hunter2-" * 3], ids=["too long", "secret-looking"]
)
def test_a_seeded_prior_applies_to_a_label_the_builder_rewrites(tw: Toolwise, label: str) -> None:
    """seed_prior keyed the label as given, so it never applied (recommend asks the stored
    form) and kept a secret-looking label in the learnt state and its snapshots."""
    tw.seed_prior("helm", 0.99, 1_000.0, task_type=label, environment=label)
    [ranked] = tw.recommend(label, ["helm"], environment=label)
    assert ranked.rate > 0.95
    assert b"hunter2" not in tw.view.export_state()


@pytest.mark.parametrize(
    "label", ["x" * 600, "password=" + "hunter2-" * 3], ids=["too long", "secret-looking"]
)
def test_list_calls_filters_by_a_label_the_builder_rewrote(tw: Toolwise, label: str) -> None:
    """A task_type or environment filter is put in stored form too, like priors'."""
    recorded = tw.record(tool="helm", task_type=label, environment=label)
    assert tw.list_calls(task_type=label, environment=label) == [recorded]
