"""`make demo` seeds the placeholder log group the examples name (admin endpoint)."""

from __future__ import annotations

import pytest

from oci_emulator.testing import DEFAULT_TENANCY
from tests.fixtures.emulator import EmulatorHandle, OciClients

GROUP = "ocid1.loggroup.oc1.iad.aaaaaaaaseededfortests"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaseededcompartment"


def test_a_seeded_log_group_is_active_under_its_own_ocid(
    emulator: EmulatorHandle, oci_clients: OciClients
) -> None:
    first = emulator.seed_log_group(GROUP, compartment=COMPARTMENT, tenancy=DEFAULT_TENANCY)
    again = emulator.seed_log_group(GROUP, compartment=COMPARTMENT, tenancy=DEFAULT_TENANCY)
    assert first == again, "seeding twice changes nothing"
    group = oci_clients.logging.get_log_group(GROUP).data
    assert (group.id, group.lifecycle_state, group.compartment_id) == (
        GROUP,
        "ACTIVE",
        COMPARTMENT,
    )


def test_only_a_log_group_ocid_can_be_seeded(emulator: EmulatorHandle) -> None:
    with pytest.raises(Exception, match="not a log group OCID"):
        emulator.seed_log_group("ocid1.log.oc1.iad.x", compartment=COMPARTMENT)
