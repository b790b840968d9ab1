"""Which https sources the operator fetches: public addresses only, unless an admin allowed
a network; redirects only to https (the target is checked like the first host)."""

from __future__ import annotations

import ipaddress

import pytest

from ads_operator.ads.source_policy import (
    MAX_REDIRECTS,
    RefusedSourceError,
    address_refusal,
    host_refusal,
    name_refusal,
    redirect_target,
)
from ads_operator.settings import Settings


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("127.0.0.1", "loopback"),
        ("127.200.0.9", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address checked, not bound)
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("fe80::1", "link-local"),
        ("10.96.0.1", "private (RFC 1918)"),  # a typical Service address
        ("172.16.5.4", "private (RFC 1918)"),
        ("192.168.1.1", "private (RFC 1918)"),
        ("fd12:3456::1", "unique local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),  # Python calls this one "global"
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.7", "reserved"),
        # IPv6 spellings of an IPv4 address reach that address: the rules apply to it.
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:a00:1::1", "private (RFC 1918)"),  # 6to4 of 10.0.0.1
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ],
)
def test_non_public_addresses_are_refused_naming_the_rule(address: str, rule: str) -> None:
    refusal = address_refusal(ip(address))
    assert refusal is not None
    assert rule in refusal


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946"]
)
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ip(address)) is None


def test_an_allowed_network_opens_that_network_only() -> None:
    allowed = Settings(source_allowed_networks="127.0.0.2/32, fd00::/8").source_networks
    assert address_refusal(ip("127.0.0.2"), allowed) is None
    assert address_refusal(ip("::ffff:127.0.0.2"), allowed) is None
    assert address_refusal(ip("fd00::5"), allowed) is None
    assert address_refusal(ip("127.0.0.3"), allowed) == "loopback"
    assert address_refusal(ip("169.254.169.254"), allowed) is not None


def test_the_default_allows_no_network() -> None:
    assert Settings().source_networks == ()
    assert address_refusal(ip("127.0.0.1"), Settings().source_networks) == "loopback"


@pytest.mark.parametrize(
    ("host", "rule"),
    [
        ("localhost", "loopback"),
        ("kubernetes", "single-label"),
        ("minio.storage.svc", "*.svc"),
        ("minio.storage.svc.cluster.local", "*.cluster.local"),
        ("metadata.google.internal", "*.internal"),
        ("app.localhost", "*.localhost"),
        ("MINIO.STORAGE.SVC.", "*.svc"),
    ],
)
def test_cluster_internal_names_are_refused(host: str, rule: str) -> None:
    refusal = name_refusal(host)
    assert refusal is not None
    assert rule in refusal


def test_public_names_pass() -> None:
    assert name_refusal("example.com") is None
    # Addresses are not names: the address rules judge them (an IPv6 one has no dot).
    assert name_refusal("2606:2800:220:1::1") is None
    assert name_refusal("::1") is None
    assert name_refusal("objectstorage.us-ashburn-1.oraclecloud.com") is None


def test_every_address_of_a_host_must_pass() -> None:
    public, private = ip("93.184.216.34"), ip("10.0.0.7")
    assert host_refusal("example.com", [public]) is None
    refusal = host_refusal("example.com", [public, private])
    assert refusal == "10.0.0.7 is private (RFC 1918)"
    assert host_refusal("example.com", []) == "resolves to no address"


def test_a_cluster_name_passes_only_when_all_its_addresses_are_allowed() -> None:
    svc = "code.tools.svc.cluster.local"
    assert host_refusal(svc, [ip("10.96.4.4")]) == "10.96.4.4 is private (RFC 1918)"
    # A cluster name answered with a public address is still cluster-internal ...
    assert host_refusal(svc, [ip("93.184.216.34")]) is not None
    # ... unless the admin opened the network it resolves to.
    allowed = Settings(source_allowed_networks="10.96.0.0/12").source_networks
    assert host_refusal(svc, [ip("10.96.4.4")], allowed) is None


def test_a_redirect_is_followed_to_https_only() -> None:
    here = "https://example.com/dl/train.py"
    assert redirect_target(here, "/v2/train.py", 0) == "https://example.com/v2/train.py"
    assert redirect_target(here, "https://cdn.example.net/x.py", 1) == (
        "https://cdn.example.net/x.py"
    )
    for location in ("http://example.com/train.py", "file:///etc/passwd", "ftp://h/x"):
        with pytest.raises(RefusedSourceError, match="only https:// is followed"):
            redirect_target(here, location, 0)
    with pytest.raises(RefusedSourceError, match="without a Location"):
        redirect_target(here, None, 0)
    with pytest.raises(RefusedSourceError, match=f"more than {MAX_REDIRECTS} redirects"):
        redirect_target(here, "/again", MAX_REDIRECTS)


@pytest.mark.parametrize(
    "value", ["nope", "10.0.0.0/33", "300.1.1.1", "a::b::c", "127.0.0.1;10.0.0.0/8"]
)
def test_the_setting_refuses_what_is_not_a_network(value: str) -> None:
    with pytest.raises(ValueError, match="SOURCE_ALLOWED_NETWORKS"):
        Settings(source_allowed_networks=value)


def net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


def test_the_cluster_service_network_is_refused_whatever_range_it_uses() -> None:
    """Issue 22: a Service network in a public range was fetched from."""
    services = [net("11.0.0.0/24"), net("fd00:10:96::/108")]
    rule = address_refusal(ip("11.0.0.10"), services=services)
    assert rule == "in the cluster's Service network 11.0.0.0/24"
    assert "Service network fd00:10:96::/108" in (
        address_refusal(ip("fd00:10:96::a"), services=services) or ""
    )
    assert address_refusal(ip("11.0.1.10"), services=services) is None  # outside it
    assert "Service network" in (host_refusal("code.example", [ip("11.0.0.9")], (), services) or "")


def test_only_an_allowed_network_inside_the_service_network_opens_it() -> None:
    services = [net("10.96.0.0/12")]
    company = [net("10.0.0.0/8")]  # a company network that happens to hold the Services
    assert "Service network" in (address_refusal(ip("10.96.0.5"), company, services) or "")
    assert address_refusal(ip("10.20.0.5"), company, services) is None
    named = [net("10.0.0.0/8"), net("10.96.0.5/32")]  # one Service named on purpose
    assert address_refusal(ip("10.96.0.5"), named, services) is None
    assert "Service network" in (address_refusal(ip("10.96.0.6"), named, services) or "")
    v6 = [net("fd00::/8")]  # another family never opens an IPv4 Service network
    assert "Service network" in (address_refusal(ip("10.96.0.5"), v6, services) or "")
