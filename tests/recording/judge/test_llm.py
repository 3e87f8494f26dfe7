"""The LLM judge scores quality off the tool's thread, cached per identical output."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.tools import BaseTool, tool

from toolwise import InvalidArgumentError, ToolOutcome, Toolwise
from toolwise.recording import LLMJudge
from toolwise.recording.judge.llm import parse_score
from toolwise.storage.clients import ephemeral_client


class ThreadNotingModel(FakeListChatModel):
    """A fake chat model that notes which thread each call ran in."""

    threads: list[str] = []  # noqa: RUF012 - pydantic field, copied per instance

    def invoke(self, *args: Any, **kwargs: Any) -> Any:
        self.threads.append(threading.current_thread().name)
        return super().invoke(*args, **kwargs)


@pytest.fixture
def model() -> ThreadNotingModel:
    return ThreadNotingModel(responses=["0.4 | answers a different region"])


@pytest.fixture
def judged_tw(tmp_path: Path, prefix: str, model: ThreadNotingModel) -> Iterator[Toolwise]:
    instance = Toolwise(
        client=ephemeral_client(),
        spool_dir=tmp_path / "spool",
        prefix=prefix,
        quality_judge=LLMJudge(model),
    )
    yield instance
    instance.close()


@pytest.fixture
def lookup() -> BaseTool:
    @tool
    def lookup(city: str) -> str:
        """Look a city up."""
        return "Paris, Texas" if city == "Paris" else "unknown"

    return lookup


def _read(tw: Toolwise) -> list[ToolOutcome]:
    tw.flush()
    return tw.list_calls("default", limit=100)


def test_a_success_gets_the_models_score_and_reason(judged_tw: Toolwise, lookup: BaseTool) -> None:
    """The record is stored with the model's quality and its one-line reason."""
    lookup.invoke({"city": "Paris"}, config={"callbacks": [judged_tw.callback()]})

    [record] = _read(judged_tw)
    assert (record.outcome, record.quality) == ("success", 0.4)
    assert record.metadata["quality_reason"] == "answers a different region"


def test_the_model_never_runs_on_the_tools_thread(
    judged_tw: Toolwise, lookup: BaseTool, model: ThreadNotingModel
) -> None:
    """Scoring happens in toolwise's own threads, never in the caller's."""
    lookup.invoke({"city": "Paris"}, config={"callbacks": [judged_tw.callback()]})
    judged_tw.flush()

    assert model.threads
    assert threading.current_thread().name not in model.threads


def test_identical_outputs_are_scored_once(
    judged_tw: Toolwise, lookup: BaseTool, model: ThreadNotingModel
) -> None:
    """The answer is cached per identical output of a tool."""
    for _ in range(3):
        lookup.invoke({"city": "Paris"}, config={"callbacks": [judged_tw.callback()]})
        judged_tw.flush()

    assert len(model.threads) == 1
    assert [r.quality for r in _read(judged_tw)] == [0.4, 0.4, 0.4]


def test_failures_are_not_sent_to_the_model(judged_tw: Toolwise, model: ThreadNotingModel) -> None:
    """A failure already has quality 0: no model call."""

    @tool
    def pay(amount: int) -> dict[str, Any]:
        """Pay."""
        return {"success": False, "error": "card declined"}

    pay.invoke({"amount": 3}, config={"callbacks": [judged_tw.callback()]})

    [record] = _read(judged_tw)
    assert (record.outcome, record.judged_by) == ("failure", "success_false")
    assert model.threads == []


def test_an_unusable_reply_keeps_the_rule_verdict(
    tmp_path: Path, prefix: str, lookup: BaseTool
) -> None:
    """A reply that is no score leaves the record as the rules judged it."""
    model = FakeListChatModel(responses=["I think it is fine"])
    with Toolwise(
        client=ephemeral_client(),
        spool_dir=tmp_path / "spool",
        prefix=prefix,
        quality_judge=LLMJudge(model),
    ) as tw:
        lookup.invoke({"city": "Paris"}, config={"callbacks": [tw.callback()]})
        [record] = _read(tw)

    assert (record.outcome, record.quality) == ("success", 1.0)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("0.4 | answers a different region", (0.4, "answers a different region")),
        ("Score: 1", (1.0, "")),
        (".75 - mostly right\nmore text", (0.75, "mostly right")),
        ("1.5 | too high", None),
        ("great", None),
        ("", None),
    ],
)
def test_replies_are_parsed_strictly(reply: str, expected: object) -> None:
    """Only a score in [0, 1] first on the line counts."""
    assert parse_score(reply) == expected


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: LLMJudge(object()), "model"),  # type: ignore[arg-type]
        (lambda: LLMJudge(FakeListChatModel(responses=["1"]), timeout=0), "timeout"),
        (lambda: LLMJudge(FakeListChatModel(responses=["1"]), cache_size=-1), "cache_size"),
    ],
)
def test_bad_options_fail_when_built(build: Callable[[], Any], field: str) -> None:
    """The LLM judge's options are checked when it is built."""
    with pytest.raises(InvalidArgumentError) as raised:
        build()

    assert raised.value.field == field
