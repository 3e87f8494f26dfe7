"""Pre-selection: put a ranked, evidence-backed brief in front of the model before it picks.

One core, :class:`Advisor`, turns a model turn into a :class:`Brief`; the LangGraph node, the
``pre_model_hook`` (``toolwise.integrations.langgraph``) and the agent middleware
(``toolwise.integrations.langchain``) only decide where the brief goes. See
``docs/preselection.md``.
"""

from typing import TYPE_CHECKING

from toolwise._lazy import exports

if TYPE_CHECKING:
    from toolwise.advice.advisor import Advisor
    from toolwise.advice.confirm import Answer, ConfirmationPolicy, approval_request, read_answer
    from toolwise.advice.fence import CLOSE, OPEN
    from toolwise.advice.fields import AdviceFields, BriefOptions, Mode, TaskQuery, TaskResolver
    from toolwise.advice.models import (
        DEFAULT_DESTRUCTIVE,
        STATE_KEY,
        AdviceOptions,
        Brief,
        TaskSource,
    )
    from toolwise.advice.protocols import AdviceRuntime, LessonSource

__all__ = [
    "CLOSE",
    "DEFAULT_DESTRUCTIVE",
    "OPEN",
    "STATE_KEY",
    "AdviceFields",
    "AdviceOptions",
    "AdviceRuntime",
    "Advisor",
    "Answer",
    "Brief",
    "BriefOptions",
    "ConfirmationPolicy",
    "LessonSource",
    "Mode",
    "TaskQuery",
    "TaskResolver",
    "TaskSource",
    "approval_request",
    "read_answer",
]

# Imported on first use (``toolwise._lazy``): importing this package costs nothing.
_HOMES = {
    "AdviceFields": "toolwise.advice.fields",
    "AdviceOptions": "toolwise.advice.models",
    "AdviceRuntime": "toolwise.advice.protocols",
    "Advisor": "toolwise.advice.advisor",
    "Answer": "toolwise.advice.confirm",
    "Brief": "toolwise.advice.models",
    "BriefOptions": "toolwise.advice.fields",
    "CLOSE": "toolwise.advice.fence",
    "ConfirmationPolicy": "toolwise.advice.confirm",
    "DEFAULT_DESTRUCTIVE": "toolwise.advice.models",
    "LessonSource": "toolwise.advice.protocols",
    "Mode": "toolwise.advice.fields",
    "OPEN": "toolwise.advice.fence",
    "STATE_KEY": "toolwise.advice.models",
    "TaskQuery": "toolwise.advice.fields",
    "TaskResolver": "toolwise.advice.fields",
    "TaskSource": "toolwise.advice.models",
    "approval_request": "toolwise.advice.confirm",
    "read_answer": "toolwise.advice.confirm",
}
__getattr__, __dir__ = exports(__name__, _HOMES)
