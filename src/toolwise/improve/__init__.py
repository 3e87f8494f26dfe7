"""Self-improvement from recorded outcomes: lessons, demonstrations, composite tools, guarded
prompt refinement — each change audited.

``Improver(tw)`` is the entry point; see ``docs/self_improvement.md``.
"""

from toolwise.improve.audit import AuditLog, format_audit
from toolwise.improve.composites import CompositeTool
from toolwise.improve.config import ImproveConfig, PromotionPolicy
from toolwise.improve.lessons import ChatLessons, FailureCluster, LessonWriter, TemplateLessons
from toolwise.improve.loop import Improver
from toolwise.improve.models import (
    AuditEntry,
    AuditKind,
    CompositeSpec,
    Demonstration,
    DemoStep,
    FieldMapping,
    ImprovementReport,
    Lesson,
    PermissionLevel,
    PromptVersion,
    RefinementResult,
    Run,
    RunStep,
)
from toolwise.improve.permissions import Review
from toolwise.improve.protocols import ChatModel, Evaluator
from toolwise.improve.refinement import RefinementPlan
from toolwise.improve.sandbox import (
    ResourceLimits,
    Sandbox,
    SandboxResult,
    SandboxSupport,
    run_sandboxed,
)
from toolwise.improve.store import (
    ChromaKnowledgeStore,
    KnowledgeStore,
    MemoryKnowledgeStore,
)

__all__ = [
    "AuditEntry",
    "AuditKind",
    "AuditLog",
    "ChatLessons",
    "ChatModel",
    "ChromaKnowledgeStore",
    "CompositeSpec",
    "CompositeTool",
    "DemoStep",
    "Demonstration",
    "Evaluator",
    "FailureCluster",
    "FieldMapping",
    "ImproveConfig",
    "ImprovementReport",
    "Improver",
    "KnowledgeStore",
    "Lesson",
    "LessonWriter",
    "MemoryKnowledgeStore",
    "PermissionLevel",
    "PromotionPolicy",
    "PromptVersion",
    "RefinementPlan",
    "RefinementResult",
    "ResourceLimits",
    "Review",
    "Run",
    "RunStep",
    "Sandbox",
    "SandboxResult",
    "SandboxSupport",
    "TemplateLessons",
    "format_audit",
    "run_sandboxed",
]
