"""The HTTP benchmark's stall timeline (``_probe.py``) and its phase choice, on made-up events."""

from __future__ import annotations

from typing import Any

from _probe import summarise
from http_service import Sweep, Target, _phases


def _events() -> list[list[Any]]:
    return [
        ["request", 10.000, 10.001, 0.0, "/v1/agents/a/calls"],
        ["request", 10.010, 10.050, 0.0, "/v1/agents/a/calls"],  # 40 ms: slow
        ["write", 10.005, 10.060, 0.004, 500],
        ["loop_lag", 10.020, 10.035, 0.002, 0.010],  # 15 ms: 2 ran, 10 queued, 3 blocked
        ["gc", 10.070, 10.072, 0.002, 2],
        ["request", 99.0, 99.5, 0.0, "/v1/agents/a/calls"],  # another phase
    ]


def test_a_slow_request_is_attributed_to_the_background_work_it_overlapped() -> None:
    """The 40 ms request overlapped a writer batch and nothing else."""
    summary = summarise(_events(), 10.0, 11.0, slow_ms=20.0)
    assert summary["requests"] == 2
    assert summary["slow_requests"] == {"count": 1, "overlapping": {"write": 1, "none": 0}}
    assert summary["background"]["write"]["count"] == 1
    assert summary["background"]["gc"]["by_generation"] == {"0": 0, "1": 0, "2": 1}


def test_a_long_loop_lag_is_split_into_work_run_queue_and_blocked_time() -> None:
    """What the loop did not run itself and did not wait a core for, it was blocked for."""
    lag = summarise(_events(), 10.0, 11.0, slow_ms=20.0)["loop_lag"]
    assert lag["long"] == 1
    assert (lag["long_ran_ms"], lag["long_queued_ms"], lag["long_blocked_ms"]) == (2.0, 10.0, 3.0)


def test_a_slow_brief_is_attributed_to_its_recall_query_and_refreshes_are_counted_apart() -> None:
    """A brief that waited on its store query says so; background refreshes are told apart."""
    events = [
        ["request", 10.000, 10.040, 0.0, "/v1/agents/a/brief"],  # 40 ms: slow
        ["recall", 10.002, 10.038, 0.001, "AnyIO worker thread"],
        ["recall", 10.100, 10.130, 0.001, "toolwise-recall-refresh"],
    ]
    summary = summarise(events, 10.0, 11.0, slow_ms=20.0)
    assert summary["slow_requests"] == {"count": 1, "overlapping": {"recall": 1, "none": 0}}
    assert summary["background"]["recall"]["count"] == 2
    assert summary["background"]["recall"]["refreshes"] == 1


def test_the_sweep_runs_one_open_loop_phase_per_rate() -> None:
    """``--phases sweep`` runs only the sweep's rates, calls first, then briefs."""
    make = dict.fromkeys(("one", "batch", "small", "brief"), lambda: ("POST", "/", b"", 1))
    target = Target("127.0.0.1", 1, "token", clients=32, seconds=1.0)
    phases = _phases(target, make, ["sweep"], Sweep(calls=(200, 500), briefs=(20,)))
    assert [name for name, _ in phases] == [
        "sweep 200 calls/s: POST calls (1 per request)",
        "sweep 500 calls/s: POST calls (1 per request)",
        "sweep 20 briefs/s: POST brief",
    ]
