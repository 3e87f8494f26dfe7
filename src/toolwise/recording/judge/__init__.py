"""Deciding how a tool call went — and which rule said so. One package, one job per module:

* :mod:`.decide` — the default judge's order, ``judge=`` per tool, a tool's own declared judge,
  and judge fallbacks (:func:`judge_output`, :func:`judge_error`, :func:`check_judge`,
  :func:`declare_judge`, :func:`judge_fallbacks`);
* :mod:`.verdict` — :class:`Verdict` and :class:`Reason` (stored as ``ToolOutcome.judged_by``);
* :mod:`.fields` — the few top-level status fields of a result, whatever its shape (mapping,
  pydantic model, dataclass, JSON text, a model's ``repr``);
* :mod:`.rules` — declared per-tool rules (:class:`JudgeRules`, :class:`FieldRule`) and the
  default rules: structured status, error-shaped text, empty results;
* :mod:`.messages` — unwrapping what agents hand over (``ToolMessage``, ``Command``, content
  blocks, MCP call results), read by duck typing;
* :mod:`.exceptions` — the verdict of an exception, raised or handled into text
  (:class:`HandledError`; the LangChain/LangGraph hooks that see handled errors live in
  :mod:`toolwise.integrations.langgraph.handled_errors`);
* :mod:`.llm` — :class:`LLMJudge`, a chat model's quality score, off the tool's thread.

Framework-neutral: nothing here imports LangChain or LangGraph (``tests/test_layers.py``).
"""

from toolwise.recording.judge.decide import (
    DECLARED_JUDGE_KEY,
    REFUSED_MARKER,
    Judge,
    JudgeSpec,
    check_judge,
    declare_judge,
    declared_judge,
    default_verdict,
    judge_error,
    judge_fallbacks,
    judge_output,
)
from toolwise.recording.judge.exceptions import HandledError, exception_verdict, handled_verdict
from toolwise.recording.judge.llm import LLMJudge, QualityStage
from toolwise.recording.judge.rules import FieldRule, JudgeRules
from toolwise.recording.judge.verdict import Reason, Verdict

__all__ = [
    "DECLARED_JUDGE_KEY",
    "REFUSED_MARKER",
    "FieldRule",
    "HandledError",
    "Judge",
    "JudgeRules",
    "JudgeSpec",
    "LLMJudge",
    "QualityStage",
    "Reason",
    "Verdict",
    "check_judge",
    "declare_judge",
    "declared_judge",
    "default_verdict",
    "exception_verdict",
    "handled_verdict",
    "judge_error",
    "judge_fallbacks",
    "judge_output",
]
