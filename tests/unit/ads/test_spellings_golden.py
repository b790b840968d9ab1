"""Every spelling ``convert`` accepts means to us what it means to oracle-ads 2.16.1.

``golden/ads_spellings.json`` holds ADS job YAML documents written with the spellings
ADS reads besides the canonical camelCase ones (other case, snake_case, the OCI
payload's names, the notebook's ``outputURI``), and the ``CreateJobDetails`` ADS built
from each, recorded by ``hack/record_ads_golden.py``. Here each document goes through
``convert`` (``ads_to_manifest``) and the operator's translation; the result must be
ADS's request, except for the differences listed with their reason. File Storage
mounts written by address are resolved with the Resource Search answers ADS was given.

The ``ignored-*`` cases hold a key ADS keeps and never reads (``blockStorageSizeInGBs``):
the recording shows ADS's job without the setting, and ``convert`` refuses the key,
naming the one ADS reads.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Final

import pytest

from ads_operator.ads import spellings, translate, yaml_io
from ads_operator.ads.mounts import Found
from ads_operator.commands import convert
from ads_operator.models import DataScienceJobSpec

GOLDEN: Final = json.loads((Path(__file__).parent / "golden" / "ads_spellings.json").read_text())
CASES: Final[dict[str, Any]] = {
    name: case for name, case in GOLDEN["cases"].items() if "ignored_key" not in case
}
#: What Resource Search answered ADS in the recording, answered to ``convert`` here.
SEARCH: Final = {
    text: [Found(*found) for found in answers]
    for text, answers in GOLDEN["about"]["resource_search"].items()
}
#: Documents with a key ADS keeps but never reads, and the key ADS reads instead.
IGNORED: Final[dict[str, Any]] = {
    name: case for name, case in GOLDEN["cases"].items() if "ignored_key" in case
}
_GROUP: Final = "jobNodeConfigurationDetails.jobNodeGroupConfigurationDetailsList.0."

#: (case, dotted path) -> (ADS's value, our value, why we differ)
KNOWN_DIFFERENCES: Final[dict[tuple[str, str], tuple[Any, Any, str]]] = {
    ("args-as-one-string", "jobConfigurationDetails.commandLineArguments"): (
        "- - e p o c h s ' ' 3 ' ' ''\"'\"'' t w o ' ' w o r d s ''\"'\"''",
        "--epochs 3 'two words'",
        "ADS quotes each character of a string args (it iterates over the string); we split "
        "it by shell rules, as ADS splits the arguments of a job it reads back",
    ),
    (
        "runtime-pyTorchDistributed",
        _GROUP + "jobInfrastructureConfigurationDetails.blockStorageSizeInGBs",
    ): (
        None,
        50,
        "OCI requires blockStorageSizeInGBs for MULTI_NODE infrastructure; ADS applies its "
        "50 GB default only to single-node jobs",
    ),
}


def _get(document: dict[str, Any], path: str) -> Any:
    node: Any = document
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node.get(part)
    return node


def _set(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value


@pytest.mark.parametrize("case", sorted(CASES))
def test_convert_then_translate_gives_what_ads_sends(case: str) -> None:
    (manifest,) = convert.convert_documents(
        [CASES[case]["ads_yaml"]],
        name=None,
        namespace=None,
        ads_only=False,
        search=lambda text: SEARCH.get(text, []),
    )
    ours = translate.job_details(DataScienceJobSpec.model_validate(manifest["spec"]))
    for (known_case, path), (ads_value, our_value, _why) in KNOWN_DIFFERENCES.items():
        if known_case == case:
            assert _get(ours, path) == our_value, f"{case}: {path} is no longer {our_value!r}"
            _set(ours, path, ads_value)
    assert ours == CASES[case]["create_job_details"]


def test_the_golden_cases_use_every_accepted_spelling() -> None:
    """The recorded documents exercise each spelling in the tables (all 56 of them)."""
    used_infra: set[str] = set()
    used_runtime: set[tuple[str, str]] = set()

    def walk_infra(mapping: dict[str, Any]) -> None:
        for key, value in mapping.items():
            if key not in spellings.INFRA_KEYS and key.lower() in spellings.INFRA_SNAKE:
                used_infra.add(key.lower())
            if isinstance(value, dict):
                walk_infra(value)

    for case in CASES.values():
        spec = case["ads_yaml"]["spec"]
        walk_infra(spec["infrastructure"]["spec"])
        runtime = spec["runtime"]
        used_runtime.update((runtime["type"], key) for key in runtime["spec"])
    assert used_infra >= set(spellings.INFRA_SNAKE) - {"ocpus"}
    wanted = {
        (str(type_), key) for type_, table in spellings.RUNTIME_SNAKE.items() for key in table
    } | {("notebook", spellings.NOTEBOOK_OUTPUT_URI_ALT)}
    assert used_runtime >= wanted
    assert len(set(spellings.INFRA_SNAKE) - {"ocpus"}) + len(wanted) == 56


def _without(document: dict[str, Any], path: str) -> dict[str, Any]:
    document = copy.deepcopy(document)
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node[part]
    del node[last]
    return document


@pytest.mark.parametrize("case", sorted(IGNORED))
def test_a_key_ads_ignores_is_refused_with_the_key_it_reads(case: str) -> None:
    recorded = IGNORED[case]
    message = f"ADS ignores this key; did you mean {recorded['ads_reads']}?"
    with pytest.raises(yaml_io.ConversionError) as raised:
        yaml_io.ads_to_manifest(recorded["ads_yaml"])
    assert str(raised.value) == f"{recorded['ignored_key']}: {message}"
    # ... and ADS did ignore it: its request is the one for the file without the key
    manifest = yaml_io.ads_to_manifest(_without(recorded["ads_yaml"], recorded["ignored_key"]))
    ours = translate.job_details(DataScienceJobSpec.model_validate(manifest["spec"]))
    assert ours == recorded["create_job_details"]


CODE_CASES: Final = sorted(
    name
    for name, case in CASES.items()
    if any(
        key in case["ads_yaml"]["spec"]["runtime"]["spec"]
        for key in ("script_path_uri", "notebook_path_uri", "scriptPathURI", "notebookPathURI")
    )
)


@pytest.mark.parametrize("upload", [None, "oci://code@ns/jobs"])
@pytest.mark.parametrize("case", CODE_CASES)
def test_local_code_converted_gives_the_job_ads_makes_from_the_local_file(
    case: str, upload: str | None, tmp_path: Path
) -> None:
    """ADS was recorded with the code as a local file: the same file given to convert
    (into a ConfigMap, or planned for upload) translates to the same request."""
    document = copy.deepcopy(CASES[case]["ads_yaml"])
    runtime = document["spec"]["runtime"]["spec"]
    for key in ("script_path_uri", "notebook_path_uri", "scriptPathURI", "notebookPathURI"):
        if key in runtime:
            name = Path(runtime[key]).name
            (tmp_path / name).write_text("print('hello')\n")
            runtime[key] = name  # relative, as an ADS user writes it
    documents = convert.convert_documents(
        [document], name=None, namespace=None, ads_only=False, upload=upload, base=tmp_path
    )
    assert [d["kind"] for d in documents] == (
        ["DataScienceJob"] if upload else ["ConfigMap", "DataScienceJob"]
    )
    ours = translate.job_details(DataScienceJobSpec.model_validate(documents[-1]["spec"]))
    for (known_case, path), (ads_value, _our_value, _why) in KNOWN_DIFFERENCES.items():
        if known_case == case:
            _set(ours, path, ads_value)
    assert ours == CASES[case]["create_job_details"]
