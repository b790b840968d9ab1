"""The cluster's Service networks, learned from the API server: addresses an ``https://``
code source must not reach (see :mod:`ads_operator.ads.source_policy`).

A Service network may use any range (private, carrier-grade NAT, even public), so the
private ranges the source rules refuse anyway are not enough. Kubernetes 1.33 and later
serve the networks as ``ServiceCIDR`` objects (``networking.k8s.io/v1``; the API server
keeps one named ``kubernetes`` for its ``--service-cluster-ip-range``, more may be
added): they are listed. Where that API is not served, or the operator may not list it,
the one address known to be a Service's is used instead: the API server's, as the
operator reaches it (in a pod, the ``kubernetes`` Service's ClusterIP); a WARNING says
that the rest of the Service network is then refused only by the private-range rules.

Read when an https source is about to be fetched, and kept for :data:`TTL` seconds.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from ads_operator.ads.source_policy import Network
from ads_operator.kube.port import KubePort

log = logging.getLogger(__name__)

#: How long a reading is used: ServiceCIDRs are added rarely, and a fetch is rarer still.
TTL: Final = 60.0


def parsed(cidrs: list[str]) -> tuple[Network, ...]:
    """The networks of a ServiceCIDR's ``spec.cidrs`` (anything unparsable skipped)."""
    found: list[Network] = []
    for cidr in cidrs:
        try:
            found.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            log.warning("ServiceCIDR with an unreadable CIDR %r: skipped", cidr)
    return tuple(found)


def fallback(host: str) -> tuple[Network, ...]:
    """The API server's address as a network of one (none when it is a name)."""
    try:
        return (ipaddress.ip_network(host),)
    except ValueError:
        return ()


@dataclass
class ServiceNetworks:
    """The networks as last read, and when."""

    clock: Callable[[], float] = time.monotonic
    _networks: tuple[Network, ...] = ()
    _read_at: float | None = None
    _warned: bool = field(default=False, repr=False)

    async def get(self, kube: KubePort) -> tuple[Network, ...]:
        """The cluster's Service networks (read again after :data:`TTL`). A failed read
        raises :class:`~ads_operator.kube.port.KubeError` like any other: the pass that
        wanted them is tried again."""
        now = self.clock()
        if self._read_at is not None and now - self._read_at < TTL:
            return self._networks
        cidrs = await kube.service_cidrs()
        if cidrs is not None:
            self._networks = parsed(cidrs)
        else:
            self._networks = fallback(kube.api_server_host())
            if not self._warned:
                self._warned = True
                log.warning(
                    "the cluster's ServiceCIDRs cannot be listed (networking.k8s.io/v1 is "
                    "served from Kubernetes 1.33, and the operator needs list on "
                    "servicecidrs): https sources are refused the API server's address %s "
                    "and the private ranges, but not a Service network outside them",
                    ", ".join(str(n) for n in self._networks) or "(a name)",
                )
        self._read_at = now
        return self._networks
