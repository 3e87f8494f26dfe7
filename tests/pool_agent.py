"""Run by test_fork.py: an agent whose module-level Toolwise records the calls of a
``multiprocessing`` pool's workers, used the usual way (``with Pool() as pool:``, which
terminates the workers on the way out).

``python pool_agent.py METHOD STORE``: 4 tasks of 50 calls each on 2 workers started by
METHOD (fork, forkserver or spawn), all recorded under agent ``pool``.
"""

from __future__ import annotations

import multiprocessing
import sys

from langchain_core.tools import tool

from toolwise import Toolwise

tw = Toolwise(sys.argv[2])  # a spawned worker imports this module again: a Toolwise of its own
handler = tw.callback(agent_id="pool")


@tool
def deploy(service: str) -> str:
    """Deploy a service."""
    return f"deployed {service}"


def deploy_batch(batch: int) -> None:
    for i in range(50):
        deploy.invoke({"service": f"svc-{batch}-{i}"}, {"callbacks": [handler]})


if __name__ == "__main__":
    with multiprocessing.get_context(sys.argv[1]).Pool(2) as pool:
        pool.map(deploy_batch, range(4))
    tw.close()
