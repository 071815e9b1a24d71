"""kustomize's default field specs: which fields each built-in transformer
touches in which kinds (kustomize's ``builtinpluginconsts``, transcribed as
data). Only the transformers netfence applies are here; what they touch decides
which pods a policy selects, so these lists are semantics, not decoration."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A path (``/``-separated; a list on the way is walked item by item) in the
    objects of one group/version/kind (an empty part matches any). ``create``
    adds the missing mappings on the way; otherwise only an existing field is
    changed."""

    path: str
    create: bool = False
    kind: str = ""
    group: str | None = None  # None: any group; "" only the core group
    version: str = ""

    def selects(self, group: str, version: str, kind: str) -> bool:
        return (
            (not self.kind or self.kind == kind)
            and (self.group is None or self.group == group)
            and (not self.version or self.version == version)
        )


def _template(path: str, kinds: tuple[tuple[str, str | None, str], ...]) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(path, True, kind, group, version) for kind, group, version in kinds)


_WORKLOADS: tuple[tuple[str, str | None, str], ...] = (
    ("ReplicationController", None, "v1"),
    ("Deployment", None, ""),
    ("ReplicaSet", None, ""),
    ("DaemonSet", None, ""),
    ("StatefulSet", "apps", ""),
    ("Job", "batch", ""),
)

# metadata labels of every object, and of the pod templates workloads hold
METADATA_LABELS: tuple[FieldSpec, ...] = (
    FieldSpec("metadata/labels", True),
    *_template("spec/template/metadata/labels", _WORKLOADS),
    FieldSpec("spec/jobTemplate/metadata/labels", True, "CronJob", "batch"),
    FieldSpec("spec/jobTemplate/spec/template/metadata/labels", True, "CronJob", "batch"),
)

TEMPLATE_LABELS = METADATA_LABELS

_AFFINITY = (
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/"
    "podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/"
    "labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/"
    "podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/"
    "labelSelector/matchLabels",
    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
)

_NETWORKING = "networking.k8s.io"

# ``commonLabels`` and ``labels`` with ``includeSelectors``: selectors too
# (a Service's selector, a workload's selector, a NetworkPolicy's podSelector
# and the podSelector of its peers, never a namespaceSelector).
COMMON_LABELS: tuple[FieldSpec, ...] = (
    FieldSpec("spec/selector", True, "Service", None, "v1"),
    FieldSpec("spec/selector", True, "ReplicationController", None, "v1"),
    FieldSpec("spec/selector/matchLabels", True, "Deployment"),
    *(FieldSpec(path, False, "Deployment", "apps") for path in _AFFINITY),
    FieldSpec("spec/selector/matchLabels", True, "ReplicaSet"),
    FieldSpec("spec/selector/matchLabels", True, "DaemonSet"),
    FieldSpec("spec/selector/matchLabels", True, "StatefulSet", "apps"),
    *(FieldSpec(path, False, "StatefulSet", "apps") for path in _AFFINITY),
    FieldSpec("spec/selector/matchLabels", False, "Job", "batch"),
    FieldSpec("spec/jobTemplate/spec/selector/matchLabels", False, "CronJob", "batch"),
    FieldSpec("spec/selector/matchLabels", False, "PodDisruptionBudget", "policy"),
    FieldSpec("spec/podSelector/matchLabels", False, "NetworkPolicy", "networking.k8s.io"),
    FieldSpec(
        "spec/ingress/from/podSelector/matchLabels", False, "NetworkPolicy", "networking.k8s.io"
    ),
    FieldSpec(
        "spec/egress/to/podSelector/matchLabels", False, "NetworkPolicy", "networking.k8s.io"
    ),
    *METADATA_LABELS,
)

_TEMPLATE_ANNOTATION_KINDS: tuple[tuple[str, str | None, str], ...] = (
    ("ReplicationController", None, "v1"),
    ("Deployment", None, ""),
    ("ReplicaSet", None, ""),
    ("DaemonSet", None, ""),
    ("StatefulSet", None, ""),
    ("Job", "batch", ""),
)

COMMON_ANNOTATIONS: tuple[FieldSpec, ...] = (
    FieldSpec("metadata/annotations", True),
    *_template("spec/template/metadata/annotations", _TEMPLATE_ANNOTATION_KINDS),
    FieldSpec("spec/jobTemplate/metadata/annotations", True, "CronJob", "batch"),
    FieldSpec("spec/jobTemplate/spec/template/metadata/annotations", True, "CronJob", "batch"),
)

REPLICAS: tuple[FieldSpec, ...] = (
    FieldSpec("spec/replicas", True, "Deployment"),
    FieldSpec("spec/replicas", True, "ReplicationController"),
    FieldSpec("spec/replicas", True, "ReplicaSet"),
    FieldSpec("spec/replicas", True, "StatefulSet"),
)

# namePrefix/nameSuffix change metadata.name of every object but these.
NAME_CHANGE_SKIPPED = frozenset({"CustomResourceDefinition", "APIService", "Namespace"})

# Kinds without a namespace: ``namespace`` leaves them alone (kustomize asks its
# OpenAPI schema; for the kinds netfence reads, these are the cluster-scoped ones).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "APIService",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "RuntimeClass",
        "CSIDriver",
        "CSINode",
        "CertificateSigningRequest",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "VolumeAttachment",
        "PodSecurityPolicy",
        "FlowSchema",
        "PriorityLevelConfiguration",
        "ComponentStatus",
        "GlobalNetworkPolicy",
        "GlobalNetworkSet",
        "CiliumClusterwideNetworkPolicy",
        "AdminNetworkPolicy",
        "BaselineAdminNetworkPolicy",
        "ClusterNetworkPolicy",
    }
)

# strategic merge patch: the merge key of lists of objects, by the field that
# holds the list (and, where one name means two lists, the kind's context).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "conditions": "type",
    "resourceClaims": "name",
}
# ``ports``: a container's by containerPort, a Service's by port.
CONTAINER_PORT_KEY = "containerPort"
SERVICE_PORT_KEY = "port"
