"""The performance page's write-cost section: figures and verdicts computed from the JSON."""

from __future__ import annotations

from typing import Any

from write_performance_doc import write_cost


def _result(server_ms: float, levers: bool = False) -> dict[str, Any]:
    phases = {"build": 0.01, "serialise": 0.01, "embed": 0.02, "chroma_client": 0.1}
    server = {
        "mode": "server",
        "ms_per_row": {**phases, "chroma_server": server_ms},
        "toolwise_share": 0.05,
        "total_ms": server_ms + 0.14,
        "cores": 2,
        "bounds_rows_per_s": {"server": 1000 / server_ms, "cores": 2000 / (server_ms + 0.14)},
        "bound_rows_per_s": min(1000 / server_ms, 2000 / (server_ms + 0.14)),
        "bound_by": "server",
    }
    result: dict[str, Any] = {
        "machine": {"when": "2026-12-06T16:00:00", "load_average": [0.5, 0.5, 0.5]},
        "load_average_before": [0.4, 0.4, 0.4],
        "args": {"records": 20_000, "batch": 1_000},
        "stores": [server],
    }
    if levers:
        result["levers"] = [
            {"lever": "default", "dimension": 256, "server_ms_per_row": 0.5, "recall_at_10": 0.9},
            {
                "lever": "128 dimensions",
                "dimension": 128,
                "server_ms_per_row": 0.36,
                "recall_at_10": 0.86,
            },
            {
                "lever": "sync_threshold 10000",
                "dimension": 256,
                "server_ms_per_row": 0.4,
                "recall_at_10": 0.9,
            },
        ]
    return result


def test_a_server_slower_than_half_a_millisecond_a_row_bounds_one_collection() -> None:
    """0.55 ms of server CPU per row bounds the writes into one such collection at 1,818/s."""
    text = "\n".join(write_cost(_result(0.55), None))
    assert "would store at most 1,818 rows/s into it" in text


def test_a_fleet_that_stored_more_than_one_collections_bound_is_explained() -> None:
    """scale.py's 4 writers fill mostly small collections: above the bound, and why."""
    fleet = {"writes": [{"mode": "server", "records_per_s": 2568, "chroma_records_per_s": 2916}]}
    text = "\n".join(write_cost(_result(0.55), fleet))
    assert "`scale.py`'s 4 processes stored 2,568 records/s (Chroma alone 2,916" in text
    assert "above the one-collection figure" in text
    assert "stale" not in text


def test_levers_show_their_recall_cost_and_the_bound_they_would_give() -> None:
    """Each lever's CPU change, its recall@10 and the server bound scaled by it."""
    text = "\n".join(write_cost(_result(0.55, levers=True), None))
    assert "| 128 dimensions | 0.360 | -28% | nan | 0.860 | 2,525 |" in text
    assert (
        "128 dimensions: taken for record collections made now — 28% less server CPU per row; "
        "recall -0.040" in text
    )
    assert "collections made before keep 256" in text


def test_sync_threshold_is_weighed_against_the_replay_it_causes() -> None:
    """Recall is unchanged, so the page gives the replay after a restart as the reason."""
    text = "\n".join(write_cost(_result(0.55, levers=True), None))
    assert "sync_threshold 10000: not taken — 20% less server CPU per row, recall +0.000" in text
    assert "up to 10,000 rows instead of 1,000" in text


def test_a_setting_measured_twice_counts_once_at_its_mean_and_shows_the_noise() -> None:
    """Two runs of the default give its spread; the verdict uses each setting's mean."""
    result = _result(0.55, levers=True)
    result["levers"].append(
        {"lever": "default", "dimension": 256, "server_ms_per_row": 0.6, "recall_at_10": 0.9}
    )
    text = "\n".join(write_cost(result, None))
    assert "spread over 0.500–0.600 ms per row" in text
    assert "default: not taken" not in text
    assert "sync_threshold 10000: not taken — 27% less" in text  # 0.4 against a mean of 0.55


def test_the_command_names_the_options_the_figures_came_from() -> None:
    """A prefilled run with levers is reproduced by the command the page prints."""
    result = _result(0.55, levers=True)
    result["args"]["prefill"] = 100_000
    text = "\n".join(write_cost(result, None))
    assert (
        '`python benchmarks/write_cost.py --prefill 100000 --hnsw --levers "default,'
        '128 dimensions,sync_threshold 10000"`' in text
    )
    assert "a copy of the cached 100,000-record store" in text


def test_no_result_renders_nothing() -> None:
    """Without write_cost.json the page has no such section."""
    assert write_cost(None, None) == []


def test_the_page_is_written_without_write_cost_json(tmp_path: Any, monkeypatch: Any) -> None:
    """The committed results have no write_cost.json: the page is still written, without it."""
    import shutil
    from pathlib import Path

    import write_performance_doc

    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(
        repo / "benchmarks" / "results",
        tmp_path / "benchmarks" / "results",
        ignore=shutil.ignore_patterns("write_cost.json", "*.png"),
    )
    (tmp_path / "docs").mkdir()
    monkeypatch.chdir(tmp_path)
    write_performance_doc.main()
    page = (tmp_path / "docs" / "performance.md").read_text()
    assert "Sustained writes, and what Chroma itself takes" in page
    assert "Where a stored row's CPU goes" not in page


def test_rows_per_call_is_reported_as_the_writers_choice_not_a_recall_trade() -> None:
    """Larger upserts keep the settings: the page gives the rows per call the writer sends."""
    result = _result(0.55, levers=True)
    result["levers"].append(
        {
            "lever": "upserts of 4000",
            "dimension": 256,
            "server_ms_per_row": 0.45,
            "recall_at_10": 0.9,
        }
    )
    text = "\n".join(write_cost(result, None))
    assert "upserts of 4000 (rows per call, settings unchanged): 10% less server CPU" in text
    assert "upserts of 4000: not taken" not in text
    from toolwise._write_path import REMOTE_BATCH

    assert f"the writer sends up to {REMOTE_BATCH:,} rows per call to a server" in text
