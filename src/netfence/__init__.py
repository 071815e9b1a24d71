"""netfence: Kubernetes NetworkPolicy semantics, explained.

The public facade is small: load manifests into a cluster model, compile its
policies once, and ask the engine about connections.
"""

__version__ = "0.1.0"
