"""Multi-node jobs (ADS's layout: one node group with container, config and infra).

Every replica is a process with the environment OCI gives a node of a distributed job; the
nodes really meet over loopback (``tests/fixtures/multinode.py``), and the node group
rules decide the run: all replicas succeed, or the run fails and the other replicas are
stopped; a cancel stops them all.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ads_operator.ads import translate
from ads_operator.ads.artifacts import SourceFiles
from ads_operator.ads.sources import Source
from ads_operator.models import DataScienceJobRunSpec, DataScienceJobSpec
from ads_operator.usecases.artifacts import build_artifact
from oci_emulator.multinode import plan_nodes
from tests.emulator.conftest import job_config, models, search_all
from tests.fixtures.emulator import OciClients
from tests.fixtures.multinode import MEET_SCRIPT, met_lines, pytorch_job
from tests.fixtures.waiting import wait_for

RANK_SCRIPT = (
    'echo "rank $NODE_RANK of $INITIAL_CLUSTER_SIZE in $NODE_GROUP_NAME";'
    " exit $(( NODE_RANK * FAIL ))"
)


def _group(
    *,
    replicas: int = 2,
    env: dict[str, str] | None = None,
    command: str | None = None,
    name: str = "node-group",
) -> Any:
    """A node group; with ``command`` it runs ``bash -c command`` (a container job),
    else the job's artifact."""
    container = None
    if command is not None:
        container = models.OcirContainerJobEnvironmentConfigurationDetails(
            image="iad.ocir.io/ns/trainer:1", entrypoint=["bash", "-c"], cmd=[command]
        )
    return models.JobNodeGroupConfigurationDetails(
        name=name,
        replicas=replicas,
        minimum_success_replicas=replicas,
        job_infrastructure_configuration_details=models.MultiNodeJobInfrastructureConfigurationDetails(
            shape_name="VM.Standard.E4.Flex",
            block_storage_size_in_gbs=50,
            job_shape_config_details=models.JobShapeConfigDetails(ocpus=1, memory_in_gbs=16),
        ),
        job_configuration_details=job_config(environment_variables=env),
        job_environment_configuration_details=container,
    )


@dataclass(frozen=True)
class Nodes:
    """Multi-node jobs and their runs in the test's compartment, logging to a log group of
    its own (what every test here starts from)."""

    oci_clients: OciClients
    compartment: str
    project: str
    log_group: str
    start_run: Callable[..., Any]
    wait_run: Callable[..., Any]

    def job(self, groups: list[Any], artifact: tuple[str, bytes] | None = None) -> Any:
        """A job of these node groups; with ``artifact=(name, bytes)`` it is uploaded."""
        ds = self.oci_clients.data_science
        job = ds.create_job(
            models.CreateJobDetails(
                project_id=self.project,
                compartment_id=self.compartment,
                job_node_configuration_details=models.MultiNodeJobNodeConfigurationDetails(
                    startup_order="IN_PARALLEL",
                    job_network_configuration=models.JobDefaultNetworkConfiguration(),
                    job_node_group_configuration_details_list=groups,
                ),
                job_log_configuration_details=models.JobLogConfigurationDetails(
                    enable_logging=True, enable_auto_log_creation=True, log_group_id=self.log_group
                ),
            )
        ).data
        if artifact is not None:
            name, data = artifact
            ds.create_job_artifact(job.id, data, content_disposition=f"attachment; filename={name}")
            job = ds.get_job(job.id).data
        return job

    def rank_job(self, fail: str) -> Any:
        """Two replicas that say their rank, and exit with ``rank * fail``."""
        return self.job([_group(env={"FAIL": fail}, command=RANK_SCRIPT)])

    def run_to_end(self, job: Any, **details: Any) -> Any:
        """A run of ``job`` (``details``: CreateJobRunDetails' fields), once it ended."""
        return self.wait_run(self.start_run(job, **details).id)

    def messages(self, run_id: str) -> list[str]:
        query = f"search \"{self.compartment}\" | where source = '*{run_id}' | sort by datetime asc"
        return [r["logContent"]["data"]["message"] for r in search_all(self.oci_clients, query)]


@pytest.fixture
def nodes(
    oci_clients: OciClients,
    compartment: str,
    project: str,
    make_log_group: Any,
    start_run: Any,
    wait_run: Any,
) -> Nodes:
    return Nodes(oci_clients, compartment, project, make_log_group(), start_run, wait_run)


def _has_lines(messages: list[str], prefixes: set[str]) -> bool:
    return all(any(m.startswith(p) for m in messages) for p in prefixes)


