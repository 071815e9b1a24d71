"""Every bound netfence puts on its input, in one place (the reasons are in docs/limits.md).

An input past a bound is a located error (exit 2), never a crash or a machine
brought to its knees: these numbers are what "within seconds and bounded
memory" means.
"""

from __future__ import annotations

MIB = 2**20

# One file, or stdin. A document may fill a file (``kubectl get -o yaml`` prints a
# whole cluster as one List): 100k pods with 10k policies are about 100 MB of JSON.
MAX_FILE_BYTES = 128 * MIB

# Everything one command reads (every -f, every -k, the expectations file).
MAX_TOTAL_BYTES = 256 * MIB

# Manifest files one command reads, and directory entries a walk looks at (so
# that ``-f /`` stops after a moment instead of reading the whole filesystem).
MAX_FILES = 10_000
MAX_DIRECTORY_ENTRIES = 100_000

# Mappings and lists nested in one document (aliases included).
MAX_DEPTH = 100

# Nodes that aliases bring in, counted with their expansion, in one file.
MAX_ALIAS_NODES = 100_000

# Kustomizations that include each other, base to overlay.
MAX_KUSTOMIZATION_DEPTH = 20
