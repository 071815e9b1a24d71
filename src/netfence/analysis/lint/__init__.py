"""Lint: checks with stable IDs over the cluster and its compiled policies."""

from netfence.analysis.lint.checks import CHECKS, lint
from netfence.analysis.lint.findings import Check, Finding

__all__ = ["CHECKS", "Check", "Finding", "lint"]
