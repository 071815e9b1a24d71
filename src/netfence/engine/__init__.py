"""evaluate(compiled, cluster, connection) → Decision: data, with the steps that decided it."""

from netfence.engine.decision import (
    Decision,
    DirectionVerdict,
    Outcome,
    RuleMatch,
    RuleMiss,
)
from netfence.engine.evaluate import evaluate

__all__ = ["Decision", "DirectionVerdict", "Outcome", "RuleMatch", "RuleMiss", "evaluate"]
