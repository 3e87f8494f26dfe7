"""What pre-selection adds to each model turn, on a store of 100,000 outcomes.

    python benchmarks/preselect.py [--records 100000] [--turns 300] [--path DIR]

Builds an embedded (persistent) Chroma store of ``--records`` outcomes — 10 tools x 50 task
types, spread over 20 days, about a quarter failures with varied error messages — written
straight through ``tw.store.write`` in batches, then builds the learnt view once (not timed:
it happens once per process). Then times ``Advisor.advise`` per model turn, the whole
decision — task inference by embedding, ranking of the 10 tools, vector recall of similar
failures, formatting within the budget — with and without the recall, and the recall query
on its own. Requests cycle through the 50 task types' phrasings. Prints a table and writes
``benchmarks/results/preselect.json``. Target: p50 <= 15 ms with the recall.

Today ``store.similar`` filters in Chroma (``where`` on expiry and outcome), which makes
Chroma scan its metadata table: hundreds of ms at 100k records. Over-fetching without a filter
does not help (failure documents embed far from successes, so the nearest hundreds are all
successes). The "failure index" rows prototype the storage change this benchmark argues for:
failures also kept in a collection of their own, queried with no ``where`` (expiry checked in
Python). ``--path`` reuses a store built by an earlier run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage

sys.path.insert(0, str(Path(__file__).parent))
from _common import table, write_json

import toolwise
from toolwise.advice import Advisor
from toolwise.models import ToolOutcome, utcnow
from toolwise.storage.clients import persistent_client
from toolwise.storage.naming import collection_name_for
from toolwise.storage.protocol import SimilarOutcome

TOOLS = [
    "kubectl_apply",
    "helm_upgrade",
    "argo_sync",
    "terraform_apply",
    "ansible_run",
    "pg_migrate",
    "log_search",
    "metrics_query",
    "pagerduty_ack",
    "slack_notify",
]
VERBS = ["deploy", "rollback", "migrate", "scale", "debug", "audit", "patch", "restore", "rotate",
         "provision"]  # fmt: skip
OBJECTS = ["payments_api", "checkout_web", "user_database", "search_cluster", "billing_worker"]
ERRORS = [
    ("TimeoutError", "context deadline exceeded after {n}s"),
    ("PermissionError", "forbidden: service account cannot patch deployments in {obj}"),
    ("ConnectionError", "connection refused by {obj}.internal:5432"),
    ("ValidationError", "field 'replicas' must be <= {n}"),
    ("ToolException", "release {obj} is locked by another operation"),
]
BATCH = 5_000


def _contexts() -> list[tuple[str, str]]:
    """50 task types and a phrasing a user might type for each."""
    found = []
    for verb in VERBS:
        for obj in OBJECTS:
            words = obj.replace("_", " ")
            found.append((f"{verb}_{obj}", f"please {verb} the {words} in production"))
    return found


def populate(tw: toolwise.Toolwise, records: int, seed: int = 7) -> float:
    """Write ``records`` outcomes in batches; returns seconds taken."""
    rng = random.Random(seed)
    contexts = _contexts()
    rates = {(t, c): rng.uniform(0.4, 0.98) for t in TOOLS for c, _ in contexts}
    now = utcnow()
    started = time.perf_counter()
    batch: list[ToolOutcome] = []
    for n in range(records):
        context, text = contexts[n % len(contexts)]
        tool = TOOLS[(n // len(contexts)) % len(TOOLS)]
        ok = rng.random() < rates[(tool, context)]
        error_type, template = rng.choice(ERRORS)
        stamp = now - timedelta(seconds=rng.uniform(0, 20 * 86_400))
        batch.append(
            ToolOutcome(
                tool=tool,
                task_type=context,
                task=f"{text} (ticket {rng.randrange(10_000)})",
                outcome="success" if ok else "failure",
                latency_ms=rng.lognormvariate(6.0, 0.8),
                error_type="" if ok else error_type,
                error_message=""
                if ok
                else template.format(n=rng.randrange(5, 120), obj=context.split("_", 1)[1]),
                timestamp=stamp,
                expires_at=stamp + timedelta(days=30),
                source="benchmark",
            )
        )
        if len(batch) == BATCH:
            tw.store.write(batch)
            batch = []
    if batch:
        tw.store.write(batch)
    return time.perf_counter() - started


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": pick(0.50), "p95_ms": pick(0.95), "mean_ms": sum(ordered) / len(ordered)}


def _request(n: int) -> tuple[str, list[HumanMessage]]:
    """The n-th request: a task type and a message phrased for it (the ticket varies)."""
    contexts = _contexts()
    context, text = contexts[(n * 7) % len(contexts)]
    return context, [HumanMessage(f"{text}, ticket {n}")]


def _config(context: str, given_type: bool) -> dict[str, Any]:
    return {"metadata": {"toolwise_task_type": context}} if given_type else {}


def time_turns(
    advisor: Advisor, turns: int, *, given_type: bool = False, follow_up: bool = False
) -> list[float]:
    """Milliseconds per ``advise`` call, each on a new request.

    ``given_type``: the run's config names the task type (no inference). ``follow_up``: time
    the request's second model turn (after a tool ran), which reuses the first turn's recall.
    """
    for n in range(20):  # warm caches (task-type vectors, Chroma's index pages)
        advisor.advise(_request(10_000 + n)[1])
    samples = []
    for n in range(turns):
        context, messages = _request(n)
        config = _config(context, given_type)
        if follow_up:
            advisor.advise(messages, config=config)
        started = time.perf_counter()
        advisor.advise(messages, config=config)
        samples.append((time.perf_counter() - started) * 1_000)
    return samples


async def time_async(advisor: Advisor, turns: int) -> list[float]:
    """Milliseconds per ``aadvise`` (the worker-thread hop included), each a new request."""
    samples = []
    for n in range(turns):
        _, messages = _request(n)
        started = time.perf_counter()
        await advisor.aadvise(messages)
        samples.append((time.perf_counter() - started) * 1_000)
    return samples


def time_recall(tw: toolwise.Toolwise, turns: int) -> list[float]:
    """Milliseconds per ``store.similar(k=8, outcome="failure")`` on its own."""
    samples = []
    for n in range(turns):
        context, messages = _request(n)
        query = f"failure for {context}. Task: {messages[0].text}"
        started = time.perf_counter()
        tw.store.similar("default", query, k=8, now=utcnow(), outcome="failure")
        samples.append((time.perf_counter() - started) * 1_000)
    return samples


def failure_index(tw: toolwise.Toolwise, root: Path) -> tuple[Any, float]:
    """Copy the failures into a collection of their own, as the proposed store would keep.

    Returns the collection and the seconds the copy took (0 when it already existed).
    """
    client = persistent_client(root / "chroma")
    name = collection_name_for("default") + "_failures"
    existing = [c if isinstance(c, str) else c.name for c in client.list_collections()]
    if name in existing:
        return client.get_collection(name, embedding_function=None), 0.0
    started = time.perf_counter()
    source = client.get_collection(collection_name_for("default"), embedding_function=None)
    target = client.create_collection(
        name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
    )
    offset = 0
    while True:
        page = source.get(
            where={"outcome": "failure"},
            limit=BATCH,
            offset=offset,
            include=["metadatas", "embeddings"],
        )
        if not page["ids"]:
            break
        target.upsert(ids=page["ids"], embeddings=page["embeddings"], metadatas=page["metadatas"])
        offset += len(page["ids"])
    return target, time.perf_counter() - started


def prototype_similar(tw: toolwise.Toolwise, failures: Any) -> Callable[..., list[SimilarOutcome]]:
    """``similar`` as proposed for ``ChromaOutcomeStore``: failures from their own collection.

    A vector query with no ``where`` (Chroma then uses its index alone), ``2 k`` neighbours,
    expired ones dropped in Python.
    """
    original = tw.store.similar

    def similar(
        agent_id: str, text: str, *, k: int, now: datetime, outcome: str | None = None
    ) -> list[SimilarOutcome]:
        if outcome != "failure":
            return original(agent_id, text, k=k, now=now, outcome=outcome)
        result = failures.query(
            query_embeddings=tw.embedding([text]),
            n_results=min(2 * k, failures.count()),
            include=["metadatas", "distances"],
        )
        cutoff = now.timestamp()
        hits = zip(result["metadatas"][0], result["distances"][0], strict=True)
        return [
            SimilarOutcome(ToolOutcome.model_validate_json(meta["record"]), float(distance))
            for meta, distance in hits
            if meta["expires_at"] > cutoff
        ][:k]

    return similar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument(
        "--slow-turns", type=int, default=40, help="turns for the rows using today's recall"
    )
    parser.add_argument("--path", type=Path, default=None, help="reuse (or keep) this store")
    args = parser.parse_args()

    root = args.path or Path(tempfile.mkdtemp(prefix="tw-preselect-"))
    reuse = (root / "chroma").exists()
    tw = toolwise.Toolwise(root)
    written = 0.0
    if reuse:
        print(f"reusing the store in {root}", flush=True)
    else:
        print(f"writing {args.records:,} outcomes to {root} …", flush=True)
        written = populate(tw, args.records)
    stored = tw.store.count("default")
    started = time.perf_counter()
    tw.view.known_task_types("default")  # builds the learnt view from the store, once
    built = time.perf_counter() - started
    print(f"{stored:,} stored (written in {written:.1f} s); view built in {built:.1f} s")

    def advisor(**options: Any) -> Advisor:
        return Advisor(tw, tools=TOOLS, seed=1, **options)

    turns, slow = args.turns, args.slow_turns
    results: dict[str, list[float]] = {}
    results["no recall, task type inferred"] = time_turns(advisor(top_k=0), turns)
    results["no recall, task type given"] = time_turns(advisor(top_k=0), turns, given_type=True)
    results["recall k=8 today, inferred"] = time_turns(advisor(recall_ttl=0), slow)
    results["recall k=8 today, follow-up turn"] = time_turns(advisor(), slow, follow_up=True)
    results["recall k=8 today, aadvise"] = asyncio.run(time_async(advisor(recall_ttl=0), slow))
    results["store.similar today, alone"] = time_recall(tw, slow)
    failures, copied = failure_index(tw, root)
    tw.store.similar = prototype_similar(tw, failures)  # type: ignore[method-assign]
    results["recall k=8 failure index, inferred"] = time_turns(advisor(recall_ttl=0), turns)
    results["recall k=8 failure index, given"] = time_turns(
        advisor(recall_ttl=0), turns, given_type=True
    )
    results["recall k=8 failure index, aadvise"] = asyncio.run(
        time_async(advisor(recall_ttl=0), turns)
    )
    results["failure-index similar, alone"] = time_recall(tw, turns)
    tw.close()

    summary = {name: _percentiles(samples) for name, samples in results.items()}
    rows = [
        (name, len(results[name]), stats["p50_ms"], stats["p95_ms"], stats["mean_ms"])
        for name, stats in summary.items()
    ]
    print()
    print(table(["advise per model turn", "turns", "p50 ms", "p95 ms", "mean ms"], rows))
    path = write_json(
        "preselect",
        {
            "records": stored,
            "failures_indexed": failures.count(),
            "tools": len(TOOLS),
            "task_types": len(_contexts()),
            "store_reused": reuse,
            "write_seconds": None if reuse else round(written, 1),
            "view_build_seconds": round(built, 1),
            "failure_index_copy_seconds": round(copied, 1),
            "results": summary,
            "target_p50_ms_with_recall": 15.0,
        },
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
