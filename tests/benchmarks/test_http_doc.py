"""The performance page's HTTP verdicts name the rates at which a p99 target holds."""

from __future__ import annotations

from typing import Any

from write_performance_doc import p99_verdict


def _phase(rate: float, p99: float) -> dict[str, Any]:
    return {"items_per_s": rate, "p99_ms": p99}


def test_a_rate_is_met_only_when_every_store_keeps_the_p99() -> None:
    med = [
        ("sweep 200 calls/s: POST calls (1 per request)", _phase(200.1, 7.4)),
        ("sweep 500 calls/s: POST calls (1 per request)", _phase(500.1, 14.6)),
        ("sweep 1,000 calls/s: POST calls (1 per request)", _phase(1000.0, 12.0)),
        ("open 1,000 calls/s: POST calls (1 per request)", _phase(999.4, 87.0)),
        ("sweep 500 calls/s: POST calls (1 per request)", _phase(499.9, 11.1)),
    ]

    verdict = p99_verdict(med, "calls", 20)

    assert verdict == (
        "**met at 200, 500 calls/s** (p99 at most 14.6 ms); "
        "**missed at 1,000 (p99 up to 87.0 ms) calls/s**"
    )


def test_closed_loops_do_not_count() -> None:
    med = [
        ("closed: POST brief", _phase(480.0, 5.0)),
        ("open 50 briefs/s: POST brief", _phase(50.1, 41.0)),
    ]

    assert p99_verdict(med, "brief", 30) == "**missed at 50 (p99 up to 41.0 ms) briefs/s**"
    assert p99_verdict(med[:1], "brief", 30) == "not measured in an open loop"


def test_another_window_is_summed_up_over_every_single_run() -> None:
    from write_performance_doc import other_windows

    def run(calls: float, brief: float) -> dict[str, Any]:
        return {
            "load_average_before": 1.0,
            "open 1,000 calls/s: POST calls (1 per request)": _phase(1000.0, calls),
            "open 1,000 calls/s: POST calls (10 per request)": _phase(1000.0, 3.0),
            "open 50 briefs/s: POST brief": _phase(50.1, brief),
        }

    window = {"embedded": {"runs": [run(37.5, 58.9), run(12.0, 23.4)]}}

    (blank, line) = other_windows(window, "http_window")

    assert blank == ""
    assert "`benchmarks/results/http_window.json`" in line
    assert "`POST calls (1 per request)` p99 12.0–37.5 ms, ≤ 20 ms in 1 of 2 runs" in line
    assert "`POST brief` p99 23.4–58.9 ms, ≤ 30 ms in 1 of 2 runs" in line
    assert other_windows(None, "http_window") == []
