"""Recall's answers and the briefs built on them, as JSON lines, to compare two versions.

    python benchmarks/recall_answers.py STORE OUT [--now ISO-TIME]

Run it once per version of the code, each on its own copy of one store (a brief may learn a
task type and store it), with the same ``--now``, then compare the two files (``cmp``). Writes
``store.similar(outcome="failure")`` for the 300 requests of ``preselect.py`` at k = 1, 8, 24
(a brief's recall for an inferred task type) and 40, at ``--now`` and 12 days later (a tenth
of the records expired), as each answer's records and distances; then the text of a brief per
request, the benchmark's way (recall asked each turn), with the task type inferred and given.
On ``preselect.py``'s 100,000-record store it takes a few minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from preselect import TOOLS, _config, _request

import toolwise
from toolwise.advice import Advisor
from toolwise.models import utcnow
from toolwise.storage.health import StoreTimeouts

KS = (1, 8, 24, 40)
LATER = timedelta(days=12)
PATIENT = StoreTimeouts(recall=60.0, read=60.0)  # a filtered fallback query takes its time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("store", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--now", type=datetime.fromisoformat, default=None)
    args = parser.parse_args()
    now: datetime = args.now or utcnow().replace(microsecond=0)

    tw = toolwise.Toolwise(args.store, clock=lambda: now, timeouts=PATIENT)
    tw.view.known_task_types("default")
    with args.out.open("w") as out:
        for n in range(300):
            context, messages = _request(n)
            query = f"failure for {context}. Task: {messages[0].text}"
            for k in KS:
                for when in (now, now + LATER):
                    found = tw.store.similar("default", query, k=k, now=when, outcome="failure")
                    answer = [(hit.outcome.model_dump_json(), hit.distance) for hit in found]
                    out.write(json.dumps(["similar", n, k, when.isoformat(), answer]) + "\n")
        for given in (False, True):
            advisor = Advisor(tw.runtime, tools=TOOLS, seed=1, recall_ttl=0)
            for n in range(300):
                context, messages = _request(n)
                advice = advisor.advise(messages, config=_config(context, given))
                out.write(json.dumps(["brief", given, n, advice.text]) + "\n")
    tw.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
