"""Every bound netfence puts on its input, in one place (the reasons are in docs/limits.md).

An input past a bound is a located error (exit 2), never a crash or a machine
brought to its knees: these numbers are what "within seconds and bounded
memory" means.
"""

from __future__ import annotations

MIB = 2**20

# One file, or stdin. A document may fill a file (``kubectl get -o json`` prints a
# whole cluster as one List): 500k pods with 50k policies are about 510 MB of JSON.
MAX_FILE_BYTES = 1024 * MIB

# Everything one command reads (every -f, every -k, the expectations file).
MAX_TOTAL_BYTES = 1024 * MIB

# The YAML text of one file: YAML costs several times the time and memory of JSON
# per byte (100k pods: about 100 MB either way); larger clusters come as JSON.
MAX_YAML_BYTES = 256 * MIB

# Values (objects, lists and scalars) in one JSON text, counted before it is
# decoded, so that memory stays bounded per byte whatever the text holds (a
# gigabyte of "[]," would otherwise be 350 million lists); 500k pods are about
# 27 million.
MAX_JSON_VALUES = 40_000_000

# Kubernetes objects one command reads (documents, and the items of Lists): 500k
# pods with 50k policies and their Services are about 700,000.
MAX_OBJECTS = 2_000_000

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
