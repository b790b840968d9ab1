"""Code inside a run authenticates as the run (resource principal 2.2), as in the service."""

from __future__ import annotations

import uuid
from typing import Any

import oci
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from oci_emulator.principals import TokenAuthority
from oci_emulator.testing import ApiKey, EmulatorHandle
from tests.emulator.conftest import JobFactory
from tests.fixtures.emulator import OciClients

UPLOAD = b"""
import os, oci
signer = oci.auth.signers.get_resource_principals_signer()
client = oci.object_storage.ObjectStorageClient(
    config={}, signer=signer, service_endpoint=os.environ["OCI_OBJECT_STORAGE_ENDPOINT"]
)
namespace = client.get_namespace().data
name = "out/" + os.environ["JOB_RUN_OCID"] + ".txt"
client.put_object(namespace, os.environ["BUCKET"], name, b"written by the run")
print("uploaded", name)
"""


def test_run_uploads_with_its_resource_principal(
    emulator: EmulatorHandle,
    emulator_api_key: ApiKey,
    oci_clients: OciClients,
    make_job: JobFactory,
    start_run: Any,
    wait_run: Any,
    compartment: str,
) -> None:
    namespace = oci_clients.object_storage.get_namespace().data
    bucket = f"outputs-{uuid.uuid4().hex[:8]}"
    oci_clients.object_storage.create_bucket(
        namespace,
        oci.object_storage.models.CreateBucketDetails(name=bucket, compartment_id=compartment),
    )
    with emulator.overridden(run_env={"OCI_OBJECT_STORAGE_ENDPOINT": "{endpoint}"}):
        job = make_job(artifact=("upload.py", UPLOAD), env={"BUCKET": bucket})
        run = wait_run(start_run(job).id)
    assert run.lifecycle_state == "SUCCEEDED", run.lifecycle_details
    uploaded = oci_clients.object_storage.get_object(namespace, bucket, f"out/{run.id}.txt")
    assert uploaded.data.content == b"written by the run"
    puts = [e for e in emulator.requests()["entries"] if e["operation"] == "PutObject"]
    assert puts[-1]["tenancy"] == emulator_api_key.tenancy


def test_foreign_security_token_gets_401(emulator: EmulatorHandle) -> None:
    session = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = TokenAuthority().mint(
        {"res_id": "ocid1.datasciencejobrun.oc1..x", "res_tenant": "t"}, session.public_key()
    )
    signer = oci.auth.signers.SecurityTokenSigner(token, session)
    client = oci.object_storage.ObjectStorageClient(
        {"region": "us-ashburn-1"},
        signer=signer,
        service_endpoint=emulator.endpoint,
        retry_strategy=oci.retry.NoneRetryStrategy(),
    )
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        client.get_namespace()
    assert (caught.value.status, caught.value.code) == (401, "NotAuthenticated")
    assert "not issued by this emulator" in caught.value.message
