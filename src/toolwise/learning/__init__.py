"""Learn which tool works: decayed Beta evidence per context, ranked by a bandit strategy.

Pure in-memory Python; the storage layer feeds it outcomes and the integrations ask it for
rankings. See ``docs/ranking.md`` for the model and its parameters.
"""

from toolwise.learning.config import LearningConfig, TimeBuckets
from toolwise.learning.models import (
    Confidence,
    InfraEvent,
    Objective,
    ObjectiveWeights,
    Recommendation,
    ScoreBreakdown,
    Strategy,
    ToolPrior,
)
from toolwise.learning.view import Clock, ReliabilityView, Similarity

__all__ = [
    "Clock",
    "Confidence",
    "InfraEvent",
    "LearningConfig",
    "Objective",
    "ObjectiveWeights",
    "Recommendation",
    "ReliabilityView",
    "ScoreBreakdown",
    "Similarity",
    "Strategy",
    "TimeBuckets",
    "ToolPrior",
]
