"""Resource Search with the user's OCI config, for ``ads-operator convert``.

``convert`` resolves File Storage mounts written as ``<IP>:<export path>`` the way ADS
does when it creates a job: on the user's machine, with the user's credentials (the steps
are ``ads_operator.ads.mounts``). A plain synchronous client like
:mod:`ads_operator.oci.upload`: no SDK retries or circuit breaker,
``ADS_OPERATOR_OCI_ENDPOINT`` honoured, failures mapped to OciError.
"""

from __future__ import annotations

from typing import Any

from ads_operator.oci.auth import default_credentials
from ads_operator.oci.errors import from_exception
from ads_operator.settings import Settings


class FreeTextSearch:
    """``search(text)``: every resource a free-text Resource Search finds (all pages), as
    ``(resource type, OCID, ISO creation time)``."""

    def __init__(self, settings: Settings) -> None:
        import oci

        credentials = default_credentials(settings)
        kwargs: dict[str, Any] = {
            "retry_strategy": oci.retry.NoneRetryStrategy(),
            "circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(),
            "timeout": (settings.oci_connect_timeout, settings.oci_read_timeout),
        }
        if credentials.signer is not None:
            kwargs["signer"] = credentials.signer
        if settings.oci_endpoint:
            kwargs["service_endpoint"] = settings.oci_endpoint.rstrip("/")
        try:
            self._client = oci.resource_search.ResourceSearchClient(credentials.config, **kwargs)
        except Exception as exc:
            raise from_exception(exc, operation="configure_client") from None
        self._details = oci.resource_search.models.FreeTextSearchDetails

    def __call__(self, text: str) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        page: str | None = None
        while True:
            kwargs: dict[str, Any] = {"page": page} if page else {}
            try:
                response = self._client.search_resources(
                    self._details(text=text, matching_context_type="NONE"), **kwargs
                )
            except Exception as exc:
                raise from_exception(exc, operation="SearchResources") from None
            for item in response.data.items or []:
                created = item.time_created.isoformat() if item.time_created else ""
                found.append((item.resource_type or "", item.identifier or "", created))
            page = response.headers.get("opc-next-page")
            if not page:
                return found
