"""The pattern tally: tool sequences of successful runs, counted once per run and kept
between passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from toolwise.improve.patterns import PatternTally
from toolwise.improve.runs import RunRecords, group_records
from toolwise.models import ToolOutcome

START = datetime(2025, 1, 6, 9, tzinfo=UTC)
GAP = timedelta(minutes=30)


def _runs(*sequences: tuple[str, ...], first: int = 0) -> list[RunRecords]:
    records = [
        ToolOutcome(
            id=f"r{n}-{i}",
            agent_id="devops",
            tool=tool,
            session_id=f"s{n}",
            task=f"release {n}",
            timestamp=START + timedelta(hours=n, minutes=i),
        )
        for n, tools in enumerate(sequences, start=first)
        for i, tool in enumerate(tools)
    ]
    return group_records(records, gap=GAP)


def _tally(*sequences: tuple[str, ...]) -> PatternTally:
    tally = PatternTally()
    tally.add(_runs(*sequences), min_length=2, max_length=4)
    return tally


def test_a_sequence_in_three_runs_is_frequent() -> None:
    """Three runs of a → b make one pattern counted three times."""
    [pattern] = _tally(*[("a", "b")] * 3).frequent(min_occurrences=3, limit=5)
    assert (pattern.tools, pattern.count) == (("a", "b"), 3)


def test_counts_add_up_across_passes() -> None:
    """Two runs in one pass and one in the next reach the threshold together."""
    tally = _tally(("a", "b"), ("a", "b"))
    tally.add(_runs(("a", "b"), first=5), min_length=2, max_length=4)
    assert [p.count for p in tally.frequent(min_occurrences=3, limit=5)] == [3]


def test_a_shorter_sequence_only_seen_inside_a_longer_one_is_left_out() -> None:
    """a → b → c three times yields the three-tool pattern, not a → b or b → c."""
    patterns = _tally(*[("a", "b", "c")] * 3).frequent(min_occurrences=3, limit=5)
    assert [p.tools for p in patterns] == [("a", "b", "c")]


def test_the_tally_survives_json() -> None:
    """Counts and latest occurrences come back from the stored JSON unchanged."""
    tally = _tally(*[("a", "b")] * 3)
    again = PatternTally.from_json(tally.to_json())
    assert again.frequent(min_occurrences=3, limit=5) == tally.frequent(min_occurrences=3, limit=5)


def test_forgetting_a_tool_drops_its_sequences() -> None:
    """After forgetting ``b`` nothing built on it is counted."""
    tally = _tally(*[("a", "b")] * 3)
    tally.forget(tool="b")
    assert len(tally) == 0


def test_forgetting_records_takes_their_occurrences_off_the_count() -> None:
    """Forgetting one run's records leaves two occurrences: below the threshold of three."""
    tally = _tally(*[("a", "b")] * 3)
    tally.forget(ids={"r0-0"})
    assert tally.frequent(min_occurrences=3, limit=5) == []


def test_beyond_max_sequences_the_rarest_are_forgotten() -> None:
    """With room for one sequence the more frequent one stays."""
    tally = PatternTally(max_sequences=1)
    tally.add(_runs(("a", "b"), ("a", "b"), ("c", "d")), min_length=2, max_length=2)
    assert [p.tools for p in tally.frequent(min_occurrences=1, limit=5)] == [("a", "b")]
