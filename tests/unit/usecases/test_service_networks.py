"""The cluster's Service networks as the operator learns them (over FakeKube): the
ServiceCIDRs' CIDRs; where that API is not served, the API server's own address; read
again after the TTL, and a failed read is the pass's failure (never "no networks")."""

from __future__ import annotations

import ipaddress

import pytest

from ads_operator.kube.port import KubeError
from ads_operator.usecases.service_networks import TTL, ServiceNetworks
from tests.fixtures.fake_kube import FakeKube


class Clock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def nets(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


async def test_the_servicecidrs_are_read_and_kept_for_the_ttl() -> None:
    kube, clock = FakeKube(), Clock()
    kube.service_networks = ["10.96.0.0/12", "fd00:10:96::/108", "not-a-cidr"]
    learned = ServiceNetworks(clock=clock)
    assert await learned.get(kube) == nets("10.96.0.0/12", "fd00:10:96::/108")
    kube.service_networks = ["11.0.0.0/24"]
    clock.seconds = TTL - 1
    assert await learned.get(kube) == nets("10.96.0.0/12", "fd00:10:96::/108")
    clock.seconds = TTL + 1
    assert await learned.get(kube) == nets("11.0.0.0/24")
    assert kube.calls["service_cidrs"] == 2


async def test_without_the_servicecidr_api_the_api_servers_address_is_used(
    caplog: pytest.LogCaptureFixture,
) -> None:
    kube, clock = FakeKube(), Clock()
    kube.service_networks = None  # not served (before 1.33) or not granted
    kube.api_host = "10.0.0.1"
    learned = ServiceNetworks(clock=clock)
    assert await learned.get(kube) == nets("10.0.0.1/32")
    assert "cannot be listed" in caplog.text
    kube.api_host = "api.example.com"  # a name: nothing known
    clock.seconds = TTL + 1
    assert await learned.get(kube) == ()
    assert caplog.text.count("cannot be listed") == 1  # said once


async def test_a_failed_read_raises_for_the_pass_to_retry() -> None:
    kube = FakeKube()
    kube.refuse.add("service_cidrs")
    with pytest.raises(KubeError):
        await ServiceNetworks().get(kube)
