"""CPU accounting for the write benchmarks: what is timed, a server's CPU once its background
work is done, and the rows/s that CPU per row allows.

A `chroma run` server answers an upsert before it has finished with it: it goes on indexing
(HNSW insertion, the metadata segment) and persisting for a while after. Reading its CPU right
after the last write leaves that work out and makes every write look cheaper than it is —
most for the settings that defer the most (the HNSW levers came out backwards that way). So
the readings that bound a timed stretch wait until the server's CPU stops rising.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BATCH = 1_000
WARM_BATCHES = 2
FIRST_TIMED = 10_000_000  # ids of the rows written here, apart from a prefilled store's
PHASES = ("build", "serialise", "embed", "chroma_client", "chroma_server")
INTERVAL = 0.25  # s between readings; /proc counts in ticks of 10 ms
QUIET = 4  # readings in a row without a rise: the server is idle (1 s)
TIMEOUT = 120.0  # s; a server still busy after this is read as it is


def settled(
    read: Callable[[], float],
    *,
    sleep: Callable[[float], object] = time.sleep,
    interval: float = INTERVAL,
    quiet: int = QUIET,
    timeout: float = TIMEOUT,
) -> float:
    """``read()`` once it has not risen for ``quiet`` readings in a row, ``interval`` apart.

    Gives up after ``timeout`` seconds of readings (a server busy with something else) and
    returns the last one. ``sleep`` is injected so tests need no time.
    """
    last = read()
    still = 0
    waited = 0.0
    while still < quiet and waited < timeout:
        sleep(interval)
        waited += interval
        now = read()
        still = still + 1 if now <= last else 0
        last = now
    return last


def written_bytes(pid: int) -> float:
    """Bytes a process has had written to disk so far (``/proc/<pid>/io``), ``nan`` if
    unreadable. Unlike CPU time it does not grow with how busy the machine is."""
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


def rotated(items: list[Any], turn: int) -> list[Any]:
    """``items`` starting at ``turn``: settings written in turns, none always first."""
    return items[turn % len(items) :] + items[: turn % len(items)]


def batches(records: int, first: int = FIRST_TIMED) -> list[tuple[int, int]]:
    """``(first id, count)`` of each batch: ``WARM_BATCHES`` untimed, then ``records`` timed."""
    total = records + WARM_BATCHES * BATCH
    return [(first + start, min(BATCH, total - start)) for start in range(0, total, BATCH)]


def summarise(mode: str, timed: int, spent: dict[str, float], cores: int) -> dict[str, Any]:
    """Per-row figures and the rows/s they bound, from CPU seconds per phase over ``timed``."""
    per_row = {phase: spent.get(phase, 0.0) * 1000 / timed for phase in PHASES}
    toolwise = per_row["build"] + per_row["serialise"] + per_row["embed"]
    chroma = per_row["chroma_client"] + per_row["chroma_server"]
    total = toolwise + chroma
    if mode == "embedded":  # one process writes an embedded store, one batch at a time
        bounds = {"process": 1000 / total}
    else:
        # The server applies one write at a time, so its own CPU per row bounds every writer
        # together; the cores, shared by the server and its writers, bound them too.
        bounds = {"server": 1000 / per_row["chroma_server"], "cores": cores * 1000 / total}
    bound_by = min(bounds, key=lambda key: bounds[key])
    return {
        "mode": mode,
        "records": timed,
        "batch": BATCH,
        "ms_per_row": per_row,
        "toolwise_ms": toolwise,
        "chroma_ms": chroma,
        "total_ms": total,
        "toolwise_share": toolwise / total,
        "cores": cores,
        "bounds_rows_per_s": bounds,
        "bound_rows_per_s": bounds[bound_by],
        "bound_by": bound_by,
    }


def cpu_sum_text(cpu: dict[str, float]) -> str:
    """``writers + server = total`` ms per record, as scale.py prints it and the page shows it."""
    writers, server = cpu["writers_ms_per_record"], cpu["server_ms_per_record"]
    return f"{writers:.3f} + {server:.3f} = {writers + server:.3f}"
