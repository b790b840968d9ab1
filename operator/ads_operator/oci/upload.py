"""Uploading a user's code to Object Storage for ``ads-operator convert --upload``.

This runs on the user's machine, once, with the user's OCI config (the API key that ADS
would use to upload the same files), so it is a plain synchronous call rather than the
operator's port: no rate budget, no worker threads. Like the port, it turns off the
SDK's retries and circuit breaker, honours ``ADS_OPERATOR_OCI_ENDPOINT`` (the emulator)
and maps every failure to :class:`~ads_operator.models.oci_errors.OciError`.
"""

from __future__ import annotations

from collections.abc import Mapping

from ads_operator.oci import sdk_clients
from ads_operator.oci.auth import default_credentials
from ads_operator.oci.errors import from_exception
from ads_operator.settings import Settings


def put_objects(
    settings: Settings, *, namespace: str, bucket: str, objects: Mapping[str, bytes]
) -> None:
    """Put every object (name -> content) into the bucket; the first failure raises."""
    import oci

    credentials = default_credentials(settings)
    client = sdk_clients.build(oci.object_storage.ObjectStorageClient, credentials, settings)
    for name, content in objects.items():
        try:
            client.put_object(namespace, bucket, name, content)
        except Exception as exc:
            raise from_exception(exc, operation="PutObject") from None
