"""Run by test_crash.py in a child process: record forever, print each acknowledged id.

An id is printed only after ``Toolwise.record`` returned, so every printed id is a record the
caller was told is durable. The parent kills this process with SIGKILL mid-stream.
"""

from __future__ import annotations

import sys
import time

from toolwise import Toolwise


def main(root: str) -> None:
    tw = Toolwise(root)
    i = 0
    while True:
        outcome = tw.record(tool=f"tool{i % 3}", agent_id="crash", latency_ms=float(i))
        sys.stdout.write(outcome.id + "\n")
        sys.stdout.flush()
        i += 1
        if i % 100 == 0:
            # A pause like an agent waiting on its model: the writer stores what is pending,
            # so the crash leaves some records in Chroma and some only in the spool.
            time.sleep(0.15)


if __name__ == "__main__":
    main(sys.argv[1])
