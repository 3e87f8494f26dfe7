"""Run by test_crash.py in a child process: record forever, print each acknowledged id.

``record`` mode: an id is printed only after ``Toolwise.record`` returned, so every printed id
is a record the caller was told is durable. ``calls`` mode: a real tool is called through the
callback handler under deferred durability (``immediate-calls``: immediate); every 25 calls
``persist()`` makes them durable and only then are their markers printed. The parent kills
this process with SIGKILL mid-stream.
"""

from __future__ import annotations

import sys
import time

from langchain_core.tools import tool

from toolwise import Toolwise


@tool
def deploy(marker: str) -> str:
    """Pretend to deploy; return the marker."""
    return marker


def record_forever(tw: Toolwise) -> None:
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


def call_forever(tw: Toolwise) -> None:
    handler = tw.callback(agent_id="crash")
    i = 0
    while True:
        markers = [f"m{i + n}" for n in range(25)]
        for marker in markers:
            deploy.invoke({"marker": marker}, config={"callbacks": [handler]})
        i += len(markers)
        tw.persist()  # the checkpoint: every call above is now on disk
        sys.stdout.write("".join(m + "\n" for m in markers))
        sys.stdout.flush()
        if i % 100 == 0:
            time.sleep(0.15)  # the model's turn: the writer stores what is spooled


if __name__ == "__main__":
    mode, root = sys.argv[1], sys.argv[2]
    durability = "immediate" if mode == "immediate-calls" else "deferred"
    (record_forever if mode == "record" else call_forever)(Toolwise(root, durability=durability))
