"""YAML/JSON → model + diagnostics, with API-server-equivalent validation."""

from netfence.parse.build import BuildResult, build_cluster
from netfence.parse.documents import RawDocument, parse_documents

__all__ = ["BuildResult", "RawDocument", "build_cluster", "parse_documents"]
