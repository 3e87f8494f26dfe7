"""Beta quantiles come from toolwise's own code until scipy has loaded in the background.

The import is replaced by a gate the test opens, so each test decides when "scipy" arrives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from scipy import special

from toolwise.learning import incbeta
from toolwise.learning.quantile import QuantileSource, betaincinv


def fake_scipy(a: Any, b: Any, p: Any) -> Any:
    return np.broadcast_to(np.float64(0.5), np.broadcast(a, b, p).shape)


class Gate:
    """An import that finishes when the test opens it (and records that it ran)."""

    def __init__(self, result: Callable[..., Any] | None = fake_scipy) -> None:
        self.opened = threading.Event()
        self.started = threading.Event()
        self.result = result

    def __call__(self) -> Callable[..., Any]:
        self.started.set()
        self.opened.wait(10)
        if self.result is None:
            raise ImportError("no scipy here")
        return self.result


@pytest.fixture
def gate() -> Iterator[Gate]:
    made = Gate()
    yield made
    made.opened.set()  # never leave a loader thread blocked


def source(load: Callable[[], Any], **options: Any) -> QuantileSource:
    return QuantileSource(load, loaded=lambda: None, **options)


def call_in_thread(quantiles: QuantileSource) -> tuple[threading.Thread, list[Any]]:
    got: list[Any] = []
    thread = threading.Thread(target=lambda: got.append(quantiles.function()), daemon=True)
    thread.start()
    return thread, got


def test_the_first_decision_uses_ours_while_scipy_loads(gate: Gate) -> None:
    quantiles = source(gate, unwaited=5)

    used = [quantiles.function() for _ in range(5)]

    assert used == [incbeta.betaincinv] * 5
    assert gate.started.wait(5)  # the import is under way on its own thread
    assert not quantiles.using_scipy


def test_a_later_call_waits_for_the_import_then_uses_scipy(gate: Gate) -> None:
    quantiles = source(gate, unwaited=1)
    quantiles.function()

    waiting, got = call_in_thread(quantiles)
    waiting.join(0.2)
    assert waiting.is_alive()  # blocked on the import, not racing it
    gate.opened.set()
    waiting.join(5)

    assert got == [fake_scipy]
    assert quantiles.using_scipy


def test_a_wait_gives_up_at_its_deadline_and_keeps_ours(gate: Gate) -> None:
    now = [0.0]
    quantiles = source(gate, unwaited=1, wait=60.0, clock=lambda: now[0])
    quantiles.function()
    now[0] = 61.0  # the import has had its 60 s

    assert quantiles.function() is incbeta.betaincinv
    assert quantiles.function() is incbeta.betaincinv  # and no call waits any more


def test_scipy_is_used_once_it_arrives_even_after_giving_up(gate: Gate) -> None:
    now = [0.0]
    quantiles = source(gate, unwaited=1, clock=lambda: now[0])
    quantiles.function()
    now[0] = 61.0
    assert quantiles.function() is incbeta.betaincinv

    gate.opened.set()
    for _ in range(500):
        if quantiles.using_scipy:
            break
        threading.Event().wait(0.01)

    assert quantiles.function() is fake_scipy


def test_a_failed_import_keeps_ours_for_good() -> None:
    broken = Gate(result=None)
    broken.opened.set()
    quantiles = source(broken, unwaited=0)

    assert quantiles.function() is incbeta.betaincinv
    assert quantiles.function() is incbeta.betaincinv


def test_a_process_that_already_imported_scipy_uses_it_at_once(gate: Gate) -> None:
    quantiles = QuantileSource(gate, loaded=lambda: fake_scipy)

    assert quantiles.function() is fake_scipy
    assert not gate.started.is_set()  # no thread was needed


def test_a_child_forked_mid_import_uses_ours_for_good(gate: Gate) -> None:
    quantiles = source(gate, unwaited=0, wait=0.0)
    quantiles.function()
    assert gate.started.wait(5)
    quantiles.before_fork()  # its deadline has passed: the fork does not wait

    quantiles.after_fork_in_child()  # (what os.fork runs in the child)
    gate.opened.set()  # the parent's thread finishing is invisible to the child

    assert quantiles.function() is incbeta.betaincinv
    assert not quantiles.using_scipy


def test_a_fork_waits_for_a_running_import(gate: Gate) -> None:
    quantiles = source(gate, unwaited=5)
    quantiles.function()
    opener = threading.Timer(0.05, gate.opened.set)
    opener.start()

    quantiles.before_fork()
    quantiles.after_fork_in_child()

    assert quantiles.function() is fake_scipy


def test_a_child_forked_before_any_call_loads_scipy_itself(gate: Gate) -> None:
    quantiles = source(gate, unwaited=0)
    quantiles.before_fork()
    quantiles.after_fork_in_child()
    gate.opened.set()

    assert quantiles.function() is fake_scipy


def test_the_read_path_gets_scipys_answer_either_way() -> None:
    alpha, beta = np.array([[2.0], [30.0]]), np.array([[5.0], [3.0]])
    levels = np.array([[0.05, 0.5, 0.95]])

    np.testing.assert_allclose(
        betaincinv(alpha, beta, levels),
        special.betaincinv(alpha, beta, levels),
        rtol=1e-7,
        atol=1e-9,
    )


def test_load_now_waits_for_scipy_before_any_call(gate: Gate) -> None:
    """A server's start-up loads scipy up front: the first call already uses it."""
    quantiles = source(gate)
    gate.opened.set()
    quantiles.load_now()
    assert quantiles.using_scipy
    assert quantiles.function() is fake_scipy
