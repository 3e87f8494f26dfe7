"""Prompt refinement behind a gate: bounded, drift-checked, validated, and reversible.

A chat model proposes a revision of the system prompt from failed and successful runs. The
revision is kept only if, in order (cheap checks first):

1. the model's reply holds a prompt between ``<prompt>`` and ``</prompt>`` (else
   ``malformed``: nothing changes, a warning is logged and the rejection audited);
2. it changes at most ``max_changed_lines`` lines of the current prompt (``difflib``);
3. its embedding similarity to the *original* prompt stays ≥ ``drift_threshold``;
4. its mean score on the validation tasks is at least the current prompt's — every task
   that raises (or returns a non-number, or a number outside [0, 1]) scores 0.

Each agent's prompt history lives in the knowledge store; version 0 (the original) is never
deleted, and :meth:`PromptBook.rollback` returns to the version a revision replaced.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from toolwise.errors import InvalidArgumentError
from toolwise.improve.audit import AuditLog
from toolwise.improve.models import PromptVersion, RefinementResult, Run
from toolwise.improve.protocols import ChatModel, Evaluator, ask
from toolwise.improve.store import Item, KnowledgeStore
from toolwise.storage.embeddings import EmbeddingFunction, cosine

__all__ = ["PromptBook", "PromptGate", "changed_lines", "extract_prompt", "mean_score"]

log = logging.getLogger("toolwise.improve")

_PROMPT_TAG = re.compile(r"<prompt>\s*(.*?)\s*</prompt>", re.DOTALL | re.IGNORECASE)
_ACTIVE_ID = "prompt-active"


def changed_lines(before: str, after: str) -> int:
    """Lines changed between two prompts: per differing block, the larger side's line count."""
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), False)
    return sum(
        max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    )


def extract_prompt(reply: str) -> str | None:
    """The revised prompt between ``<prompt>`` tags, or ``None`` when there is none."""
    match = _PROMPT_TAG.search(reply)
    if match is None or not match.group(1).strip():
        return None
    return match.group(1).strip()


def mean_score(evaluate: Evaluator, prompt: str, tasks: Sequence[Any]) -> float:
    """Mean of ``evaluate(prompt, task)``; a task that errors or returns garbage scores 0."""
    total = 0.0
    for task in tasks:
        try:
            score = evaluate(prompt, task)
        except Exception as exc:  # an erroring validation task is a failure, not a skip
            log.warning("toolwise.improve: validation task %r failed: %s", task, exc)
            continue
        valid = isinstance(score, int | float) and not isinstance(score, bool)
        if not valid or not math.isfinite(score) or not 0.0 <= score <= 1.0:
            log.warning("toolwise.improve: validation score %r is not in [0, 1]; counted 0", score)
            continue
        total += float(score)
    return total / len(tasks)


class PromptBook:
    """An agent's prompt versions and which one is in force; every change is audited."""

    def __init__(self, store: KnowledgeStore, audit: AuditLog) -> None:
        self._store = store
        self._audit = audit

    def history(self, agent_id: str) -> list[PromptVersion]:
        """Every version, oldest first (version 0 is the original)."""
        versions = [
            PromptVersion.model_validate_json(i.payload)
            for i in self._store.load("prompts", agent_id)
        ]
        return sorted(versions, key=lambda v: v.version)

    def active(self, agent_id: str) -> PromptVersion | None:
        """The version in force, or ``None`` before the agent's first refinement."""
        versions = {v.version: v for v in self.history(agent_id)}
        if not versions:
            return None
        state = {i.id: i for i in self._store.load("state", agent_id)}.get(_ACTIVE_ID)
        number = int(state.payload) if state is not None else max(versions)
        return versions.get(number, versions[max(versions)])

    def _activate(self, agent_id: str, version: PromptVersion) -> None:
        self._store.put(
            "state",
            agent_id,
            [Item(_ACTIVE_ID, str(version.version), version.created_at.timestamp())],
        )

    def adopt(
        self, agent_id: str, text: str, *, reason: str, score: float | None, now: datetime
    ) -> PromptVersion:
        """Append ``text`` as a new version replacing the active one, and put it in force."""
        history = self.history(agent_id)
        active = self.active(agent_id)
        version = PromptVersion(
            version=(history[-1].version + 1) if history else 0,
            text=text,
            created_at=now,
            reason=reason,
            score=score,
            parent=active.version if active is not None else None,
        )
        item = Item(
            f"v{version.version}", version.model_dump_json(), version.created_at.timestamp()
        )
        self._store.put("prompts", agent_id, [item])
        self._activate(agent_id, version)
        if active is not None:
            self._audit.record(
                agent_id,
                "prompt.revised",
                subject=f"v{active.version} → v{version.version}",
                before=active.text,
                after=text,
                reason=reason,
            )
        return version

    def rollback(self, agent_id: str, *, to_original: bool = False, reason: str = "") -> str:
        """Put the replaced version (or the original) back in force and return its text.

        Raises:
            InvalidArgumentError: the agent has no refined prompt to roll back.
        """
        active = self.active(agent_id)
        if active is None or active.parent is None:
            raise InvalidArgumentError("agent_id", agent_id, "has no prompt revision to roll back")
        versions = {v.version: v for v in self.history(agent_id)}
        target = versions[0] if to_original else versions[active.parent]
        self._activate(agent_id, target)
        self._audit.record(
            agent_id,
            "prompt.rolled_back",
            subject=f"v{active.version} → v{target.version}",
            before=active.text,
            after=target.text,
            reason=reason or ("rolled back to the original" if to_original else "rolled back"),
        )
        return target.text


