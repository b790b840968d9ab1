"""The generated CRDs: in sync with the models, structural, and carrying the rules,
columns and names the design asks for."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ads_operator.commands import crds as crds_command
from ads_operator.models import crd_rules, crdgen
from ads_operator.models.runtime_rules import UNTYPED_KEYS

ROOT = Path(__file__).resolve().parents[3]


def test_committed_crds_and_chart_copies_match_a_fresh_generation() -> None:
    stale = crds_command.stale_files(ROOT)
    assert not stale, "run `make crds`:\n" + "\n".join(stale.values())


def test_check_fails_with_a_diff_when_a_file_differs(tmp_path: Path) -> None:
    args = argparse.Namespace(check=False, root=tmp_path)
    assert crds_command.main(args) == 0
    assert crds_command.stale_files(tmp_path) == {}
    target = tmp_path / crdgen.CHART_CRD_DIR / "datasciencejobs.ads.oci.dev.yaml"
    target.write_text(target.read_text().replace("dsjob", "dsjobx"))
    stale = crds_command.stale_files(tmp_path)
    assert list(stale) == [crdgen.CHART_CRD_DIR / "datasciencejobs.ads.oci.dev.yaml"]
    assert "-    - dsjobx" in stale[crdgen.CHART_CRD_DIR / "datasciencejobs.ads.oci.dev.yaml"]
    assert crds_command.main(argparse.Namespace(check=True, root=tmp_path)) == 1


#: The only defaults the CRDs apply: status, so that observedGeneration's applies too, read
#: as "not observed yet" until the operator's first status write (kstatus: InProgress).
DEFAULTED = {".status": {}, ".status.observedGeneration": 0}


def test_the_only_defaults_are_the_unobserved_status() -> None:
    for crd in (crdgen.job_crd(), crdgen.run_crd()):
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        found = {path: node["default"] for path, node in walk(schema) if "default" in node}
        assert found == DEFAULTED


def walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.get("properties", {}).items():
            yield from walk(value, f"{path}.{key}")
        if isinstance(node.get("items"), dict):
            yield from walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            yield from walk(node["additionalProperties"], f"{path}{{}}")


@pytest.mark.parametrize("crd", [crdgen.job_crd(), crdgen.run_crd()], ids=["job", "run"])
def test_schemas_are_structural(crd: dict[str, Any]) -> None:
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in walk(schema):
        for junctor in ("anyOf", "oneOf", "allOf", "not", "$ref", "const", "title"):
            assert junctor not in node, f"{path} has {junctor}"
        if path not in DEFAULTED:
            assert "default" not in node, f"{path} has a default"
        assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields"), path
        if node.get("type") == "string" and "enum" not in node and path.startswith(".spec"):
            rules = node.get("x-kubernetes-validations", [])
            if rules:
                assert "maxLength" in node, f"{path}: a CEL-checked string needs maxLength"


def test_unknown_fields_are_kept_only_where_intended() -> None:
    schema = crdgen.job_schema()
    kept = {p for p, n in walk(schema) if n.get("x-kubernetes-preserve-unknown-fields")}
    assert kept == {f".spec.runtime.spec.{key}" for key in UNTYPED_KEYS}
    assert not {
        p for p, n in walk(crdgen.run_schema()) if n.get("x-kubernetes-preserve-unknown-fields")
    }


def test_rules_never_name_untyped_fields() -> None:
    for rule in crd_rules.runtime_rules():
        for key in UNTYPED_KEYS:
            assert f".{key})" not in rule["rule"]
            assert f".{key} " not in rule["rule"]


def test_cross_field_rules_are_present() -> None:
    schema = crdgen.job_schema()
    infra = schema["properties"]["spec"]["properties"]["infrastructure"]["properties"]["spec"]
    infra_rules = " ".join(r["rule"] for r in infra["x-kubernetes-validations"])
    assert "endsWith('Flex')" in infra_rules
    assert "ME_STANDALONE" in infra_rules
    runtime = schema["properties"]["spec"]["properties"]["runtime"]
    runtime_rules = " ".join(r["rule"] for r in runtime["x-kubernetes-validations"])
    assert "self.type != 'gitPython' || has(self.spec.conda)" in runtime_rules
    assert "has(self.spec.notebookPathURI) != has(self.spec.source)" in runtime_rules
    run_rules = crdgen.run_schema()["properties"]["spec"]["x-kubernetes-validations"]
    immutable = [r for r in run_rules if "oldSelf" in r["rule"]]
    assert {r["fieldPath"] for r in immutable} >= {".jobRef", ".args", ".envVars", ".image"}
    assert not any(r.get("fieldPath") == ".cancel" for r in run_rules)


def test_names_columns_and_status() -> None:
    job, run = crdgen.job_crd(), crdgen.run_crd()
    assert job["metadata"]["name"] == "datasciencejobs.ads.oci.dev"
    assert job["spec"]["names"]["shortNames"] == ["dsjob"]
    assert run["spec"]["names"]["shortNames"] == ["dsjobrun"]
    for crd in (job, run):
        assert crd["spec"]["names"]["categories"] == ["oci", "datascience"]
        assert crd["spec"]["versions"][0]["subresources"] == {"status": {}}
    job_columns = {c["name"]: c for c in job["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert list(job_columns) == ["State", "Runs", "Age", "OCID"]
    assert job_columns["OCID"]["priority"] == 1
    run_columns = [c["name"] for c in run["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert run_columns[:6] == ["Phase", "State", "Exit", "Duration", "Job", "Age"]


def test_descriptions_are_single_lines_for_kubectl_explain() -> None:
    for path, node in walk(crdgen.job_schema()):
        if "description" in node:
            assert "\n" not in node["description"], path
            assert "``" not in node["description"], path
