"""Model → explainable matcher IR. Compile once; every feature reads the compiled form."""

from netfence.compile.compiled import (
    CompiledPolicy,
    CompiledPolicySet,
    CompiledRule,
    PeerMatcher,
    PortMatcher,
    RuleRef,
    compile_policies,
)

__all__ = [
    "CompiledPolicy",
    "CompiledPolicySet",
    "CompiledRule",
    "PeerMatcher",
    "PortMatcher",
    "RuleRef",
    "compile_policies",
]
