"""Fetching an ``https://`` code source without becoming a proxy.

The rules (which addresses, names and redirects are refused) are pure, in
:mod:`ads_operator.ads.source_policy`; this is the I/O around them:

- the host is resolved here, every address it answers is checked, and the connection goes
  to exactly those addresses (aiohttp asks :class:`PinnedResolver`, which knows no other):
  a DNS answer that changes between the check and the connect (DNS rebinding) is never
  asked for. The URL keeps its host name, so TLS still verifies it (SNI) and the server
  gets its ``Host``;
- redirects are followed here, one at a time, each target checked like the first;
- the body is read in chunks and refused once it passes the size limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from ads_operator.ads.source_policy import (
    Address,
    Network,
    RefusedSourceError,
    host_refusal,
    name_refusal,
    redirect_target,
)
from ads_operator.ads.sources import SourceError

_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_CHUNK: Final = 256 * 1024


@dataclass(frozen=True)
class Fetched:
    """A fetch's last answer: its URL (after redirects), status and body (empty for an
    error status)."""

    url: str
    status: int
    body: bytes


class PinnedResolver(AbstractResolver):
    """Answers aiohttp with the addresses already checked for a host, and fails for any
    host not checked: the connection can only go where the check said it may."""

    def __init__(self) -> None:
        self.checked: dict[str, list[Address]] = {}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self.checked.get(host)
        if addresses is None:
            raise OSError(f"{host}: not checked, not resolved")
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        """Nothing held."""


async def resolve(host: str) -> list[Address]:
    """Every address ``host`` resolves to. The name is made absolute (a trailing dot), so
    the resolver's search domains (in a pod: the cluster's) are not tried first."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host.rstrip(".") + ".", 443, type=socket.SOCK_STREAM)
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
        if address not in found:
            found.append(address)
    return found


async def _check(
    resolver: PinnedResolver, url: str, allowed: Sequence[Network], services: Sequence[Network]
) -> None:
    """Resolve the URL's host and check it; what the connection may use is then pinned.
    A cluster name is refused before it is resolved when no network is allowed (only the
    cluster's DNS would answer it, and no answer could open it)."""
    host = urlsplit(url).hostname or ""
    named = name_refusal(host)
    if named is not None and not allowed:
        raise _refused(url, host, named)
    addresses = await resolve(host)
    rule = host_refusal(host, addresses, allowed, services)
    if rule is not None:
        raise _refused(url, host, rule)
    resolver.checked[host] = addresses


def _refused(url: str, host: str, rule: str) -> RefusedSourceError:
    return RefusedSourceError(
        f"{url}: host {host!r} is not fetched from ({rule}); the cluster admin can allow a"
        " network with the operator setting source_allowed_networks"
    )


async def fetch(
    uri: str,
    allowed: Sequence[Network],
    *,
    max_bytes: int,
    time_limit: float,
    services: Sequence[Network] = (),
) -> Fetched:
    """GET ``uri`` under the source rules (``services``: the cluster's Service networks);
    :class:`RefusedSourceError` when a rule says no, :class:`SourceError` when the body
    is larger than ``max_bytes``."""
    resolver = PinnedResolver()
    connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False)
    async with (
        asyncio.timeout(time_limit),
        aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=time_limit)
        ) as session,
    ):
        url, hops = uri, 0
        while True:
            await _check(resolver, url, allowed, services)
            async with session.get(url, allow_redirects=False) as resp:
                if resp.status in _REDIRECTS:
                    url = redirect_target(url, resp.headers.get("Location"), hops)
                    hops += 1
                    continue
                if resp.status >= 400:
                    return Fetched(url, resp.status, b"")
                body = bytearray()
                async for chunk in resp.content.iter_chunked(_CHUNK):
                    body += chunk
                    if len(body) > max_bytes:
                        raise SourceError(f"{uri}: larger than {max_bytes} bytes")
                return Fetched(url, resp.status, bytes(body))
