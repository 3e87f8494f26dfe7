"""The periodic phase split: regret after each regime swap, by detection and steady state."""

from __future__ import annotations

import numpy as np
from learning_phases import WINDOW, split
from learning_sim.generator import generate
from learning_sim.streams import Stream, draw


def _stream() -> Stream:
    return draw(generate("periodic", 1), 1)


def test_an_oracle_adopts_every_swap_after_one_window_at_no_regret() -> None:
    """Picking the true best every time: no regret, and each swap is read after one window."""
    stream = _stream()
    oracle = [int(np.argmax(stream.best_mask[i])) for i in range(len(stream))]
    phases = split(stream, oracle)
    assert phases.total == 0.0
    assert phases.swaps
    assert all(s.delay == WINDOW and not s.never for s in phases.swaps)


def test_a_policy_stuck_on_the_first_best_never_adopts_the_challenger() -> None:
    """Swaps to the challenger are never adopted; all their regret counts as detection."""
    stream = _stream()
    first = int(np.argmax(stream.best_mask[0]))
    phases = split(stream, [first] * len(stream))
    to_challenger = [s for s in phases.swaps if not s.back]
    assert all(s.never and s.steady == 0.0 for s in to_challenger)
    assert phases.first == 0.0
    assert abs(phases.first + phases.detection + phases.steady - phases.total) < 1e-6
