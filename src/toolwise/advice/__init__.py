"""Pre-selection: put a ranked, evidence-backed brief in front of the model before it picks.

One core, :class:`Advisor`, turns a model turn into a :class:`Brief`; the LangGraph node, the
``pre_model_hook`` (``toolwise.integrations.langgraph``) and the agent middleware
(``toolwise.integrations.langchain``) only decide where the brief goes. See
``docs/preselection.md``.
"""

from toolwise.advice.advisor import Advisor
from toolwise.advice.confirm import Answer, ConfirmationPolicy, approval_request, read_answer
from toolwise.advice.fence import CLOSE, OPEN
from toolwise.advice.models import (
    DEFAULT_DESTRUCTIVE,
    STATE_KEY,
    AdviceFields,
    AdviceOptions,
    Brief,
    BriefOptions,
    Mode,
    TaskQuery,
    TaskResolver,
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
