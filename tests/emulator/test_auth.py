"""Request signatures: the emulator accepts what the SDK signs and nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import oci
import pytest
import requests

from oci_emulator.testing import ApiKey, EmulatorHandle, generate_api_key
from tests.fixtures.emulator import make_clients


def _expect_401(call: Any) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        call()
    assert caught.value.status == 401
    assert caught.value.code == "NotAuthenticated"
    return caught.value


def test_unregistered_key_gets_401(emulator: EmulatorHandle, tmp_path: Path) -> None:
    stranger = generate_api_key(tmp_path)
    clients = make_clients(stranger.config, emulator.endpoint)
    error = _expect_401(lambda: clients.object_storage.get_namespace())
    assert stranger.fingerprint in error.message


def test_wrong_private_key_for_a_registered_fingerprint_gets_401(
    emulator: EmulatorHandle, emulator_api_key: ApiKey, tmp_path: Path
) -> None:
    other = generate_api_key(tmp_path)
    forged = dict(emulator_api_key.config, key_file=str(other.key_file))
    clients = make_clients(forged, emulator.endpoint)
    error = _expect_401(
        lambda: clients.data_science.list_jobs(compartment_id="ocid1.compartment.oc1..x")
    )
    assert "signature is invalid" in error.message


def test_key_bound_to_another_user_gets_401(
    emulator: EmulatorHandle, emulator_api_key: ApiKey
) -> None:
    config = dict(emulator_api_key.config, user="ocid1.user.oc1..aaaaaaaasomeoneelse")
    clients = make_clients(config, emulator.endpoint)
    _expect_401(lambda: clients.logging.list_log_groups(compartment_id="ocid1.compartment.oc1..x"))


def test_unsigned_request_gets_401_json(emulator: EmulatorHandle) -> None:
    response = requests.get(
        f"{emulator.endpoint}/20190101/jobs?compartmentId=x",
        headers={"opc-request-id": "ABC123"},
        timeout=10,
    )
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "NotAuthenticated"
    assert "Authorization header is missing" in body["message"]
    assert response.headers["opc-request-id"] == "ABC123"


def _signed(config: dict[str, str], method: str, url: str, body: bytes) -> requests.PreparedRequest:
    signer = oci.signer.Signer(
        config["tenancy"], config["user"], config["fingerprint"], config["key_file"]
    )
    prepared = requests.Request(
        method, url, data=body, headers={"content-type": "application/json"}
    ).prepare()
    signer(prepared)
    return prepared


def test_body_changed_after_signing_gets_401(
    emulator: EmulatorHandle, oci_config: dict[str, str]
) -> None:
    url = f"{emulator.endpoint}/20190101/jobs"
    body = json.dumps({"projectId": "p", "compartmentId": "c"}).encode()
    prepared = _signed(oci_config, "POST", url, body)
    prepared.body = body.replace(b'"p"', b'"q"')
    response = requests.Session().send(prepared, timeout=10)
    assert response.status_code == 401
    assert "x-content-sha256" in response.json()["message"]


def test_signed_raw_request_is_accepted(
    emulator: EmulatorHandle, oci_config: dict[str, str]
) -> None:
    prepared = _signed(oci_config, "GET", f"{emulator.endpoint}/n", b"")
    response = requests.Session().send(prepared, timeout=10)
    assert response.status_code == 200
    assert response.json() == "emulatorns"


def test_stale_date_gets_401(emulator: EmulatorHandle, oci_config: dict[str, str]) -> None:
    signer = oci.signer.Signer(
        oci_config["tenancy"],
        oci_config["user"],
        oci_config["fingerprint"],
        oci_config["key_file"],
    )
    prepared = requests.Request(
        "GET", f"{emulator.endpoint}/n", headers={"date": "Thu, 01 Jan 2015 00:00:00 GMT"}
    ).prepare()
    signer(prepared)
    response = requests.Session().send(prepared, timeout=10)
    assert response.status_code == 401
    assert "server clock" in response.json()["message"]
