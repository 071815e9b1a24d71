"""Lint: checks with stable IDs over the cluster and its compiled policies."""

from netfence.analysis.lint.checks import CHECKS, lint, lint_report
from netfence.analysis.lint.findings import Check, Finding, LintReport, Skipped

__all__ = ["CHECKS", "Check", "Finding", "LintReport", "Skipped", "lint", "lint_report"]
