"""Resource Search as ADS sends it, for File Storage mounts written by address.

ADS resolves ``<IP>:<export path>`` to OCIDs with free-text searches (matching context
``NONE``); the steps are :mod:`ads_operator.ads.mounts`. Two callers search the same way:
the OCI port (:meth:`SdkOciPort.search_resources`, the resource's credentials, when the
operator creates the job) and ``ads-operator convert`` (:class:`FreeTextSearch`, the
user's OCI config, as ADS does on the user's machine): a plain synchronous client like
:mod:`ads_operator.oci.upload`, no SDK retries or circuit breaker,
``ADS_OPERATOR_OCI_ENDPOINT`` honoured, failures mapped to OciError.
"""

from __future__ import annotations

from typing import Any

from ads_operator.ads.mounts import Found
from ads_operator.oci import sdk_clients
from ads_operator.oci.auth import default_credentials
from ads_operator.oci.errors import from_exception
from ads_operator.settings import Settings


def free_text_search(client: Any, text: str) -> list[Found]:
    """Every resource a free-text search for ``text`` finds (all pages), through an SDK
    ``ResourceSearchClient``; SDK exceptions are the caller's to map."""
    import oci

    details = oci.resource_search.models.FreeTextSearchDetails(
        text=text, matching_context_type="NONE"
    )
    found: list[Found] = []
    page: str | None = None
    while True:
        response = client.search_resources(details, page=page)  # the SDK drops a None
        for item in response.data.items or []:
            created = item.time_created.isoformat() if item.time_created else ""
            found.append(Found(item.resource_type or "", item.identifier or "", created))
        page = response.headers.get("opc-next-page")
        if not page:
            return found


class FreeTextSearch:
    """``search(text)`` with the user's OCI config: :func:`free_text_search`."""

    def __init__(self, settings: Settings) -> None:
        import oci

        credentials = default_credentials(settings)
        self._client = sdk_clients.build(
            oci.resource_search.ResourceSearchClient, credentials, settings
        )

    def __call__(self, text: str) -> list[Found]:
        try:
            return free_text_search(self._client, text)
        except Exception as exc:
            raise from_exception(exc, operation="SearchResources") from None
