"""``tw.pool(name, [tool, ...])`` as a tool in ``create_agent``, a ``ToolNode`` and callbacks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, ToolException, tool
from langgraph.prebuilt import ToolNode

from toolwise import InvalidArgumentError, ToolOutcome, Toolwise
from toolwise.cli import format_summary
from toolwise.integrations.langchain import PooledTool, PoolExhaustedToolError
from toolwise.pools import PoolOptions

Records = Callable[..., list[ToolOutcome]]
GREEDY = PoolOptions(strategy="greedy")
CALL = [{"name": "pull_image", "args": {"image": "api:1.4"}, "id": "c1"}]


def _registry(name: str, *, down: bool = False) -> BaseTool:
    def pull(image: str) -> str:
        if down:
            raise ToolException(f"{name} is unavailable")
        return f"pulled {image} from {name}"

    return tool(name, description=f"Pull a container image from {name}.")(pull)


def _pool(tw: Toolwise, *registries: BaseTool, **options: Any) -> PooledTool:
    """A pool that ranks greedily: with nothing learnt, the declared order."""
    return tw.pool("pull_image", list(registries), options=GREEDY, **options)


def _run(agent: Any, mode: str) -> dict[str, Any]:
    request = {"messages": [HumanMessage("roll out api 1.4")]}
    if mode == "sync":
        return dict(agent.invoke(request))
    return dict(asyncio.run(agent.ainvoke(request)))


def test_the_model_sees_one_tool_with_the_providers_arguments(tw: Toolwise) -> None:
    pooled = _pool(tw, _registry("dockerhub"), _registry("ghcr"))

    assert pooled.name == "pull_image"
    assert pooled.args == _registry("quay").args


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_in_create_agent_a_provider_outage_falls_through_to_the_next(
    tw: Toolwise, records: Records, script: Any, mode: str
) -> None:
    pooled = _pool(tw, _registry("dockerhub", down=True), _registry("ghcr"))

    result = _run(create_agent(script(CALL), [pooled], middleware=[tw.middleware()]), mode)

    answer = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    assert answer.content == "pulled api:1.4 from ghcr"
    calls = [r for r in records() if r.source == "pool"]
    assert [(r.tool, r.outcome, r.tool_call_id) for r in calls] == [
        ("dockerhub", "failure", "c1"),
        ("ghcr", "success", "c1"),
    ]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_in_a_tool_node_with_a_wrapper_and_a_callback_each_attempt_is_recorded_once(
    tw: Toolwise, records: Records, script: Any, tool_node_graph: Any, mode: str
) -> None:
    pooled = _pool(tw, _registry("dockerhub", down=True), _registry("ghcr"))
    wrapper = tw.tool_wrapper(agent_id="default")
    graph = tool_node_graph(
        script(CALL), ToolNode([pooled], wrap_tool_call=wrapper, awrap_tool_call=wrapper.awrap)
    )
    config = {"callbacks": [tw.callback()]}
    request = {"messages": [HumanMessage("roll out api 1.4")]}

    if mode == "sync":
        graph.invoke(request, config)
    else:
        asyncio.run(graph.ainvoke(request, config))

    assert sorted((r.tool, r.outcome) for r in records()) == [
        ("dockerhub", "failure"),
        ("ghcr", "success"),
    ]
    assert all(r.task == "roll out api 1.4" for r in records())  # the state was handed down


def test_when_every_provider_fails_the_model_reads_why_and_the_run_goes_on(
    tw: Toolwise, script: Any
) -> None:
    pooled = _pool(tw, _registry("dockerhub", down=True), _registry("ghcr", down=True))

    result = _run(create_agent(script(CALL), [pooled]), "sync")

    answer = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    assert answer.status == "error"
    assert "dockerhub: ToolException: dockerhub is unavailable" in str(answer.content)
    assert result["messages"][-1].content == "done"


def test_without_error_handling_the_pool_error_is_raised(tw: Toolwise) -> None:
    pooled = _pool(tw, _registry("dockerhub", down=True), handle_tool_error=False)

    with pytest.raises(PoolExhaustedToolError) as caught:
        pooled.invoke({"image": "api:1.4"})
    assert caught.value.pool == "pull_image"


def test_a_hedged_pool_in_an_async_agent_takes_the_first_success(
    tw: Toolwise, records: Records, script: Any
) -> None:
    @tool
    async def mirror_slow(image: str) -> str:
        """Pull an image from a slow mirror."""
        await asyncio.Event().wait()  # never answers: only the hedge's cancel ends it
        return "unreachable"

    hedged = tw.pool(
        "pull_image",
        [mirror_slow, _registry("ghcr")],
        options=PoolOptions(strategy="greedy", hedge=True, hedge_delay=0.01),
    )

    result = _run(create_agent(script(CALL), [hedged]), "async")

    answer = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    assert answer.content == "pulled api:1.4 from ghcr"
    assert (hedged.pool.stats.hedge_wins, hedged.pool.stats.given_up) == (1, 1)
    outcomes = {r.tool: (r.outcome, r.error_type) for r in records()}
    assert outcomes == {"ghcr": ("success", ""), "mirror_slow": ("failure", "TimeoutError")}


def test_providers_with_other_arguments_need_an_adapter(tw: Toolwise) -> None:
    @tool
    def quay(reference: str) -> str:
        """Pull an image from quay."""
        return f"pulled {reference} from quay"

    with pytest.raises(InvalidArgumentError) as caught:
        _pool(tw, _registry("dockerhub", down=True), quay)
    assert caught.value.field == "providers['quay']"

    adapted = _pool(
        tw,
        _registry("dockerhub", down=True),
        quay,
        adapters={"quay": lambda args: {"reference": args["image"]}},
    )
    assert adapted.invoke({"image": "api:1.4"}) == "pulled api:1.4 from quay"


@pytest.mark.parametrize(
    ("marked", "says"),
    [
        ({"metadata": {"idempotent": False}}, "non-idempotent"),
        ({"metadata": {"requires_confirmation": True}}, "requires confirmation"),
    ],
)
def test_providers_that_must_not_run_twice_are_never_hedged(
    tw: Toolwise, marked: dict[str, Any], says: str
) -> None:
    deploy = _registry("ghcr").model_copy(update=marked)

    with pytest.raises(InvalidArgumentError) as caught:
        tw.pool("pull_image", [_registry("dockerhub"), deploy], hedge=True)
    assert caught.value.field == "hedge"
    assert says in str(caught.value)
    assert tw.pool("pull_image", [_registry("dockerhub"), deploy]).name == "pull_image"


def test_a_pool_is_one_tool_in_the_summary_with_its_providers_under_it(tw: Toolwise) -> None:
    pooled = _pool(tw, _registry("dockerhub", down=True), _registry("ghcr"))
    pooled.invoke({"image": "api:1.4"})  # nothing learnt: dockerhub first, then ghcr

    summary = tw.summary()

    (pool,) = summary.pools
    assert (pool.name, pool.members, pool.call_count) == ("pull_image", ["dockerhub", "ghcr"], 1)
    assert (pool.success_rate, pool.fallbacks, pool.attempt_count) == (1.0, 1, 2)
    assert {t.name for t in summary.tools} == {"dockerhub", "ghcr"}
    printed = format_summary(summary)
    assert "pull_image (pool)" in printed
    assert printed.index("pull_image (pool)") < printed.index("└ dockerhub")


def test_the_brief_shows_a_pool_as_one_tool_with_its_providers_under_it(tw: Toolwise) -> None:
    for ok in [True] * 12:
        tw.observe("ghcr", ok, task_type="image_pull", latency_ms=800.0)
    for ok in [False, True] * 6:
        tw.observe("dockerhub", ok, task_type="image_pull", latency_ms=300.0)
    pooled = _pool(tw, _registry("dockerhub"), _registry("ghcr"))
    other = _registry("quay")

    brief = tw.advisor(strategy="greedy", task_type="image_pull").advise(
        [HumanMessage("pull api:1.4")], tools=[pooled, other]
    )

    lines = brief.text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("1. "))
    assert lines[first].startswith("1. pull_image: 9")  # ghcr's record, in the pool's name
    assert lines[first + 1].strip().startswith("pool of: ghcr 9")
    assert "dockerhub 5" in lines[first + 1]
    assert brief.recommended_tool == "pull_image"
    assert not any(line.startswith(("2. ghcr", "2. dockerhub")) for line in lines)


def test_toolwise_priors_lists_a_pool_with_its_providers_under_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The operator's view of what was learnt groups a pool's providers as the summary does."""
    from toolwise.cli import main

    with Toolwise(tmp_path / "store") as tw:
        pooled = _pool(tw, _registry("dockerhub", down=True), _registry("ghcr"))
        pooled.invoke({"image": "api:1.4"})
    assert main(["priors", "--path", str(tmp_path / "store")]) == 0
    printed = capsys.readouterr().out
    assert "pull_image (pool)" in printed
    assert printed.index("pull_image (pool)") < printed.index("└ dockerhub")
    assert printed.index("pull_image (pool)") < printed.index("└ ghcr")
