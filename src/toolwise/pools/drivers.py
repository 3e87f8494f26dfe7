"""When a pool's attempts run: the sync driver (threads) and the async driver (tasks).

Both walk the same :class:`~toolwise.pools.call.PoolCall`. Without hedging or a deadline an
attempt runs inline, in the caller's thread or task, one after another — no thread, no task,
nothing to cancel. With either, attempts run concurrently so the driver can wait "until the
first answer, the next hedge or the deadline":

* **sync**: each attempt runs in a named daemon thread (with a copy of the caller's context,
  so LangGraph's config and toolwise's claims travel along). Python cannot stop a thread: a
  loser runs to its end in the background, but what it returns is no longer recorded.
* **async**: each attempt is a task; a loser is cancelled.

In both, what a loser's record says is the same (see :mod:`toolwise.pools.call`): given up
(a ``TimeoutError`` failure) if it started before the winner, nothing if it started after;
at the deadline every running attempt is recorded as a ``TimeoutError``.

Control flow (``passes_through``: LangGraph's ``interrupt()``) raised by a member is never
recorded: the driver cancels the rest and re-raises it. A cancellation of the caller (a graph's
``step_timeout``, an outer ``wait_for``) is re-raised too, once every attempt still running is
recorded as a failure judged ``cancelled`` — as any entry point records a cancelled call.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from toolwise.pools.call import NOT_WON, Attempt, PoolCall

__all__ = ["ControlFlow", "arun", "run"]

ControlFlow = Callable[[BaseException], bool]
"""True for an exception that steers the caller (an interrupt) rather than reports failure."""


class _Settled(NamedTuple):
    attempt: Attempt
    won: bool
    error: BaseException | None  # control flow to re-raise


def _judge(call: PoolCall, attempt: Attempt, output: Any) -> bool:
    return call.settle_result(attempt, output).outcome not in NOT_WON


# -- sync --------------------------------------------------------------------------------------


def run(call: PoolCall, control: ControlFlow, *, concurrent: bool) -> Any:
    """Run ``call`` to its first success (returned) or raise ``PoolExhaustedError``."""
    if concurrent:
        return _run_threads(call, control)
    while (attempt := call.start_next()) is not None:
        settled, output = _outcome(call, attempt, control)
        call.done(attempt)
        if settled.error is not None:
            raise settled.error
        if settled.won:
            call.won(attempt)
            return output
    raise call.exhausted()


def _outcome(call: PoolCall, attempt: Attempt, control: ControlFlow) -> tuple[_Settled, Any]:
    try:
        output = attempt.member.call(attempt.member.arguments(attempt.args))
    except BaseException as exc:
        if control(exc):
            call.settle_cancelled(attempt)
            return _Settled(attempt, won=False, error=exc), None
        call.settle_error(attempt, exc)
        return _Settled(attempt, won=False, error=None), None
    return _Settled(attempt, won=_judge(call, attempt, output), error=None), output


def _run_threads(call: PoolCall, control: ControlFlow) -> Any:
    answers: queue.SimpleQueue[tuple[_Settled, Any]] = queue.SimpleQueue()

    def launch(attempt: Attempt) -> None:
        context = contextvars.copy_context()

        def work() -> None:
            answers.put(context.run(_outcome, call, attempt, control))

        name = f"toolwise-pool-{call.name}-{attempt.member.name}"
        threading.Thread(target=work, name=name, daemon=True).start()

    while True:
        if not call.running:  # the first attempt, or every running one failed: fall through
            attempt = call.start_next()
            if attempt is None:
                raise call.exhausted()
            launch(attempt)
        try:
            settled, output = answers.get(timeout=call.wake_in())
        except queue.Empty:
            if call.expired():
                call.time_out_running()
                raise call.exhausted() from None
            if call.hedge_due() and (hedge := call.start_next(hedged=True)) is not None:
                launch(hedge)
            continue
        call.done(settled.attempt)
        if settled.error is not None:
            raise settled.error
        if settled.won:
            call.won(settled.attempt)
            return output  # losers finish in the background, already settled


# -- async -------------------------------------------------------------------------------------


async def _aoutcome(
    call: PoolCall, attempt: Attempt, control: ControlFlow, *, inline: bool = False
) -> tuple[_Settled, Any]:
    try:
        output = await attempt.member.acall(attempt.member.arguments(attempt.args))
    except asyncio.CancelledError as exc:
        if inline:  # run in the caller's task: the caller was cancelled, not a loser
            call.settle_error(attempt, exc)
        else:  # a loser: a no-op when the win or the deadline already settled it
            call.settle_cancelled(attempt)
        raise
    except BaseException as exc:
        if control(exc):
            call.settle_cancelled(attempt)
            return _Settled(attempt, won=False, error=exc), None
        call.settle_error(attempt, exc)
        return _Settled(attempt, won=False, error=None), None
    return _Settled(attempt, won=_judge(call, attempt, output), error=None), output


async def arun(call: PoolCall, control: ControlFlow, *, concurrent: bool) -> Any:
    """The async twin of :func:`run`: losers are cancelled, not left running."""
    if not concurrent:
        while (attempt := call.start_next()) is not None:
            settled, output = await _aoutcome(call, attempt, control, inline=True)
            call.done(attempt)
            if settled.error is not None:
                raise settled.error
            if settled.won:
                call.won(attempt)
                return output
        raise call.exhausted()
    tasks: dict[asyncio.Task[tuple[_Settled, Any]], Attempt] = {}

    def launch(attempt: Attempt) -> None:
        tasks[asyncio.ensure_future(_aoutcome(call, attempt, control))] = attempt

    try:
        while True:
            if not call.running:
                attempt = call.start_next()
                if attempt is None:
                    raise call.exhausted()
                launch(attempt)
            finished, _ = await asyncio.wait(
                tasks, timeout=call.wake_in(), return_when=asyncio.FIRST_COMPLETED
            )
            if not finished:
                if call.expired():
                    call.time_out_running()
                    raise call.exhausted()
                if call.hedge_due() and (hedge := call.start_next(hedged=True)) is not None:
                    launch(hedge)
                continue
            for task in finished:
                del tasks[task]
                settled, output = task.result()
                call.done(settled.attempt)
                if settled.error is not None:
                    raise settled.error
                if settled.won:
                    call.won(settled.attempt)
                    return output
    except asyncio.CancelledError as exc:  # the caller's; the losers' are settled in _cancel
        call.fail_running(exc)
        raise
    finally:
        await _cancel(tasks)


async def _cancel(tasks: dict[asyncio.Task[tuple[_Settled, Any]], Attempt]) -> None:
    """Cancel the losers and wait for them to unwind (each settles itself as cancelled)."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
