"""Whole-cluster analysis at scale: pods collapsed into equivalence classes, the port
space split into the classes the policies induce, allowed pairs counted with
vectorized array operations. The per-pair engine stays the oracle (tests compare
both on generated clusters)."""
