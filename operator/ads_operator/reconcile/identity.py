"""How OCI objects are tied to the Kubernetes resources that made them.

Provenance freeform tags (namespace, name, UID, cluster id) let the operator find an
object after a crash lost its OCID, and let it refuse an OCI job that another namespace
owns. Retry tokens derived from the UID make a repeated create return the first result
on the service side (within the token's 24 hours).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Final

TAG_NAMESPACE: Final = "k8s-namespace"
TAG_NAME: Final = "k8s-name"
TAG_UID: Final = "k8s-uid"
TAG_CLUSTER: Final = "k8s-cluster"
#: The replace-hash of the spec an OCI job was created from (a replacement is a new job).
TAG_SPEC: Final = "ads-operator-spec"
#: The attempt number of a retried run (runPolicy.backoffLimit); absent on attempt 1.
TAG_ATTEMPT: Final = "ads-operator-attempt"


def provenance(*, namespace: str, name: str, uid: str, cluster_id: str) -> dict[str, str]:
    return {TAG_NAMESPACE: namespace, TAG_NAME: name, TAG_UID: uid, TAG_CLUSTER: cluster_id}


#: Longest Kubernetes label value.
LABEL_VALUE_MAX: Final = 63


def fit_name(name: str, limit: int) -> str:
    """``name`` when it has at most ``limit`` characters; otherwise its head, a dash and a
    hash of the whole name: as long as ``limit``, the same for the same name, different
    for names that share the head, and still ending in a letter or digit (a Kubernetes
    name or label value must)."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    head = name[: limit - len(digest) - 1].rstrip("-_.")
    return f"{head}-{digest}" if head else digest[:limit]


def label_value(name: str) -> str:
    """A resource name as a label value (at most 63 characters; names may have 253)."""
    return fit_name(name, LABEL_VALUE_MAX)


def retry_token(*parts: str) -> str:
    """A stable opc-retry-token (<= 64 characters) from the given parts."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:48]


def owned_by(tags: Mapping[str, str], *, uid: str) -> bool:
    return tags.get(TAG_UID) == uid


def foreign_owner(tags: Mapping[str, str], *, namespace: str, cluster_id: str) -> str | None:
    """The namespace of another resource that owns this OCI object in this cluster, if any."""
    owner = tags.get(TAG_NAMESPACE)
    if owner and owner != namespace and tags.get(TAG_CLUSTER) == cluster_id:
        return owner
    return None