def test_multi_node_job_runs_every_replica(nodes: Nodes) -> None:
    job = nodes.rank_job(fail="0")
    assert job.lifecycle_state == "ACTIVE"
    assert job.job_configuration_details.job_type == "EMPTY"
    assert job.job_infrastructure_configuration_details.job_infrastructure_type == "EMPTY"
    config = job.job_node_configuration_details
    assert isinstance(config, models.MultiNodeJobNodeConfigurationDetails)
    assert config.job_node_group_configuration_details_list[0].replicas == 2
    run = nodes.start_run(job)
    assert [g.lifecycle_state for g in run.node_group_details_list] == ["CREATING"]
    done = nodes.wait_run(run.id)
    assert done.lifecycle_state == "SUCCEEDED", done.lifecycle_details
    group = done.node_group_details_list[0]
    assert (group.lifecycle_state, group.lifecycle_details) == (
        "DELETED",
        "2 of 2 replicas succeeded (2 needed).",
    )
    lines = set(nodes.messages(run.id))
    assert {"rank 0 of 2 in node-group", "rank 1 of 2 in node-group"} <= lines


def test_two_replicas_meet_over_loopback(nodes: Nodes) -> None:
    """The nodes read their rank, the cluster size and the main node's address the way
    OCI hands them over (NODE_RANK, INITIAL_CLUSTER_SIZE, CLUSTER_NODES_METADATA_FILE,
    FQDN) and really meet: rank 1 connects from its own address to rank 0's."""
    done = nodes.run_to_end(nodes.job([_group()], artifact=("meet.py", MEET_SCRIPT.encode())))
    messages = nodes.messages(done.id)
    assert done.lifecycle_state == "SUCCEEDED", (done.lifecycle_details, messages)
    assert _has_lines(messages, met_lines(2)), messages
    seen = [m for m in messages if m.startswith("rank ") and ", main node " in m]
    assert len(seen) == 2, messages
    addresses = {m.split(" at ")[1].split(",")[0] for m in seen}
    assert len(addresses) == 2
    assert all(a.startswith("127.") and not a.startswith("127.0.") for a in addresses)


def test_a_failing_replica_fails_the_run_and_stops_the_others(nodes: Nodes) -> None:
    """Rank 1 fails at once; rank 0 would wait for it for ten minutes: the run fails with
    rank 1's exit code as soon as it exits, and rank 0 is stopped."""
    command = 'if [ "$NODE_RANK" = 1 ]; then exit 3; fi; echo "rank 0 waits"; exec sleep 600'
    done = nodes.run_to_end(nodes.job([_group(command=command)]))
    assert done.lifecycle_state == "FAILED"
    assert "exit code 3" in done.lifecycle_details
    group = done.node_group_details_list[0]
    assert group.lifecycle_state == "FAILED"
    assert group.lifecycle_details == (
        "0 of 2 replicas succeeded (2 needed). A replica failed; the others were stopped."
    )
    assert _run_processes(done.id) == []


def test_multi_node_run_fails_when_a_replica_fails(nodes: Nodes) -> None:
    done = nodes.run_to_end(nodes.rank_job(fail="7"))
    assert done.lifecycle_state == "FAILED"
    assert "exit code 7" in done.lifecycle_details
    assert done.node_group_details_list[0].lifecycle_state == "FAILED"


def test_a_failing_group_stops_the_other_groups(nodes: Nodes) -> None:
    """Ranks run across groups (0-1 in the first, 2 in the second); the second group's
    failure stops the first, which is torn down (DELETED), not failed."""
    workers = _group(name="workers", command='echo "worker $NODE_RANK up"; exec sleep 600')
    failing = _group(name="failing", replicas=1, command='echo "rank $NODE_RANK"; exit 5')
    done = nodes.run_to_end(nodes.job([workers, failing]))
    assert done.lifecycle_state == "FAILED"
    assert "exit code 5" in done.lifecycle_details
    groups = {g.name: g for g in done.node_group_details_list}
    assert groups["failing"].lifecycle_state == "FAILED"
    assert groups["workers"].lifecycle_state == "DELETED"
    assert "Stopped because node group 'failing' failed." in groups["workers"].lifecycle_details
    assert "rank 2" in nodes.messages(done.id)


def test_cancel_stops_every_replica(nodes: Nodes) -> None:
    run = nodes.start_run(nodes.job([_group(command='echo "rank $NODE_RANK up"; exec sleep 600')]))
    wait_for(
        lambda: _has_lines(nodes.messages(run.id), {"rank 0 up", "rank 1 up"}),
        timeout=60,
        what="both replicas to start",
    )
    assert len(_run_processes(run.id)) == 2
    nodes.oci_clients.data_science.cancel_job_run(run.id)
    done = nodes.wait_run(run.id)
    assert done.lifecycle_state == "CANCELED"
    group = done.node_group_details_list[0]
    assert group.lifecycle_state == "DELETED"
    assert group.lifecycle_details.endswith("The run was canceled.")
    assert _run_processes(run.id) == []


def test_run_override_of_a_node_group(nodes: Nodes) -> None:
    override = models.MultiNodeJobNodeConfigurationDetails(
        job_node_group_configuration_details_list=[
            models.JobNodeGroupConfigurationDetails(
                name="node-group",
                job_configuration_details=job_config(environment_variables={"FAIL": "0"}),
            )
        ]
    )
    done = nodes.run_to_end(
        nodes.rank_job(fail="7"), job_node_configuration_override_details=override
    )
    assert done.lifecycle_state == "SUCCEEDED", done.lifecycle_details


