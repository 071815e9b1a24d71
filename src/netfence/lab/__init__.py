"""The network-namespace lab: a cluster of namespaces on this machine, real packets.

- ``plan``, ``kubeproxy``, ``steps``, ``state``: pure (cluster → topology → commands → JSON).
- ``servers``, ``dns``: the programs that run inside the pod namespaces.
- ``lab``: up / down / exec / status, through the one seam ``netfence.io.netns.Runner``.

See docs/lab.md.
"""
