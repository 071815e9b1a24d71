"""Domain-name peers (``domainNames``), shared by the cluster-wide tiers and EKS
ApplicationNetworkPolicy: both quote network-policy-api's DomainName type."""

from __future__ import annotations


def domain_matches(pattern: str, name: str) -> bool:
    """DomainName: "'*', the wildcard specifier, matches one or more entire labels.
    It does not support partial matches. '*' may only be specified as a prefix."
    "`kubernetes.io` matches only `kubernetes.io`." "`*.kubernetes.io` matches
    subdomains of kubernetes.io [...] however "kubernetes.io" [does] not." Names
    compare without case and without a final dot, as DNS does."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        suffix = pattern[1:]  # ".kubernetes.io"
        return name.endswith(suffix) and len(name) > len(suffix)
    return name == pattern


def domain_within(inner: str, outer: str) -> bool:
    """Does the pattern ``outer`` match every name the pattern ``inner`` matches?"""
    i, o = inner.lower().rstrip("."), outer.lower().rstrip(".")
    if i.startswith("*."):
        return o.startswith("*.") and i[1:].endswith(o[1:])
    return domain_matches(o, i)


def names_within(inner: tuple[str, ...], outer: tuple[str, ...]) -> bool:
    """Is every name of ``inner`` (patterns) matched by some pattern of ``outer``?"""
    return all(any(domain_within(n, o) for o in outer) for n in inner)
