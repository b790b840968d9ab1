"""Every example in examples/ becomes an OCI job through the real SDK, and runs.

The translation and artifact building are the operator's own (``ads_operator.ads``); the
calls go through the unmodified ``oci`` SDK to the emulator, whose SDK-side
deserialisation and service-side validation both have to accept them. The emulator then
really executes the artifacts on this machine.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ads_operator.ads import translate
from ads_operator.ads.artifacts import SourceFiles
from ads_operator.ads.sources import Source
from ads_operator.models import DataScienceJobRunSpec, DataScienceJobSpec
from ads_operator.usecases.artifacts import build_artifact
from oci_emulator.sandbox import PIP_REFUSED_EXIT
from tests.emulator.test_isolation import fingerprint
from tests.fixtures.emulator import EmulatorHandle, OciClients
from tests.fixtures.waiting import wait_for

EXAMPLE_LOG_GROUP = "ocid1.loggroup.oc1.iad.aaaaaaaaexampleloggroup"
EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
#: Every example's run must succeed on the emulator, but these (their headers say why):
#: the pyTorchDistributed one installs torch, and the emulator refuses installs unless it
#: runs with --allow-installs (the pip stand-in's exit code fails each node).
EXPECTED_FAILURE = {"pytorch-job.yaml": f"exit code {PIP_REFUSED_EXIT}"}
#: Examples whose run has been executed, for the environment check at the end.
EXECUTED: set[str] = set()
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED"}


class ConfigMapReader:
    """The ConfigMaps of an example file, read the way the operator reads them in-cluster."""

    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.data = {
            d["metadata"]["name"]: d.get("data", {}) for d in documents if d["kind"] == "ConfigMap"
        }

    async def read(self, source: Source) -> SourceFiles:
        data = self.data[source.bucket]
        if source.path:
            return SourceFiles(source.path, {source.path: data[source.path].encode()}, False)
        return SourceFiles(source.bucket, {k: v.encode() for k, v in data.items()}, True)


@pytest.fixture(scope="module")
def environment_before() -> str:
    """The emulator's environment before the first example ran."""
    return fingerprint(Path(sys.prefix))


@pytest.fixture(scope="module")
def log_group_id(emulator: EmulatorHandle) -> str:
    """The placeholder log group every example names, seeded as `make demo` seeds it."""
    emulator.seed_log_group(
        EXAMPLE_LOG_GROUP, compartment="ocid1.compartment.oc1..aaaaaaaaexamplecompartment"
    )
    return EXAMPLE_LOG_GROUP


@pytest.fixture(scope="module")
def git_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local repository standing in for the gitPython example's remote (no network)."""
    repo = tmp_path_factory.mktemp("git") / "examples"
    (repo / "hello").mkdir(parents=True)
    (repo / "hello" / "hello.py").write_text("print('hello from git')\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "example"], cwd=repo, check=True)
    return repo


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_creates_a_job_and_runs(
    example: Path,
    oci_clients: OciClients,
    git_repo: Path,
    log_group_id: str,
    environment_before: str,
) -> None:
    documents = _documents(example)
    job_doc = next(d for d in documents if d["kind"] == "DataScienceJob")
    run_doc = next(d for d in documents if d["kind"] == "DataScienceJobRun")
    spec = DataScienceJobSpec.model_validate(job_doc["spec"])
    # Every example logs, to the placeholder group `make demo` seeds: output lines and
    # failure reasons become Events there.
    assert spec.infrastructure.spec.log_group_id == log_group_id
    if spec.runtime.type == "gitPython":
        spec.runtime.spec.url = f"file://{git_repo}"  # type: ignore[union-attr]
    ds = oci_clients.data_science

    job_details = translate.job_details(spec, region="us-ashburn-1")
    job = ds.create_job(job_details).data
    artifact = asyncio.run(build_artifact(spec, ConfigMapReader(documents)))
    if artifact is not None:
        ds.create_job_artifact(
            job.id,
            artifact.content,
            content_disposition=f"attachment; filename={artifact.file_name}",
        )
    job = wait_for(
        lambda: (j := ds.get_job(job.id).data).lifecycle_state == "ACTIVE" and j,
        timeout=30,
        what=f"{example.name}: the job to become ACTIVE",
    )
    assert job.display_name == job_details["displayName"]
    sent_config = job_details.get("jobConfigurationDetails", {})
    assert job.job_configuration_details.job_type == sent_config.get("jobType", "EMPTY")
    if sent_config.get("jobType") == "DEFAULT":
        # The environment variables are the ADS contract: they must arrive as sent.
        assert job.job_configuration_details.environment_variables == (
            sent_config.get("environmentVariables")
        )
    run_spec = DataScienceJobRunSpec.model_validate(run_doc["spec"])
    details = translate.run_details(
        spec, run_spec, job_id=job.id, project_id=job.project_id, compartment_id=job.compartment_id
    )
    run = ds.create_job_run(details).data
    run = wait_for(
        lambda: (r := ds.get_job_run(run.id).data).lifecycle_state in TERMINAL and r,
        timeout=120,
        what=f"{example.name}: the run to finish",
    )
    EXECUTED.add(example.name)
    if example.name in EXPECTED_FAILURE:
        assert run.lifecycle_state == "FAILED"
        assert EXPECTED_FAILURE[example.name] in run.lifecycle_details
        return
    assert (run.lifecycle_state, run.lifecycle_details) == (
        "SUCCEEDED",
        "Job run artifact execution succeeded. Infrastructure de-provisioning.",
    )


def test_no_example_changed_the_emulators_environment(environment_before: str) -> None:
    """Runs after every example above (pytest keeps a module's order): none of them, the
    pip-installing pyTorch one included, changed the environment the emulator runs in."""
    assert {e.name for e in EXAMPLES} == EXECUTED, "run the whole module"
    assert fingerprint(Path(sys.prefix)) == environment_before
