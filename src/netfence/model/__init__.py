"""Frozen values only: labels and selectors, ports, policies, the cluster, traffic, diagnostics."""
