"""Property tests of the ADS YAML converter (``ads_operator.ads.yaml_io``).

* No crash: whatever a user feeds ``ads-operator convert`` (any YAML-shaped data, at the
  top or inside ``infrastructure``/``runtime``), the converter returns a manifest or
  raises :class:`ConversionError` with a message; nothing else escapes.
* Round trip: for generated valid jobs (any runtime the generator knows, arbitrary
  unicode in names, env values and arguments), manifest -> ADS YAML text -> manifest is
  the identity, and import is idempotent.

Seeded through hypothesis' database-free profile below, so CI runs are reproducible
(``derandomize``); examples are bounded to keep the unit tier quick.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ads_operator.ads import yaml_io

C = "ocid1.compartment.oc1..aaaaaaaaexample"
P = "ocid1.datascienceproject.oc1.iad.aaaaaaaaexample"
PROPERTY = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# YAML-shaped data: what yaml.safe_load can give for an arbitrary file.
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
yaml_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
# Text YAML can carry: no surrogates, no control characters other than tab/newline.
yaml_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff\ufffe\uffff"
    ),
    max_size=40,
)
env_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
k8s_names = st.from_regex(r"[a-z]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


@st.composite
def job_manifests(draw: st.DrawFn) -> dict[str, Any]:
    """A valid DataScienceJob manifest (script, python or container runtime)."""
    kind = draw(st.sampled_from(["script", "python", "container"]))
    runtime: dict[str, Any] = {}
    if kind == "container":
        runtime["image"] = draw(st.sampled_from(["iad.ocir.io/ns/app:1", "busybox:latest"]))
    else:
        runtime["scriptPathURI"] = draw(
            st.sampled_from(["configmap://code/main.py", "oci://bucket@ns/src/main.py"])
        )
    env = draw(st.dictionaries(env_names, yaml_text, max_size=5))
    if env:
        runtime["env"] = [{"name": k, "value": v} for k, v in env.items()]
    args = draw(st.lists(yaml_text, max_size=4))
    if args and kind != "container":
        runtime["args"] = args
    tags = draw(st.dictionaries(env_names, yaml_text, max_size=3))
    if tags:
        runtime["freeformTags"] = tags
    infra: dict[str, Any] = {
        "compartmentId": C,
        "projectId": P,
        "shapeName": draw(st.sampled_from(["VM.Standard.E4.Flex", "VM.Standard2.1"])),
    }
    if infra["shapeName"].endswith("Flex"):
        infra["shapeConfigDetails"] = {
            "ocpus": draw(st.integers(1, 64)),
            "memoryInGBs": draw(st.integers(1, 512)),
        }
    if draw(st.booleans()):
        infra["blockStorageSize"] = draw(st.integers(50, 10240))
    spec: dict[str, Any] = {
        "name": draw(yaml_text.filter(lambda s: s.strip() != "")),
        "infrastructure": {"kind": "infrastructure", "type": "dataScienceJob", "spec": infra},
        "runtime": {"kind": "runtime", "type": kind, "spec": runtime},
    }
    if draw(st.booleans()):
        spec["deletionPolicy"] = draw(st.sampled_from(["Delete", "Orphan"]))
    manifest: dict[str, Any] = {
        "apiVersion": "ads.oci.dev/v1alpha1",
        "kind": "DataScienceJob",
        "metadata": {"name": draw(k8s_names)},
        "spec": spec,
    }
    yaml_io.validate_job_spec(manifest["spec"])  # the generator must only make valid jobs
    return manifest


def convert_or_message(document: dict[str, Any]) -> dict[str, Any] | str:
    """The manifest, or the ConversionError's message; any other exception propagates."""
    try:
        return yaml_io.ads_to_manifest(document, name="x")
    except yaml_io.ConversionError as exc:
        return str(exc)


@PROPERTY
@given(document=yaml_values)
def test_import_of_any_yaml_data_returns_a_manifest_or_a_conversion_error(
    document: Any,
) -> None:
    if not isinstance(document, dict):
        document = {"kind": "job", "spec": document}
    result = convert_or_message(document)
    assert result, "a ConversionError needs a message"
    if isinstance(result, dict):
        assert result["kind"] == "DataScienceJob"


@PROPERTY
@given(infra=yaml_values, runtime=yaml_values, name=yaml_values)
def test_import_of_garbage_inside_a_job_never_crashes(infra: Any, runtime: Any, name: Any) -> None:
    document = {
        "kind": "job",
        "spec": {
            "name": name,
            "infrastructure": {"kind": "infrastructure", "type": "dataScienceJob", "spec": infra},
            "runtime": {"kind": "runtime", "type": "python", "spec": runtime},
        },
    }
    original = copy.deepcopy(document)
    assert convert_or_message(document), "a ConversionError needs a message"
    assert document == original, "import must not modify its input"


@PROPERTY
@given(manifest=job_manifests())
def test_manifest_to_ads_yaml_and_back_is_the_identity(manifest: dict[str, Any]) -> None:
    text = yaml.safe_dump(yaml_io.manifest_to_ads(manifest), sort_keys=False, allow_unicode=True)
    back = yaml_io.ads_to_manifest(yaml.safe_load(text))
    assert back == manifest


@PROPERTY
@given(manifest=job_manifests())
def test_import_is_idempotent_and_ads_only_export_keeps_the_ads_keys(
    manifest: dict[str, Any],
) -> None:
    once = yaml_io.ads_to_manifest(yaml_io.manifest_to_ads(manifest))
    twice = yaml_io.ads_to_manifest(yaml_io.manifest_to_ads(once))
    assert once == twice
    ads_only = yaml_io.manifest_to_ads(manifest, ads_only=True)
    assert yaml_io.KUBERNETES_BLOCK not in ads_only
    assert set(ads_only["spec"]) == set(manifest["spec"]) - {"deletionPolicy"}
    assert ads_only["spec"]["runtime"] == manifest["spec"]["runtime"]
