"""Which ``https://`` code sources the operator may fetch: sources are not a proxy.

Whoever may create a DataScienceJob names the URL; the operator fetches it from inside the
cluster and uploads the body into a job artifact that person can read. Without a rule that
is a way to read what only the operator's network position reaches: the cloud metadata
service (169.254.169.254), the apiserver and every in-cluster Service, a company's private
ranges. So a host is refused when any address it resolves to is not publicly routable
(:func:`address_refusal`), or when its name is one only the cluster's DNS answers
(:func:`name_refusal`), unless the cluster admin allowed that network
(``ADS_OPERATOR_SOURCE_ALLOWED_NETWORKS``). The cluster's Service networks (learned from
the API server, :mod:`ads_operator.usecases.service_networks`) are refused whatever
range they use, and an allowed network opens them only when it lies inside one: opening
a company's 10.0.0.0/8 must not open the Services that happen to sit in it. A redirect
is a new request: only to https and only to a host that passes the same checks
(:func:`redirect_target`), at most :data:`MAX_REDIRECTS` of them.

All pure: resolving and connecting (to the very address checked here, so a second DNS
answer cannot swap it) is :mod:`ads_operator.usecases.https_source`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Final
from urllib.parse import urljoin, urlsplit

from ads_operator.ads.sources import SourceError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Redirects followed per source (browsers allow ~20; a code file needs one or two).
MAX_REDIRECTS: Final = 5


class RefusedSourceError(SourceError):
    """The source is one the operator will not fetch (the message names the rule)."""


def _nets(*cidrs: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


#: The refused ranges, each with the rule it breaks (the name goes into the message).
REFUSED: Final[tuple[tuple[str, tuple[Network, ...]], ...]] = (
    ("loopback", _nets("127.0.0.0/8", "::1/128")),
    ("unspecified ('this host')", _nets("0.0.0.0/8", "::/128")),
    ("link-local (cloud metadata lives here)", _nets("169.254.0.0/16", "fe80::/10")),
    ("private (RFC 1918)", _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")),
    ("private (IPv6 unique local)", _nets("fc00::/7", "fec0::/10")),
    ("carrier-grade NAT (RFC 6598)", _nets("100.64.0.0/10")),
    ("multicast", _nets("224.0.0.0/4", "ff00::/8")),
    (
        "reserved",
        _nets(
            "192.0.0.0/24",
            "192.0.2.0/24",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "240.0.0.0/4",
            "100::/64",
            "2001:db8::/32",
        ),
    ),
)

#: Names only the cluster's DNS answers (Services, Pods) or that mean "this machine".
CLUSTER_SUFFIXES: Final = (".svc", ".cluster.local", ".localhost", ".internal")


def _embedded(address: Address) -> Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), if any: the packet ends
    up there, so that is the address the rules apply to."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in ipaddress.IPv6Network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _allowed(address: Address, allowed: Sequence[Network]) -> bool:
    target = _embedded(address) or address
    return any(target in net or address in net for net in allowed)


def _service_network(
    address: Address, services: Sequence[Network], allowed: Sequence[Network]
) -> Network | None:
    """The cluster Service network ``address`` is in, unless an allowed network inside
    that Service network opens it (the admin named Services on purpose)."""
    target = _embedded(address) or address
    for service in services:
        if target not in service and address not in service:
            continue
        if not _allowed(address, [n for n in allowed if _within(n, service)]):
            return service
    return None


def _within(net: Network, outer: Network) -> bool:
    return net.version == outer.version and net.subnet_of(outer)  # type: ignore[arg-type]


def address_refusal(
    address: Address, allowed: Sequence[Network] = (), services: Sequence[Network] = ()
) -> str | None:
    """Why ``address`` may not be fetched from (the rule's name), or None when it may:
    a publicly routable address outside the cluster's Service networks (``services``),
    or one in a network the admin allowed (see :func:`_service_network`)."""
    service = _service_network(address, services, allowed)
    if service is not None:
        return f"in the cluster's Service network {service}"
    if _allowed(address, allowed):
        return None
    target = _embedded(address) or address
    for rule, networks in REFUSED:
        if any(target in net for net in networks):
            return rule
    if not target.is_global:
        return "not publicly routable"
    return None


def name_refusal(host: str) -> str | None:
    """Why a host *name* is cluster-internal (None: it is not). A name without a dot goes
    through the resolver's search domains, which in a pod are the cluster's own."""
    name = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(name)
        return None  # an address, judged by :func:`address_refusal`
    except ValueError:
        pass
    if name == "localhost":
        return "loopback"
    if "." not in name:
        return "a single-label name (resolved through the cluster's search domains)"
    if name.endswith(CLUSTER_SUFFIXES):
        return f"cluster-internal name (*{next(s for s in CLUSTER_SUFFIXES if name.endswith(s))})"
    return None


def host_refusal(
    host: str,
    addresses: Iterable[Address],
    allowed: Sequence[Network] = (),
    services: Sequence[Network] = (),
) -> str | None:
    """Why ``host`` (which resolved to ``addresses``) may not be fetched from, or None.

    Every address must pass: a name answering with one public and one private address
    would otherwise reach the private one on a second try. A cluster-internal name passes
    only when all its addresses are in allowed networks (the admin opened them).
    """
    addresses = list(addresses)
    if not addresses:
        return "resolves to no address"
    for address in addresses:
        rule = address_refusal(address, allowed, services)
        if rule is not None:
            return f"{address} is {rule}"
    named = name_refusal(host)
    if named is not None and not all(_allowed(a, allowed) for a in addresses):
        return named
    return None


def redirect_target(current: str, location: str | None, hops: int) -> str:
    """The URL a redirect from ``current`` leads to, after ``hops`` earlier redirects;
    refused (:class:`RefusedSourceError`) without a Location, past :data:`MAX_REDIRECTS`, or
    to anything but https. The new host is checked like the first before it is fetched."""
    if hops >= MAX_REDIRECTS:
        raise RefusedSourceError(f"{current}: more than {MAX_REDIRECTS} redirects")
    if not location:
        raise RefusedSourceError(f"{current}: a redirect without a Location")
    target = urljoin(current, location)
    parts = urlsplit(target)
    if parts.scheme.lower() != "https":
        raise RefusedSourceError(
            f"{current}: redirects to {parts.scheme or '?'}://, only https:// is followed"
        )
    if not parts.hostname:
        raise RefusedSourceError(f"{current}: redirects to {target!r}, which names no host")
    return target
