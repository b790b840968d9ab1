"""Static checks of the Helm chart: lint, schema, rendering, checkov, server-side dry run.

Rendering needs only helm; the dry runs need the API server, which validates every object
against its real schema (CRDs included) without creating anything. The variants cover each
branch of the templates: cluster-wide and namespaced RBAC, peering, the auth modes,
optional objects on and off.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from hack import buildtools

from ads_operator import cli, settings
from ads_operator.commands import chartschema
from tests.fixtures.cluster import Cluster
from tests.fixtures.resources import wait_for_condition

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "ads-operator"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
REGION = ("--set", "oci.region=eu-frankfurt-1")
DIGEST = "sha256:" + "0123456789abcdef" * 4
#: A value of the right type for every setting (the type comes from values.schema.json);
#: strings go through --set-string so that helm does not turn "7" into a number.
STRING_VALUES = {
    "clusterId": "prod-7",
    "metricsAddress": "127.0.0.7",
    "sourceAllowedNetworks": "127.0.0.7/32",
}
SETTING_TYPES = {
    key: prop.get("type") or ()  # numbers are an anyOf without a top-level type
    for key, prop in json.loads((CHART / "values.schema.json").read_text())["properties"][
        "settings"
    ]["properties"].items()
}
ALL_SETTINGS = tuple(
    arg
    for key in yaml.safe_load((CHART / "values.yaml").read_text())["settings"]
    for arg in (
        ("--set-string", f"settings.{key}={STRING_VALUES.get(key, 'value-7')}")
        if "string" in SETTING_TYPES[key]
        else ("--set", f"settings.{key}=7")
    )
)

#: name -> extra helm arguments; every template branch is taken by at least one.
VARIANTS: dict[str, tuple[str, ...]] = {
    "defaults": REGION,
    "namespaced-peering": (
        *REGION,
        "--set",
        "watchNamespaces={team-a,team-b}",
        "--set",
        "peering.enabled=true",
    ),
    "cluster-peering": (*REGION, "--set", "peering.enabled=true"),
    "api-key-digest-debug": (
        "--set",
        "oci.auth=api_key",
        "--set",
        "oci.apiKey.secretName=oci-api-key",
        "--set",
        f"image.digest={DIGEST}",
        "--set",
        "logLevel=debug",
        *ALL_SETTINGS,
    ),
    "instance-principal-minimal": (
        "--set",
        "oci.auth=instance_principal",
        "--set",
        "crds.install=false",
        "--set",
        "networkPolicy.enabled=false",
        "--set",
        "rbac.readSecrets=false",
        "--set",
        "rbac.readConfigMaps=false",
    ),
    "metrics": (*REGION, "--set", "metrics.enabled=true"),
    "multi-tenant": (*REGION, "--set", "tenancy.mode=multi"),
    # A node without a pod network (hack/ 's local node, docs/install.md).
    "host-network": (
        *REGION,
        "--set",
        "hostNetwork=true",
        "--set",
        "settings.metricsAddress=127.0.0.1",
    ),
}


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(buildtools.find_binary("helm")), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def render(*values: str, namespace: str = "ads-system", crds: bool = False) -> str:
    extra = ("--include-crds",) if crds else ()
    return helm("template", "rel", str(CHART), "--namespace", namespace, *extra, *values).stdout


def objects(manifest: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


def of_kind(docs: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def container(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = of_kind(docs, "Deployment")
    (operator,) = deployment["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = operator
    return result


def test_helm_lint_strict_is_clean() -> None:
    proc = helm("lint", "--strict", str(CHART), *REGION)
    assert "[WARNING]" not in proc.stdout
    assert "[ERROR]" not in proc.stdout


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_renders_and_the_operator_accepts_its_flags(variant: str) -> None:
    docs = objects(render(*VARIANTS[variant]))
    args = container(docs)["args"]
    parsed = cli.build_parser("run").parse_args(["run", *args])
    assert parsed.all_namespaces != bool(parsed.namespace)


def test_the_environment_names_only_real_settings() -> None:
    env = container(objects(render(*VARIANTS["api-key-digest-debug"])))["env"]
    names = {e["name"] for e in env if e["name"].startswith(settings.PREFIX)}
    known = {name for name, _ in settings.describe()}
    assert names - known == set()
    assert len(names) > len(ALL_SETTINGS) // 2, "every settings value reaches the env"


def test_crds_are_the_generated_files_plus_labels_and_keep_policy() -> None:
    rendered = {d["metadata"]["name"]: d for d in objects(render(*REGION))}
    for path in sorted((CHART / "files" / "crds").glob("*.yaml")):
        (generated,) = [d for d in yaml.safe_load_all(path.read_text()) if d]
        crd = rendered[generated["metadata"]["name"]]
        assert crd["spec"] == generated["spec"], path.name
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    unkept = objects(render(*REGION, "--set", "crds.keep=false"))
    assert all(
        "helm.sh/resource-policy" not in (d["metadata"].get("annotations") or {})
        for d in of_kind(unkept, "CustomResourceDefinition")
    )
    assert (
        of_kind(objects(render(*REGION, "--set", "crds.install=false")), "CustomResourceDefinition")
        == []
    )


def test_namespaced_mode_grants_nothing_cluster_wide_but_discovery() -> None:
    docs = objects(render(*VARIANTS["namespaced-peering"]))
    (cluster_role,) = of_kind(docs, "ClusterRole")
    assert cluster_role["rules"] == [
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "verbs": ["list", "watch"],
        },
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["servicecidrs"], "verbs": ["list"]},
    ]
    roles = of_kind(docs, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    bindings = of_kind(docs, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    peerings = of_kind(docs, "KopfPeering")
    assert sorted(p["metadata"]["namespace"] for p in peerings) == ["team-a", "team-b"]
    assert "--namespace=team-a" in container(docs)["args"]


def test_multi_tenant_mode_reads_the_policy_and_namespaces_and_installs_admission() -> None:
    tenancy_reads = [
        {
            "apiGroups": ["ads.oci.dev"],
            "resources": ["datasciencetenancypolicies"],
            "verbs": ["get"],
        },
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
    ]
    multi = objects(render(*VARIANTS["multi-tenant"]))
    (role,) = of_kind(multi, "ClusterRole")
    assert all(rule in role["rules"] for rule in tenancy_reads)
    env = {e["name"]: e.get("value") for e in container(multi)["env"]}
    assert env["ADS_OPERATOR_MULTI_TENANT"] == "true"
    bindings = of_kind(multi, "ValidatingAdmissionPolicyBinding")
    denying = [b for b in bindings if "paramRef" in b["spec"]]
    assert len(denying) == 2
    assert all(b["spec"]["paramRef"]["parameterNotFoundAction"] == "Deny" for b in denying)
    # Single-tenant (the default): no admission objects, no tenancy reads, no setting.
    single = objects(render(*REGION))
    (role,) = of_kind(single, "ClusterRole")
    assert not any(rule in role["rules"] for rule in tenancy_reads)
    assert not of_kind(single, "ValidatingAdmissionPolicy")
    assert "ADS_OPERATOR_MULTI_TENANT" not in {e["name"] for e in container(single)["env"]}


#: What the operator may create or delete: Events, and runs (schedules create them,
#: TTL and history limits delete them). Never jobs, Secrets, ConfigMaps or anything else.
WRITABLE = {("", "events"): {"create"}, ("ads.oci.dev", "datasciencejobruns"): {"create", "delete"}}


def test_no_role_can_write_anything_but_events_and_runs() -> None:
    for variant in VARIANTS.values():
        for role in of_kind(objects(render(*variant)), "ClusterRole") + of_kind(
            objects(render(*variant)), "Role"
        ):
            for rule in role["rules"]:
                writes = set(rule["verbs"]) & {"create", "update", "delete", "deletecollection"}
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        assert writes <= WRITABLE.get((group, resource), set()), rule
                assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]


def test_the_pod_is_hardened() -> None:
    docs = objects(render(*REGION))
    (deployment,) = of_kind(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    operator = container(docs)
    security = operator["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert operator["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert any(a.endswith(":8080/healthz") for a in operator["args"])
    assert set(operator["resources"]) == {"requests", "limits"}


def test_host_network_binds_and_probes_loopback_only() -> None:
    docs = objects(render(*VARIANTS["host-network"]))
    (deployment,) = of_kind(docs, "Deployment")
    assert deployment["spec"]["template"]["spec"]["hostNetwork"] is True
    operator = container(docs)
    assert "--liveness=http://127.0.0.1:8080/healthz" in operator["args"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert operator[probe]["httpGet"]["host"] == "127.0.0.1"
    default = container(objects(render(*REGION)))
    assert "host" not in default["readinessProbe"]["httpGet"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (("--set", "replicas=-1"), "at '/replicas': minimum"),
        (("--set", "oci.auth=password"), "at '/oci/auth': value must be one of"),
        (("--set", "watchNamespaces={Bad_NS}"), "at '/watchNamespaces/0'"),
        (("--set", "watchNamespaces={a,a}"), "at '/watchNamespaces': items at 0 and 1 are equal"),
        (("--set", "replica=2"), "additional properties 'replica' not allowed"),
        (("--set", "settings.pollIntervall=3"), "additional properties 'pollIntervall'"),
        (("--set", "settings.pollInterval=0"), "at '/settings/pollInterval'"),
        (("--set", "settings.logEventMaxBytes=2048"), "at '/settings/logEventMaxBytes': maximum"),
        (("--set", "logLevel=trace"), "at '/logLevel'"),
        (("--set", "replicas=2"), "replicas > 1 needs peering.enabled=true"),
        (("--set", "oci.auth=api_key"), "oci.auth=api_key needs oci.apiKey.secretName"),
        (("--set", "oci.region="), "oke_workload_identity needs oci.region"),
    ],
)
def test_wrong_values_fail_with_a_message_naming_them(
    values: tuple[str, ...], message: str
) -> None:
    proc = helm("template", "rel", str(CHART), *REGION, *values, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_checkov_finds_nothing_unjustified(tmp_path: Path) -> None:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: `make test` (or `make chart-lint`) creates it")
    for name, values in VARIANTS.items():
        (tmp_path / f"{name}.yaml").write_text(render(*values, crds=True))
    proc = subprocess.run(
        [
            *(str(CHECKOV), "--directory", str(tmp_path), "--framework", "kubernetes"),
            *("--compact", "--quiet", "--skip-download", "--output", "cli"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    skipped = re.findall(r"Skipped checks: (\d+)", proc.stdout)
    assert skipped, proc.stdout  # the scan ran and reported
    justified = re.findall(
        r"checkov\.io/skip\d+: (CKV\w+)=",
        "".join((tmp_path / f"{name}.yaml").read_text() for name in VARIANTS),
    )
    # CKV_K8S_19 (host network) only where hostNetwork=true asks for it.
    reviewed = {"CKV_K8S_38", "CKV_K8S_43", "CKV_K8S_19"}
    assert set(justified) <= reviewed, "every skip is reviewed here"


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_api_server_accepts_every_object(cluster: Cluster, variant: str) -> None:
    release_ns = f"t-{uuid.uuid4().hex[:8]}"
    values = VARIANTS[variant]
    manifest = render(*values, namespace=release_ns)
    for ns in {release_ns, *re.findall(r"^  namespace: (\S+)$", manifest, flags=re.M)}:
        if cluster.kubectl("get", "namespace", ns, check=False).returncode != 0:
            cluster.kubectl("create", "namespace", ns)
    # The peering kinds come from the chart's crds/ folder, which helm installs first.
    cluster.kubectl("apply", "--server-side", "-f", str(CHART / "crds"))
    for crd in ("kopfpeerings.kopf.dev", "clusterkopfpeerings.kopf.dev"):
        wait_for_condition(cluster, f"crd/{crd}", "Established", timeout=30)
    proc = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=manifest)
    assert "(server dry run)" in proc.stdout


def test_the_bundle_applies(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    output = tmp_path / "install.yaml"
    subprocess.run(
        [str(ROOT / "hack" / "bundle"), "--output", str(output), "--namespace", namespace],
        check=True,
        capture_output=True,
        text=True,
    )
    bundle = output.read_text()
    kinds = [d["kind"] for d in objects(bundle)]
    assert kinds[0] == "Namespace"
    generated = len(list((CHART / "files" / "crds").glob("*.yaml")))
    assert kinds.count("CustomResourceDefinition") == 2 + generated  # + kopf's peering kinds
    assert {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment"} <= set(kinds)
    proc = cluster.kubectl("apply", "--dry-run=server", "-f", str(output))
    assert f"namespace/{namespace} configured (server dry run)" in proc.stdout  # new labels
    assert "deployment.apps/ads-operator created (server dry run)" in proc.stdout


def test_the_pod_meets_the_restricted_pod_security_standard(cluster: Cluster) -> None:
    """The API server's own PodSecurity admission judges the Deployment's pod template."""
    namespace = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", namespace)
    cluster.kubectl(
        "label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted"
    )
    (deployment,) = of_kind(objects(render(*REGION, namespace=namespace)), "Deployment")
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "operator", "namespace": namespace},
        "spec": deployment["spec"]["template"]["spec"],
    }
    accepted = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(pod))
    assert "pod/operator created (server dry run)" in accepted.stdout
    # The control: the same pod, weakened, is refused, so the check above is live.
    pod["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    refused = cluster.kubectl(
        "apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(pod), check=False
    )
    assert refused.returncode != 0
    assert "violates PodSecurity" in refused.stderr


def _probes(name: str) -> list[object]:
    """Values at and around each limit of a setting: what helm and the operator judge."""
    bounds = settings.BOUNDS[name]
    default = getattr(settings.Settings(), name)
    if isinstance(default, str) and bounds.pattern is not None:  # networks (CIDRs)
        return ["", "127.0.0.1/32", "10.1.2.3/8, fd00::/8", "::1", "nope", "10.0.0.0/33", "a::b::c"]
    if isinstance(default, str):
        return ["", "x", "x" * 255, "x" * 256]
    limits = [v for v in (bounds.at_least, bounds.above, bounds.at_most, bounds.below) if v]
    whole = sorted({int(v) + d for v in [0, *limits] for d in (-1, 0, 1)})
    if isinstance(default, int):
        return [*whole, 2.5]
    halves = sorted({v + d for v in [0, *limits] for d in (-0.5, 0.5)})
    # helm's --set turns decimals into strings: the schema's pattern judges those.
    return [*whole, *halves, *(str(v) for v in halves), "1e3", "soon"]


def test_the_chart_refuses_exactly_the_settings_the_operator_refuses(tmp_path: Path) -> None:
    """Every offered setting at and around its limits: helm's verdict (values.schema.json)
    and the operator's (``SettingsError`` at startup) must agree, so no install that helm
    takes can end in a crash loop. Helm reports every failing key at once, so each round
    sets every setting to one of its probes."""
    probes = {name: _probes(name) for name in chartschema.offered() if name in settings.BOUNDS}
    disagreements = []
    for index in range(max(len(p) for p in probes.values())):
        round_values = {n: p[index] for n, p in probes.items() if index < len(p)}
        values = tmp_path / f"round-{index}.yaml"
        values.write_text(
            yaml.safe_dump({"settings": {chartschema.camel(n): v for n, v in round_values.items()}})
        )
        judged = helm("template", "rel", str(CHART), *REGION, "-f", str(values), check=False)
        # What the chart would hand the operator without the schema: helm's own rendering
        # of each value (a values file's 1000000 becomes "1e+06").
        unchecked = render(*REGION, "-f", str(values), "--skip-schema-validation")
        env = {e["name"]: e.get("value") for e in container(objects(unchecked))["env"]}
        for name, value in round_values.items():
            variable = settings.PREFIX + name.upper()
            try:
                settings.from_env({variable: env[variable]})
                operator_refuses = False
            except settings.SettingsError:
                operator_refuses = True
            helm_refuses = f"at '/settings/{chartschema.camel(name)}'" in judged.stderr
            if helm_refuses != operator_refuses:
                disagreements.append((name, value, env[variable], helm_refuses, operator_refuses))
    assert disagreements == [], "(setting, value, rendered, helm refuses, operator refuses)"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (("--set", "settings.logTailLines=500"), "at '/settings/logTailLines': maximum"),
        (
            ("--set", "oci.endpoint=http://10.0.0.5:8080"),
            "at '/oci/endpoint': 'http://10.0.0.5:8080' does not match pattern",
        ),
    ],
)
def test_values_the_operator_would_refuse_fail_the_install(
    values: tuple[str, ...], message: str
) -> None:
    """The issue's two crash loops: both now stop at `helm template` / `helm install`."""
    proc = helm("template", "rel", str(CHART), *REGION, *values, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_a_remote_endpoint_installs_once_allowed() -> None:
    endpoint = ("--set", "oci.endpoint=https://datascience.example.com")
    assert helm("template", "rel", str(CHART), *REGION, *endpoint, check=False).returncode != 0
    allowed = render(*REGION, *endpoint, "--set", "oci.allowRemoteEndpoint=true")
    env = {e["name"]: e.get("value") for e in container(objects(allowed))["env"]}
    assert env["ADS_OPERATOR_OCI_ENDPOINT"] == "https://datascience.example.com"
    settings.from_env({k: v for k, v in env.items() if v and k.startswith(settings.PREFIX)})


def test_helm_prints_no_symbolic_link_warning() -> None:
    proc = helm("template", "rel", str(CHART), *REGION)
    assert "symbolic link" not in proc.stderr


@pytest.mark.parametrize(
    ("values", "address"),
    [
        ((), "0.0.0.0"),  # noqa: S104 (pod network: the metrics Service must reach the pod)
        (("--set", "hostNetwork=true"), None),  # the node's interfaces: the loopback default
        (("--set-string", "settings.metricsAddress=10.1.2.3"), "10.1.2.3"),
        (("--set", "metrics.enabled=false"), None),
    ],
)
def test_metrics_bind_loopback_unless_the_pod_network_needs_them(
    values: tuple[str, ...], address: str | None
) -> None:
    env = {e["name"]: e.get("value") for e in container(objects(render(*REGION, *values)))["env"]}
    assert env.get("ADS_OPERATOR_METRICS_ADDRESS") == address
    if address is None:
        assert settings.from_env({}).metrics_address == "127.0.0.1"
