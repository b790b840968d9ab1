"""Credentials for OCI clients: the operator's default, or a resource's own Secret.

The default comes from the environment (an API-key config file, instance principal,
resource principal or OKE workload identity, chosen by ``ADS_OPERATOR_AUTH``). A resource
may instead name a Secret in its own namespace (``authSecretRef``) holding an OCI config
and key. Key material stays in :class:`Credentials`, whose ``repr`` hides it, and never
reaches logs, Events or status.
"""

from __future__ import annotations

import configparser
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ads_operator.models.oci_errors import NotAuthorizedError, OciError
from ads_operator.settings import AuthMode, Settings

#: Keys a credentials Secret may hold. Either ``config`` (an OCI config file; its
#: ``key_file`` is ignored) with ``key``, or the single values ``tenancy``, ``user``,
#: ``fingerprint``, ``region`` with ``key``. ``passphrase`` and ``profile`` are optional.
SECRET_KEYS = ("config", "key", "passphrase", "profile", "tenancy", "user", "fingerprint", "region")


@dataclass(frozen=True)
class Credentials:
    """What an SDK client needs: a config dict and optionally a token signer. The config
    is the SDK's (an OCI config file's profile, free-form): only ``region`` and
    ``tenancy`` are read here, as text."""

    config: dict[str, object] = field(repr=False)
    signer: Any = field(default=None, repr=False)
    #: Distinguishes credential sets without revealing them (cache keys, logs).
    identity: str = "default"

    def with_region(self, region: str | None) -> Credentials:
        if not region:
            return self
        return Credentials({**self.config, "region": region}, self.signer, self.identity)

    @property
    def region(self) -> str:
        return str(self.config.get("region") or getattr(self.signer, "region", "") or "")


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def from_secret(data: Mapping[str, str | bytes], *, secret_name: str) -> Credentials:
    """Credentials from a Secret's decoded data; a readable error names what is missing."""
    values = {k: _text(v) for k, v in data.items() if k in SECRET_KEYS}
    config: dict[str, object] = {}
    if "config" in values:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(values["config"])
        except configparser.Error as exc:
            raise NotAuthorizedError(
                f"Secret {secret_name}: key 'config' is not an OCI config file: "
                f"{type(exc).__name__}"
            ) from None
        profile = values.get("profile", "DEFAULT")
        section = (
            parser.defaults()
            if profile == "DEFAULT"
            else (parser[profile] if parser.has_section(profile) else None)
        )
        if section is None:
            raise NotAuthorizedError(f"Secret {secret_name}: profile {profile!r} not in 'config'")
        config.update({k: v for k, v in section.items() if k != "key_file"})
    for name in ("tenancy", "user", "fingerprint", "region"):
        if name in values:
            config[name] = values[name].strip()
    if "key" not in values:
        raise NotAuthorizedError(f"Secret {secret_name} has no 'key' (the API signing key in PEM)")
    config["key_content"] = values["key"]
    if "passphrase" in values:
        config["pass_phrase"] = values["passphrase"]
    missing = [k for k in ("tenancy", "user", "fingerprint") if not config.get(k)]
    if missing:
        raise NotAuthorizedError(f"Secret {secret_name} lacks {', '.join(missing)}")
    digest = hashlib.sha256(
        "\0".join(f"{k}={config[k]}" for k in sorted(config)).encode()
    ).hexdigest()[:16]
    return Credentials(config, None, f"secret:{secret_name}:{digest}")


def default_credentials(settings: Settings) -> Credentials:
    """The operator's own credentials, as ``settings.auth`` chooses."""
    import oci  # heavy; loaded only when credentials are first needed

    try:
        if settings.auth is AuthMode.API_KEY:
            path = os.path.expanduser(settings.oci_config_file)
            config = dict(oci.config.from_file(path, settings.oci_profile))
            if settings.region:
                config["region"] = settings.region
            return Credentials(config, None, f"config:{path}:{settings.oci_profile}")
        if settings.auth is AuthMode.INSTANCE_PRINCIPAL:
            signer = oci.auth.signers.InstancePrincipalsSecurityTokenSigner()
        elif settings.auth is AuthMode.RESOURCE_PRINCIPAL:
            signer = oci.auth.signers.get_resource_principals_signer()
        else:
            from ads_operator.oci.workload_identity import workload_identity_signer

            signer = workload_identity_signer(
                settings.service_account_token_file, settings.region or None
            )
    except OciError:
        raise  # already classified, with a readable message
    except oci.exceptions.ClientError as exc:
        raise NotAuthorizedError(
            f"operator credentials ({settings.auth}): {type(exc).__name__}: {exc}"
        ) from None
    config = {"region": settings.region} if settings.region else {}
    return Credentials(config, signer, str(settings.auth))
