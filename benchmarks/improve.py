"""How long one ``improve()`` pass takes, and how many audit entries it writes, as records grow.

    python benchmarks/improve.py [--records 100000] [--new 1000] [--weeks 12] [--skip-devops]
    python benchmarks/improve.py --records 10000 --weeks 6    # a quicker run

Two stores, both embedded (persistent) Chroma, cached in ``$TMPDIR/toolwise-bench/``:

* **DevOps example**: ``--weeks`` simulated weeks of ``python -m examples.devops_agent``
  (12 weeks = 1,728 records, ~2 min to generate). Measured: the first pass over every record,
  a second pass with no new record, then one more simulated week (144 records) and a pass
  over it. Target: the first pass ≤ 5 s (it took 155 s and wrote 2,648 audit entries before
  passes became incremental).
* **Synthetic fleet**: ``--records`` outcomes of one agent as runs of 1-3 calls (five tool
  sequences, ~15 % failures, task texts with version numbers), spread over 20 days, written
  straight through ``tw.store.write`` (~80 s for 100,000). Measured: the first pass over all
  of them (target ≤ 60 s at 100,000), a pass with no new record, a pass after ``--new``
  newer records, and the store read of the first pass on its own.

Before each scenario the knowledge store (lessons, demonstrations, composites, prompts, audit,
pass state) is deleted, so every first pass starts from nothing. Prints a table and writes
``benchmarks/results/improve.json``. Timings on a shared 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from _common import table, write_json

import toolwise
from toolwise.improve import ImprovementReport
from toolwise.models import ToolOutcome, utcnow
from toolwise.storage.protocol import CallFilter

BENCH = Path(tempfile.gettempdir()) / "toolwise-bench"
KNOWLEDGE_KINDS = ("lessons", "demonstrations", "composites", "prompts", "audit", "state")
TARGET_DEVOPS_S = 5.0
TARGET_100K_S = 60.0
FLEET = "fleet"
SEQUENCES: list[tuple[str, tuple[str, ...], float]] = [  # task type, tools, share
    ("release", ("terraform_apply", "helm_upgrade", "kubectl_deploy"), 0.2),
    ("deploy", ("kubectl_deploy",), 0.4),
    ("configure", ("ansible_run",), 0.15),
    ("migrate", ("pg_backup", "pg_migrate"), 0.15),
    ("upgrade", ("helm_upgrade", "kubectl_deploy"), 0.1),
]
FAILS = {"ansible_run": 0.35, "pg_migrate": 0.2, "terraform_apply": 0.1}
ERRORS = {
    "ansible_run": ("SSHTimeout", "ssh to prod-web-{n} timed out after 30s"),
    "pg_migrate": ("LockTimeout", "could not obtain lock on relation orders_{n}"),
    "terraform_apply": ("StateLock", "state is locked by run {n}"),
}
SERVICES = ["web", "checkout", "payments", "search", "catalog", "gateway"]


def reset_knowledge(tw: toolwise.Toolwise) -> None:
    """Delete every knowledge-store collection, so a first pass starts from nothing."""
    client = tw.store.client()  # type: ignore[attr-defined]
    prefixes = tuple(f"toolwise-{kind}_" for kind in KNOWLEDGE_KINDS)
    for collection in client.list_collections():
        name = collection if isinstance(collection, str) else collection.name
        if name.startswith(prefixes):
            client.delete_collection(name)


def timed_pass(tw: toolwise.Toolwise, agent_id: str) -> dict[str, Any]:
    """One ``tw.improve(agent_id)``: seconds, what it read and changed, audit entries."""
    before = len(tw.audit(agent_id, limit=10_000))
    started = time.perf_counter()
    [report] = tw.improve(agent_id)
    seconds = time.perf_counter() - started
    entries = tw.audit(agent_id, limit=10_000)
    kinds = Counter(e.kind for e in entries[: len(entries) - before])
    return {"seconds": round(seconds, 3), **_changes(report), "audit": dict(kinds)}


def _changes(report: ImprovementReport) -> dict[str, int]:
    fields = report.model_dump(exclude={"agent_id", "started_at", "refinement"})
    return {k: v for k, v in fields.items() if v}


# -- the DevOps example -------------------------------------------------------------------------


def devops(weeks: int) -> dict[str, Any]:
    from examples.devops_agent.run import AGENT_ID, run

    cached = BENCH / f"improve-devops-{weeks}w"
    if not (cached / "bench.json").exists():
        shutil.rmtree(cached, ignore_errors=True)
        print(f"running {weeks} weeks of the DevOps example into {cached} …", flush=True)
        _, _, tw = run(weeks=weeks, path=cached, progress=False)
        tw.close()
        (cached / "bench.json").write_text(json.dumps({"weeks": weeks}))
    work = BENCH / "improve-devops-work"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(cached, work)
    # The example's own clock: its records lie in simulated time, and a TTL would expire them.
    tw = toolwise.Toolwise(work, ttl=None)
    try:
        reset_knowledge(tw)
        records = tw.store.count(AGENT_ID)
        first = timed_pass(tw, AGENT_ID)
        second = timed_pass(tw, AGENT_ID)
    finally:
        tw.close()
    _, _, tw = run(weeks=1, path=work, progress=False)  # one more simulated week of deploys
    tw.close()
    tw = toolwise.Toolwise(work, ttl=None)
    try:
        week = timed_pass(tw, AGENT_ID)
        lessons = len(tw.improver.all_lessons(AGENT_ID))
        demos = len(tw.improver.demonstrations(AGENT_ID))
    finally:
        tw.close()
    return {
        "records": records,
        "first_pass": first,
        "no_new_records": second,
        "one_more_week": week,
        "lessons": lessons,
        "demonstrations": demos,
        "target_first_pass_s": TARGET_DEVOPS_S,
    }


# -- the synthetic fleet ------------------------------------------------------------------------


def fleet_records(count: int, *, start: Any, seconds: float, seed: int) -> list[ToolOutcome]:
    """``count`` records (whole runs, the last one maybe cut) spread over ``seconds``."""
    rng = random.Random(seed)
    step = seconds / count
    records: list[ToolOutcome] = []
    n = 0
    while len(records) < count:
        n += 1
        task_type, tools, _ = rng.choices(SEQUENCES, weights=[s[2] for s in SEQUENCES])[0]
        service = rng.choice(SERVICES)
        env = rng.choice(["staging", "production"])
        task = f"{task_type} {service} version 1.{n % 97}.{n % 13} to {env}"
        session = f"s{seed}-{n}"
        for tool in tools:
            stamp = start + timedelta(seconds=len(records) * step)
            failed = rng.random() < FAILS.get(tool, 0.03)
            error_type, message = ERRORS.get(tool, ("ToolError", "exit status {n}"))
            records.append(
                ToolOutcome(
                    agent_id=FLEET,
                    tool=tool,
                    task=task,
                    task_type=task_type,
                    environment=env,
                    session_id=session,
                    outcome="failure" if failed else "success",
                    error_type=error_type if failed else "",
                    error_message=message.format(n=rng.randrange(1, 40)) if failed else "",
                    tool_input=json.dumps({"service": service, "env": env, "replicas": 3}),
                    timestamp=stamp,
                    source="benchmark",
                )
            )
            if failed or len(records) == count:
                break
    return records


def fleet(count: int, new: int) -> dict[str, Any]:
    root = BENCH / f"improve-fleet-{count}"
    marker = root / "bench.json"
    now = utcnow()
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        print(f"writing {count:,} records to {root} …", flush=True)
        tw = toolwise.Toolwise(root, ttl=None)
        start = now - timedelta(days=21)
        written = time.perf_counter()
        batch = fleet_records(count, start=start, seconds=20 * 86_400, seed=7)
        for offset in range(0, len(batch), 5_000):
            tw.store.write(batch[offset : offset + 5_000])
        tw.close()
        info = {"records": count, "seconds": round(time.perf_counter() - written, 1)}
        info["end"] = (start + timedelta(days=20)).timestamp()
        marker.write_text(json.dumps(info))
    info = json.loads(marker.read_text())
    tw = toolwise.Toolwise(root, ttl=None)
    try:
        reset_knowledge(tw)
        tw.store.delete(FLEET, ids=[f"new-{i}" for i in range(new)])  # left by an earlier run
        first = timed_pass(tw, FLEET)
        second = timed_pass(tw, FLEET)
        start = utcnow() - timedelta(hours=2)  # after the cached records, before now
        later = [
            r.model_copy(update={"id": f"new-{i}"})
            for i, r in enumerate(fleet_records(new, start=start, seconds=3_600, seed=8))
        ]
        tw.store.write(later)
        third = timed_pass(tw, FLEET)
        tw.store.delete(FLEET, ids=[r.id for r in later])
        started = time.perf_counter()  # what the first pass's read costs alone
        tw.store.find(FLEET, CallFilter(), limit=count, offset=0, now=utcnow())
        read_s = round(time.perf_counter() - started, 3)
    finally:
        tw.close()
    return {
        "records": count,
        "write_seconds": info["seconds"],
        "first_pass": first,
        "store_read_alone_s": read_s,
        "no_new_records": second,
        "new_records": new,
        "after_new_records": third,
        "target_first_pass_s": TARGET_100K_S if count >= 100_000 else None,
    }


def _row(name: str, records: int, figures: dict[str, Any]) -> tuple[Any, ...]:
    audit = figures["audit"]
    return (
        name,
        records,
        figures.get("records_scanned", 0),
        figures["seconds"],
        sum(audit.values()),
        ", ".join(f"{k} {v}" for k, v in sorted(audit.items())) or "-",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--skip-devops", action="store_true")
    args = parser.parse_args()
    BENCH.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    rows = []
    if not args.skip_devops:
        d = devops(args.weeks)
        results["devops"] = d
        n = d["records"]
        rows += [
            _row("DevOps example: first pass", n, d["first_pass"]),
            _row("DevOps: again, no new records", n, d["no_new_records"]),
            _row("DevOps: after one more week", n + 144, d["one_more_week"]),
        ]
    f = fleet(args.records, args.new)
    results["fleet"] = f
    rows += [
        _row("fleet: first pass", f["records"], f["first_pass"]),
        _row("fleet: again, no new records", f["records"], f["no_new_records"]),
        _row(
            f"fleet: after {args.new} new records", f["records"] + args.new, f["after_new_records"]
        ),
    ]
    print(
        f"\nthe fleet's first pass read {f['records']:,} records; that read alone: "
        f"{f['store_read_alone_s']:.1f} s"
    )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(table(["pass", "records", "read", "seconds", "audit", "audit entries"], rows))
    print(f"\npeak RSS of this process: {rss_mb:,.0f} MB")
    path = write_json(
        "improve",
        {
            **results,
            "peak_rss_mb": round(rss_mb),
            "note": "one run each; the machine was shared with other jobs",
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
