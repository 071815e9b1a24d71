"""Compiled policies + cluster → one nftables ruleset for a node (pure, golden-tested)."""