_REFINE_SYSTEM = (
    "You optimise an AI agent's system prompt from its performance data. Find instructions "
    "that are missing, ambiguous or counterproductive, and fix only those. Do not change "
    "instructions that work. Change at most {max_lines} lines. Reply with the complete "
    "revised prompt between <prompt> and </prompt>, and nothing else."
)


class PromptGate:
    """Proposes, checks and keeps (or rejects) prompt revisions; see the module docstring."""

    def __init__(
        self,
        book: PromptBook,
        audit: AuditLog,
        embedding: EmbeddingFunction,
        *,
        max_changed_lines: int,
        drift_threshold: float,
    ) -> None:
        self._book = book
        self._audit = audit
        self._embedding = embedding
        self._max_lines = max_changed_lines
        self._drift = drift_threshold

    def refine(
        self,
        agent_id: str,
        current: str,
        *,
        runs: Sequence[Run],
        validation_tasks: Sequence[Any],
        model: ChatModel,
        evaluate: Evaluator,
        now: datetime,
    ) -> RefinementResult:
        """Run the gate once; see :meth:`toolwise.improve.Improver.refine_prompt`."""
        if not validation_tasks:
            raise InvalidArgumentError(
                "validation_tasks", validation_tasks, "the gate needs at least one task"
            )
        active = self._book.active(agent_id)
        if active is None:
            active = self._book.adopt(
                agent_id, current, reason="original prompt", score=None, now=now
            )
        elif active.text != current:
            active = self._book.adopt(
                agent_id,
                current,
                reason="the caller's prompt differs from the one in force; adopted as baseline",
                score=None,
                now=now,
            )
        original = self._book.history(agent_id)[0].text
        failures = [r for r in runs if not r.succeeded]
        if not failures:
            return RefinementResult(
                status="unchanged", prompt=current, original=original, reason="no failed runs"
            )
        successes = [r for r in runs if r.succeeded]
        request = (
            f"Current system prompt:\n---\n{current}\n---\n\n"
            f"Recent successful runs ({len(successes)}):\n"
            + "\n".join(f"- {r.summary()}" for r in successes[:5])
            + f"\n\nRecent failed runs ({len(failures)}):\n"
            + "\n".join(f"- {r.summary()}" for r in failures[:5])
        )
        try:
            reply = ask(model, _REFINE_SYSTEM.format(max_lines=self._max_lines), request)
        except Exception as exc:  # a failing model is malformed output: nothing changes
            reply = ""
            log.warning("toolwise.improve: the refinement model failed: %s", exc)
        candidate = extract_prompt(reply)
        if candidate is None:
            log.warning(
                "toolwise.improve: malformed prompt revision ignored (no <prompt> block): %r",
                reply[:200],
            )
            malformed = RefinementResult(
                status="malformed", prompt=current, original=original, candidate=reply[:500]
            )
            reason = "malformed model output: no revised prompt between <prompt> tags"
            return self._reject(agent_id, malformed, reason)
        changed = changed_lines(current, candidate)
        result = RefinementResult(
            status="rejected",
            prompt=current,
            original=original,
            candidate=candidate,
            changed_lines=changed,
        )
        if candidate.strip() == current.strip():
            return result.model_copy(
                update={"status": "unchanged", "reason": "the model proposed no change"}
            )
        if changed > self._max_lines:
            reason = f"changes {changed} lines, more than the bound of {self._max_lines}"
            return self._reject(agent_id, result, reason)
        original_vector, candidate_vector = self._embedding([original, candidate])
        similarity = cosine(original_vector, candidate_vector)
        result = result.model_copy(update={"similarity": similarity})
        if similarity < self._drift:
            reason = f"drifts from the original: similarity {similarity:.2f} < {self._drift:.2f}"
            return self._reject(agent_id, result, reason)
        baseline = mean_score(evaluate, current, validation_tasks)
        score = mean_score(evaluate, candidate, validation_tasks)
        result = result.model_copy(update={"baseline_score": baseline, "candidate_score": score})
        scores = f"{score:.3f} vs {baseline:.3f} on {len(validation_tasks)} validation tasks"
        if score < baseline:
            return self._reject(agent_id, result, f"scores below the prompt in force: {scores}")
        reason = (
            f"scores at least the prompt in force: {scores}; {changed} lines changed; "
            f"similarity to the original {similarity:.2f}"
        )
        self._book.adopt(agent_id, candidate, reason=reason, score=score, now=now)
        return result.model_copy(
            update={"status": "accepted", "prompt": candidate, "reason": reason}
        )

    def _reject(self, agent_id: str, result: RefinementResult, reason: str) -> RefinementResult:
        """Audit a candidate the gate refused and return the decision with its reason."""
        self._audit.record(
            agent_id,
            "prompt.rejected",
            subject="candidate revision",
            before=result.prompt,
            after=result.candidate,
            reason=reason,
        )
        return result.model_copy(update={"reason": reason})
