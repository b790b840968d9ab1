"""ADS's ``<IP>:<export path>`` File Storage mount, applied as it is: the operator resolves
it with Resource Search (the emulator's, over a seeded mount target and export), as ADS
does when it creates the job, and the run succeeds on a job mounting the OCIDs. An
address that resolves to nothing, or to several exports, is Terminal: the operator's only
OCI calls for it are the searches, and no job is created."""

from __future__ import annotations

import uuid
from typing import Any

from oci_emulator.testing import EmulatorHandle
from tests.fixtures.emulator import OciClients, assert_one_file_storage_mount, request_count
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.resources import COMPARTMENT, Kube, job_run, scripted_job


def _mounting(name: str, src: str) -> list[dict[str, Any]]:
    docs = scripted_job(name, "print('mounted by address')\n", log_group=None)
    docs[-1]["spec"]["infrastructure"]["spec"]["storageMount"] = [
        {"src": src, "dest": "/opt/fss/d"}
    ]
    return docs


def test_an_address_mount_is_resolved_and_the_run_succeeds(
    kube: Kube, operator: OperatorProcess, emulator: EmulatorHandle, oci_clients: OciClients
) -> None:
    tag = uuid.uuid4().hex[:8]
    ip, path = f"10.{uuid.uuid4().int % 250}.1.5", f"/fss-{tag}"
    seeded = emulator.seed_file_system(compartment=COMPARTMENT, ip_address=ip, export_path=path)
    searches = request_count(emulator, "SearchResources")
    kube.apply(*_mounting("fss", f"{ip}:{path}"), job_run("fss-run", "fss"))
    status = kube.wait("dsjobrun/fss-run", "Finished")
    assert status["phase"] == "Succeeded", status
    assert request_count(emulator, "SearchResources") - searches == 3  # ADS's three searches

    job_ocid = str(kube.status("dsjob", "fss")["ocid"])
    assert_one_file_storage_mount(oci_clients, job_ocid, seeded)
    (run_mount,) = oci_clients.data_science.get_job_run(
        str(status["ocid"])
    ).data.job_storage_mount_configuration_details_list
    assert run_mount.export_id == seeded["exportId"]
    # The resource keeps the address the user wrote.
    written = kube.kubectl("get", "dsjob", "fss", "-o", "jsonpath={.spec.infrastructure.spec}")
    assert f"{ip}:{path}" in written.stdout


def test_an_address_found_nowhere_or_twice_is_terminal_without_a_job(
    kube: Kube, operator: OperatorProcess, emulator: EmulatorHandle
) -> None:
    tag = uuid.uuid4().hex[:8]
    shared = f"/shared-{tag}"
    first = emulator.seed_file_system(
        compartment=COMPARTMENT, ip_address=f"10.251.{uuid.uuid4().int % 250}.1", export_path=shared
    )
    emulator.seed_file_system(
        compartment=COMPARTMENT, ip_address=f"10.252.{uuid.uuid4().int % 250}.1", export_path=shared
    )
    creates, searches = (
        request_count(emulator, "CreateJob"),
        request_count(emulator, "SearchResources"),
    )
    kube.apply(
        *_mounting("nowhere", f"192.0.2.{uuid.uuid4().int % 250}:/nowhere-{tag}"),
        *_mounting("twice", f"{first['mountTargetId']}:{shared}"),
    )
    for name, says in (
        ("nowhere", "Resource Search finds nothing at IP 192.0.2."),
        ("twice", f"Resource Search finds 2 of export with path {shared}; give the export OCID"),
    ):
        terminal = kube.wait(f"dsjob/{name}", "Terminal")
        condition = kube.condition("dsjob", name, "Terminal")
        assert "spec.infrastructure.spec.storageMount[0].src" in condition["message"], condition
        assert says in condition["message"], condition
        assert "ocid" not in terminal, terminal
    assert request_count(emulator, "CreateJob") == creates
    assert request_count(emulator, "SearchResources") - searches == 2  # the IP; the export path
