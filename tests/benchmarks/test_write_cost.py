"""The write-cost benchmark's accounting: what is timed, when a server's CPU is read, bounds."""

from __future__ import annotations

import pytest
from _cpu import BATCH, FIRST_TIMED, WARM_BATCHES, batches, rotated, settled, summarise


class _Clock:
    """Readings of a server's CPU, one per call; sleeps only counted."""

    def __init__(self, readings: list[float]) -> None:
        self.readings = readings
        self.read_count = 0
        self.slept = 0.0

    def read(self) -> float:
        value = self.readings[min(self.read_count, len(self.readings) - 1)]
        self.read_count += 1
        return value

    def sleep(self, seconds: float) -> None:
        self.slept += seconds


def test_settled_waits_for_the_server_to_stop_indexing() -> None:
    """CPU still rising after the last write is counted: the reading once it has stopped."""
    clock = _Clock([10.0, 10.4, 10.9, 11.0, 11.0, 11.0, 11.0, 11.0])
    assert settled(clock.read, sleep=clock.sleep, interval=0.25, quiet=4) == 11.0
    assert clock.read_count == 8  # three rises, then four quiet readings


def test_settled_returns_at_once_from_an_idle_server_after_the_quiet_readings() -> None:
    """An idle server costs only the quiet readings."""
    clock = _Clock([5.0])
    assert settled(clock.read, sleep=clock.sleep, interval=0.25, quiet=4) == 5.0
    assert clock.slept == pytest.approx(1.0)


def test_settled_gives_up_on_a_server_that_never_stops() -> None:
    """A server busy with something else is read as it is after the timeout."""
    clock = _Clock([float(n) for n in range(1000)])
    assert settled(clock.read, sleep=clock.sleep, interval=1.0, timeout=10.0) == 10.0


def test_batches_warm_up_first_and_never_reuse_a_prefilled_stores_ids() -> None:
    """Untimed batches, then the timed rows; ids start far above any cached store's."""
    planned = batches(2_500)
    assert planned[0] == (FIRST_TIMED, BATCH)
    assert sum(count for _, count in planned) == 2_500 + WARM_BATCHES * BATCH
    assert planned[-1] == (FIRST_TIMED + 4_000, 500)


def test_a_server_is_bound_by_its_own_cpu_per_row() -> None:
    """0.5 ms of server CPU per row: all writers together store at most 2,000 rows/s."""
    spent = {"embed": 0.2, "chroma_client": 0.5, "chroma_server": 5.0}
    result = summarise("server", 10_000, spent, cores=2)
    assert result["bound_by"] == "server"
    assert result["bound_rows_per_s"] == pytest.approx(2_000)
    assert result["toolwise_share"] == pytest.approx(0.02 / 0.57)


def test_a_server_starved_of_cores_is_bound_by_them() -> None:
    """Writers that spend more than the server share the two cores with it."""
    spent = {"embed": 5.0, "chroma_client": 5.0, "chroma_server": 4.0}
    result = summarise("server", 10_000, spent, cores=2)
    assert result["bound_by"] == "cores"
    assert result["bound_rows_per_s"] == pytest.approx(2_000 / 1.4)


def test_an_embedded_store_is_bound_by_its_one_process() -> None:
    """Embedded, every phase runs in the writing process."""
    result = summarise("embedded", 1_000, {"build": 0.1, "chroma_client": 0.4}, cores=2)
    assert result["bounds_rows_per_s"] == {"process": pytest.approx(2_000)}


def test_settings_take_turns_so_none_always_writes_first() -> None:
    """Each batch starts with the next setting: a busy spell falls on all of them alike."""
    firsts = [rotated(["a", "b", "c"], turn)[0] for turn in range(6)]
    assert firsts == ["a", "b", "c", "a", "b", "c"]
    assert sorted(rotated(["a", "b", "c"], 4)) == ["a", "b", "c"]
