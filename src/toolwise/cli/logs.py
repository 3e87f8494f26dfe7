"""Log lines on the command line: held while a command runs, so a failure is one line.

A command that fails exits 2 with one line saying why. Without a handler, Python prints
toolwise's warnings to stderr as they happen (its last-resort handler), so a failure came
with the warnings that led to it, each saying the same thing in other words (``the key
file … cannot be read`` twice; ``the outcome store is unavailable … probing it`` before ``the
outcome store did not answer``). Held instead, they are printed after a command that did not
fail, one line each, and dropped with a failure, whose own line says what went wrong.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

__all__ = ["warnings_unless_failed"]

FAILED = 2


class _Held(logging.Handler):
    """Keeps warnings (and worse) as one-line texts."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(" ".join(record.getMessage().split()))
        except Exception:  # a record that cannot be worded is not worth a traceback here
            self.handleError(record)


def warnings_unless_failed(command: Callable[[], int]) -> int:
    """Run ``command`` (returns an exit code) holding toolwise's warnings; print them after
    it unless it failed (exit 2) — or raised, when they may explain the traceback."""
    held = _Held()
    logger = logging.getLogger("toolwise")
    logger.addHandler(held)
    code = FAILED
    try:
        code = command()
    except BaseException:
        code = -1
        raise
    finally:
        logger.removeHandler(held)
        if code != FAILED:
            for line in held.lines:
                print(f"toolwise: warning: {line}", file=sys.stderr)
    return code
