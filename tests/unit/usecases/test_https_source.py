"""The https fetcher connects only where the check said it may: aiohttp's resolver is one
that knows the checked addresses and nothing else (no second DNS answer, no rebinding)."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from ads_operator.ads.source_policy import RefusedSourceError
from ads_operator.usecases import https_source


async def test_the_pinned_resolver_answers_only_checked_hosts() -> None:
    resolver = https_source.PinnedResolver()
    with pytest.raises(OSError, match="not checked"):
        await resolver.resolve("example.com", 443)
    resolver.checked["example.com"] = [
        ipaddress.ip_address("93.184.216.34"),
        ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"),
    ]
    answers = await resolver.resolve("example.com", 443)
    assert [(a["host"], a["port"], a["family"]) for a in answers] == [
        ("93.184.216.34", 443, socket.AF_INET),
        ("2606:2800:220:1:248:1893:25c8:1946", 443, socket.AF_INET6),
    ]
    assert {a["hostname"] for a in answers} == {"example.com"}  # TLS verifies the name


async def test_an_address_literal_is_not_looked_up() -> None:
    assert await https_source.resolve("127.0.0.1") == [ipaddress.ip_address("127.0.0.1")]
    assert await https_source.resolve("::1") == [ipaddress.ip_address("::1")]


async def test_a_cluster_name_is_refused_before_any_lookup() -> None:
    """No network is allowed: the name is refused without asking DNS (which in a test has
    no cluster domain, and would fail with an error instead of the refusal)."""
    with pytest.raises(RefusedSourceError, match=r"\*\.svc"):
        await https_source.fetch("https://code.tools.svc/train.py", (), max_bytes=10, time_limit=5)
    with pytest.raises(RefusedSourceError, match=r"127\.0\.0\.1 is loopback"):
        await https_source.fetch("https://127.0.0.1:1/train.py", (), max_bytes=10, time_limit=5)
