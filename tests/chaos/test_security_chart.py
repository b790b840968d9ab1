"""The chart's security posture, rendered with ``helm template`` in several variants:
RBAC without wildcards and with Secrets readable only one by one (``get``, never
``list``/``watch``, which would hand over every Secret of a namespace), and a Deployment
that runs non-root on a read-only root file system with no privilege escalation.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import yaml
from hack import buildtools

from tests.fixtures.operator import REPO

CHART = REPO / "charts" / "ads-operator"
BASE = ("--set", "oci.region=eu-frankfurt-1")
VARIANTS = {
    "defaults": (),
    "watch-namespaces": ("--set", "watchNamespaces={team-a,team-b}"),
    "peering": ("--set", "peering.enabled=true"),
    "api-key": ("--set", "oci.auth=api_key", "--set", "oci.apiKey.secretName=oci-creds"),
    "no-secret-reads": ("--set", "rbac.readSecrets=false", "--set", "rbac.readConfigMaps=false"),
}
RBAC_KINDS = ("Role", "ClusterRole")


def render(*args: str) -> list[dict[str, Any]]:
    helm = buildtools.find_binary("helm")
    result = subprocess.run(
        [str(helm), "template", "sec", str(CHART), "--namespace", "ads-system", *BASE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(*VARIANTS[request.param])


def test_rbac_has_no_wildcards_and_secrets_are_get_only(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    variant, docs = rendered
    roles = [d for d in docs if d["kind"] in RBAC_KINDS]
    assert roles, f"{variant}: no Role or ClusterRole rendered"
    for role in roles:
        for rule in role.get("rules") or []:
            where = f"{variant}: {role['kind']} {role['metadata']['name']} rule {rule}"
            for key in ("verbs", "resources", "apiGroups", "resourceNames", "nonResourceURLs"):
                assert not any("*" in str(v) for v in rule.get(key) or []), where
            if "secrets" in (rule.get("resources") or []):
                assert set(rule["verbs"]) == {"get"}, where
            assert not {"escalate", "bind", "impersonate"} & set(rule.get("verbs") or []), where
    if variant == "no-secret-reads":
        granted = {r for role in roles for rule in role["rules"] for r in rule["resources"]}
        assert "secrets" not in granted


def test_deployment_is_non_root_read_only_and_unprivileged(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    variant, docs = rendered
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    assert len(deployments) == 1, variant
    pod = deployments[0]["spec"]["template"]["spec"]
    pod_context = pod.get("securityContext") or {}
    assert pod_context.get("runAsNonRoot") is True, variant
    assert pod_context.get("runAsUser", 1) != 0, variant
    for host_namespace in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(host_namespace), f"{variant}: {host_namespace}"
    for container in [*pod["containers"], *(pod.get("initContainers") or [])]:
        context = container.get("securityContext") or {}
        where = f"{variant}: container {container['name']}"
        assert context.get("readOnlyRootFilesystem") is True, where
        assert context.get("allowPrivilegeEscalation") is False, where
        assert context.get("privileged") in (None, False), where
        assert context.get("runAsUser", 1) != 0, where
        assert context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is True, where
        assert "ALL" in ((context.get("capabilities") or {}).get("drop") or []), where
        assert not (context.get("capabilities") or {}).get("add"), where
