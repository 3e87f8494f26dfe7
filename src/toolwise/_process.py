"""What an open runtime needs from the process it lives in: a fresh start after ``fork()`` and
a close at exit.

Every :class:`~toolwise._runtime.Runtime` registers itself here when it is built. Three hooks
then reach every one still open:

* ``os.register_at_fork``: a forked child re-initialises each runtime (the parent's threads
  did not survive the fork; see ``Runtime.after_fork_in_child``), and then each object built
  above a runtime that asked for it (:func:`renew_after_fork`: an advisor's locks);
* ``atexit``: a normal exit closes each runtime, draining what was recorded to the store;
* ``multiprocessing``'s after-fork registry: a ``multiprocessing`` child ends with
  ``os._exit`` after its finalizers, never the ``atexit`` hooks, so it gets a finalizer that
  closes its runtimes instead. Importing ``multiprocessing.util`` costs about 4 ms, so this
  hook is installed when the first runtime is built, not at ``import toolwise``. A child is
  also often ended with SIGTERM (``Pool.terminate()``, which ``with Pool() as pool:`` calls
  on the way out), whose default action runs no finalizer: a child whose SIGTERM still has
  it gets a handler that closes its runtimes first, then dies of SIGTERM as it would have.

This module knows nothing about what a runtime is beyond :class:`ProcessBound`, nor about
what else it renews beyond :class:`ForkAware`.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import weakref
from typing import Protocol

__all__ = ["ForkAware", "ProcessBound", "register", "renew_after_fork", "unregister"]

log = logging.getLogger("toolwise")

_EXIT_TIMEOUT = 5.0  # seconds each open runtime may spend draining at exit


class ProcessBound(Protocol):
    """Something that holds threads and files of this process (an open runtime)."""

    def after_fork_in_child(self) -> None:
        """Runs in a forked child: replace what the parent's threads and files were."""

    def close(self, timeout: float = ...) -> bool:
        """Drain and stop; True when everything reached the store."""


class ForkAware(Protocol):
    """Something holding locks (or work queued for threads) of this process."""

    def after_fork(self) -> None:
        """Runs in a forked child: fresh locks (one a parent thread held at the fork is never
        released), and none of the parent's queued work."""


_live: weakref.WeakSet[ProcessBound] = weakref.WeakSet()
_exiting = False  # the exit hooks are closing every runtime (a bool: no lock to fork with)
_renewed: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def register(instance: ProcessBound) -> None:
    """Fork and exit hooks reach ``instance`` until :func:`unregister` (or it is collected)."""
    _live.add(instance)
    _hook_multiprocessing()
    if _hooked_child != os.getpid() and _in_multiprocessing_child():
        _hook_this_child()  # the first runtime of a child is built after its start-up hooks


def unregister(instance: ProcessBound) -> None:
    """``instance`` closed: the hooks leave it alone."""
    _live.discard(instance)


def renew_after_fork(instance: ForkAware) -> None:
    """``instance.after_fork()`` runs in every forked child while ``instance`` lives (held
    weakly: this never keeps it alive, and nothing need undo it)."""
    _renewed.add(instance)


def _after_fork_in_child() -> None:
    for instance in list(_live):
        try:
            instance.after_fork_in_child()
        except Exception as exc:  # the child must start; its calls still reach a spool
            log.error("toolwise: re-initialising after fork failed: %s", exc)
    for renewed in list(_renewed):
        try:
            renewed.after_fork()
        except Exception as exc:  # the child must start
            log.error("toolwise: re-initialising after fork failed: %s", exc)


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_all_at_exit() -> None:
    global _exiting  # noqa: PLW0603 - once set, the process is on its way out
    _exiting = True
    for instance in list(_live):
        try:
            instance.close(timeout=_EXIT_TIMEOUT)
        except Exception as exc:  # exit must go on; the spool keeps what was not written
            log.warning("toolwise: close at exit failed: %s", exc)


class _MultiprocessingHooks:
    """A weak-referenceable anchor for ``multiprocessing.util.register_after_fork``."""


def _close_at_multiprocessing_exit(_anchor: object) -> None:
    # Runs as a multiprocessing child starts, after it cleared the finalizers it inherited
    # (or registered while a spawned child imported its main module): register them anew.
    if _live:
        _hook_this_child()


_hooked_child: int | None = None  # the pid whose exits are hooked


def _in_multiprocessing_child() -> bool:
    from multiprocessing import current_process, parent_process

    # A spawned child builds the runtimes of its main module while it imports it, before
    # it knows its parent (and it runs no after-fork hooks): it is "inheriting" then.
    return parent_process() is not None or getattr(current_process(), "_inheriting", False)


def _hook_this_child() -> None:
    """Close this multiprocessing child's runtimes at its exit: a normal one (it ends with
    ``os._exit`` after its finalizers, never the ``atexit`` hooks) and SIGTERM."""
    from multiprocessing.util import Finalize

    global _hooked_child  # noqa: PLW0603 - once per process, by pid
    _hooked_child = os.getpid()
    Finalize(None, _close_all_at_exit, exitpriority=10)
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _close_then_die)


def _close_then_die(signum: int, _frame: object) -> None:
    """SIGTERM in a multiprocessing child: close its runtimes, then die of the signal (the
    parent reads the same exit status). Pool.terminate() waited for the child either way."""
    if _exiting:  # it was already ending (a pool's worker given its sentinel)
        return  # and this handler interrupted its close: let that finish, then the exit
    signal.signal(signum, signal.SIG_DFL)
    # In a thread of its own: the main thread, interrupted here, may hold a lock the close
    # needs (a spool append); the wait is bounded, and what is left stays in the spool.
    closer = threading.Thread(target=_close_all_at_exit, name="toolwise-close-on-sigterm")
    closer.daemon = True
    closer.start()
    closer.join(_EXIT_TIMEOUT)
    os.kill(os.getpid(), signum)


_MULTIPROCESSING_HOOKS = _MultiprocessingHooks()
_multiprocessing_hooked = False


def _hook_multiprocessing() -> None:
    """Register the exit hook for multiprocessing children once per process."""
    global _multiprocessing_hooked  # noqa: PLW0603 - a once-per-process switch
    if _multiprocessing_hooked:
        return
    from multiprocessing.util import register_after_fork

    register_after_fork(_MULTIPROCESSING_HOOKS, _close_at_multiprocessing_exit)
    _multiprocessing_hooked = True
