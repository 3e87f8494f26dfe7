"""Turning calls into records, framework-neutral: the one record path and what feeds it.

:mod:`~toolwise.recording.records` (validate, redact, bound), :mod:`~toolwise.recording.recorder`
(a call's start and finish, deferred hand-off), :mod:`~toolwise.recording.scope` (one record per
call across combined entry points), :mod:`~toolwise.recording.judge`,
:mod:`~toolwise.recording.redact` and :mod:`~toolwise.recording.context` (labels).
"""

from toolwise.recording.context import CallContext, RecordingDefaults, RecordingLabels
from toolwise.recording.judge import FieldRule, Judge, JudgeRules, LLMJudge, Verdict
from toolwise.recording.recorder import Durability, PendingCall, Recorder
from toolwise.recording.records import RecordBuilder
from toolwise.recording.redact import Redactor, SecretRedactor

__all__ = [
    "CallContext",
    "Durability",
    "FieldRule",
    "Judge",
    "JudgeRules",
    "LLMJudge",
    "PendingCall",
    "RecordBuilder",
    "Recorder",
    "RecordingDefaults",
    "RecordingLabels",
    "Redactor",
    "SecretRedactor",
    "Verdict",
]