class _ConfigMap:
    """One ConfigMap's files, read as the operator reads a ``configmap://`` source."""

    def __init__(self, name: str, files: dict[str, str]) -> None:
        self.name, self.files = name, files

    async def read(self, source: Source) -> SourceFiles:
        assert (source.bucket, source.path) == (self.name, "")
        return SourceFiles(self.name, {k: v.encode() for k, v in self.files.items()}, True)


def test_pytorch_distributed_job_meets_through_its_driver(nodes: Nodes) -> None:
    """The operator's own pyTorchDistributed job (translation, artifact with the driver)
    on the emulator: the driver turns OCI's cluster variables into ``MASTER_ADDR`` /
    ``MASTER_PORT`` and the launch command's nodes meet there."""
    replicas = 2
    doc = pytorch_job(
        "ddp",
        configmap="meet",
        script="meet.py",
        replicas=replicas,
        compartment=nodes.compartment,
        project=nodes.project,
        log_group=nodes.log_group,
    )
    spec = DataScienceJobSpec.model_validate(doc["spec"])
    ds = nodes.oci_clients.data_science
    job = ds.create_job(translate.job_details(spec, region="us-ashburn-1")).data
    artifact = asyncio.run(build_artifact(spec, _ConfigMap("meet", {"meet.py": MEET_SCRIPT})))
    assert artifact is not None
    ds.create_job_artifact(
        job.id, artifact.content, content_disposition=f"attachment; filename={artifact.file_name}"
    )
    run_spec = DataScienceJobRunSpec.model_validate({"jobRef": {"name": "ddp"}})
    details = translate.run_details(
        spec, run_spec, job_id=job.id, project_id=nodes.project, compartment_id=nodes.compartment
    )
    done = nodes.wait_run(ds.create_job_run(details).data.id, timeout=120)
    messages = nodes.messages(done.id)
    assert done.lifecycle_state == "SUCCEEDED", (done.lifecycle_details, messages)
    assert _has_lines(messages, met_lines(replicas)), messages
    seen = [m for m in messages if ", main node " in m]
    main_nodes = {m.split(", main node ")[1] for m in seen}
    assert len(seen) == replicas, messages
    assert len(main_nodes) == 1, messages
    assert main_nodes.pop().endswith(":29400")  # the driver's rendezvous port


def _run_processes(run_id: str) -> list[int]:
    """Live processes that carry the run's ``JOB_RUN_OCID`` (the emulator started them)."""
    found = []
    marker = f"JOB_RUN_OCID={run_id}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            status = (proc / "stat").read_text()
        except OSError:
            continue
        if marker in environ.split(b"\0") and status.split(") ")[-1][:1] != "Z":
            found.append(int(proc.name))
    return sorted(found)


def test_cluster_metadata_lists_every_node(tmp_path: Path) -> None:
    """The metadata file has the service's shape: one ``{"Rank", "IPAddress"}`` per node,
    addresses on loopback and distinct per node."""
    run = {"id": "ocid1.datasciencejobrun.oc1.iad.amaaaaaaexample", "projectId": "p"}
    run |= {"compartmentId": "c"}
    job = {"id": "j", "compartmentId": "c"}
    nodes = {
        "jobNodeGroupConfigurationDetailsList": [
            {"name": "a", "replicas": 2, "jobEnvironmentConfigurationDetails": _echo()},
            {"name": "b", "replicas": 1, "jobEnvironmentConfigurationDetails": _echo()},
        ]
    }
    launches = plan_nodes(
        run, job, nodes, artifact_name=None, artifact_path=None, work_dir=tmp_path, region="r"
    )
    assert [(n.group, n.rank) for n in launches] == [("a", 0), ("a", 1), ("b", 2)]
    metadata_file = launches[0].plan.env["CLUSTER_NODES_METADATA_FILE"]
    metadata = json.loads(Path(metadata_file).read_text())
    assert metadata == [{"Rank": n.rank, "IPAddress": n.address} for n in launches]
    assert len({n.address for n in launches}) == 3
    for node in launches:
        env = node.plan.env
        assert (env["NODE_RANK"], env["NODE_GROUP_NAME"]) == (str(node.rank), node.group)
        assert (env["INITIAL_CLUSTER_SIZE"], env["FQDN"]) == ("3", node.address)
        assert env["NCCL_SOCKET_IFNAME"] == env["GLOO_SOCKET_IFNAME"] == "lo"
        assert os.path.dirname(env["CLUSTER_NODES_METADATA_FILE"]) == str(tmp_path)


def _echo() -> dict[str, Any]:
    return {"jobEnvironmentType": "OCIR_CONTAINER", "image": "i", "cmd": ["echo"]}
