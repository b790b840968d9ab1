"""How every SDK client of the operator and its commands is built: one set of options.

The port (:mod:`.sdk_adapter`), ``convert --upload`` (:mod:`.upload`) and the search
behind ``convert`` (:mod:`.resource_search`) all turn off the SDK's retries and circuit
breaker (the operator owns retry policy, see :mod:`.sdk_adapter`), bound each call's
connect and read time, sign with the credentials' own signer when they have one (a None
signer would not mean "from the config") and honour ``ADS_OPERATOR_OCI_ENDPOINT`` (the
emulator). A client that cannot be built is an :class:`~ads_operator.models.oci_errors.OciError`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ads_operator.oci.auth import Credentials
from ads_operator.oci.errors import from_exception
from ads_operator.settings import Settings

_Client = TypeVar("_Client")


def client_options(credentials: Credentials, settings: Settings) -> dict[str, object]:
    """The keyword arguments every SDK client gets (the SDK's own objects)."""
    import oci

    options: dict[str, object] = {
        "retry_strategy": oci.retry.NoneRetryStrategy(),
        "circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(),
        "timeout": (settings.oci_connect_timeout, settings.oci_read_timeout),
    }
    if credentials.signer is not None:
        options["signer"] = credentials.signer
    if settings.oci_endpoint:
        options["service_endpoint"] = settings.oci_endpoint.rstrip("/")
    return options


def build(
    kind: Callable[..., _Client], credentials: Credentials, settings: Settings, **extra: object
) -> _Client:
    """One SDK client of ``kind`` (e.g. ``oci.object_storage.ObjectStorageClient``)."""
    try:
        return kind(credentials.config, **client_options(credentials, settings), **extra)
    except Exception as exc:  # the SDK refusing the config
        raise from_exception(exc, operation="configure_client") from None


@functools.cache
def oci_threads(size: int) -> ThreadPoolExecutor:
    """The threads every SDK call of the operator runs in (one pool per process and size)."""
    return ThreadPoolExecutor(size, thread_name_prefix="ads-oci")


def widen_pool(client: Any, size: int) -> None:
    """Lets every worker thread keep its connection: the SDK's session pools 10 per host,
    so with more concurrent calls each extra one opened (and TLS-negotiated) a connection
    and threw it away again."""
    import oci
    import requests

    session = client.base_client.session
    session.mount("https://", oci.base_client.OCIHTTPAdapter(pool_maxsize=size))
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=size))
