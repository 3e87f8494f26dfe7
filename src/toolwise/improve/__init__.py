"""Self-improvement from recorded outcomes: lessons, demonstrations, composite tools, guarded
prompt refinement — each change audited.

``Improver(tw)`` is the entry point; see ``docs/self_improvement.md``.
"""

from typing import TYPE_CHECKING

from toolwise._lazy import exports

if TYPE_CHECKING:
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

# Imported on first use (``toolwise._lazy``): importing this package costs nothing.
_HOMES = {
    "AuditEntry": "toolwise.improve.models",
    "AuditKind": "toolwise.improve.models",
    "AuditLog": "toolwise.improve.audit",
    "ChatLessons": "toolwise.improve.lessons",
    "ChatModel": "toolwise.improve.protocols",
    "ChromaKnowledgeStore": "toolwise.improve.store",
    "CompositeSpec": "toolwise.improve.models",
    "CompositeTool": "toolwise.improve.composites",
    "DemoStep": "toolwise.improve.models",
    "Demonstration": "toolwise.improve.models",
    "Evaluator": "toolwise.improve.protocols",
    "FailureCluster": "toolwise.improve.lessons",
    "FieldMapping": "toolwise.improve.models",
    "ImproveConfig": "toolwise.improve.config",
    "ImprovementReport": "toolwise.improve.models",
    "Improver": "toolwise.improve.loop",
    "KnowledgeStore": "toolwise.improve.store",
    "Lesson": "toolwise.improve.models",
    "LessonWriter": "toolwise.improve.lessons",
    "MemoryKnowledgeStore": "toolwise.improve.store",
    "PermissionLevel": "toolwise.improve.models",
    "PromotionPolicy": "toolwise.improve.config",
    "PromptVersion": "toolwise.improve.models",
    "RefinementPlan": "toolwise.improve.refinement",
    "RefinementResult": "toolwise.improve.models",
    "ResourceLimits": "toolwise.improve.sandbox",
    "Review": "toolwise.improve.permissions",
    "Run": "toolwise.improve.models",
    "RunStep": "toolwise.improve.models",
    "Sandbox": "toolwise.improve.sandbox",
    "SandboxResult": "toolwise.improve.sandbox",
    "SandboxSupport": "toolwise.improve.sandbox",
    "TemplateLessons": "toolwise.improve.lessons",
    "format_audit": "toolwise.improve.audit",
    "run_sandboxed": "toolwise.improve.sandbox",
}
__getattr__, __dir__ = exports(__name__, _HOMES)
