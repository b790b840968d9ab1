"""OCIDs, ETags and timestamps in the forms the SDK and ADS expect."""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets
import time
from datetime import UTC, datetime

REGION = "us-ashburn-1"
#: The short region key regional OCIDs carry (``iad`` for us-ashburn-1).
REGION_KEY = "iad"


def new_ocid(resource_type: str, region_key: str = REGION_KEY) -> str:
    """A fresh OCID of the real shape: ``ocid1.<type>.oc1.<region key>.<unique>``."""
    return f"ocid1.{resource_type}.oc1.{region_key}.amaaaaaa{secrets.token_hex(26)}"


def new_etag() -> str:
    return secrets.token_hex(16)


def new_request_id() -> str:
    return secrets.token_hex(16).upper()


def now_ms() -> int:
    return int(time.time() * 1000)


def format_time(epoch_ms: int) -> str:
    """RFC 3339 UTC with milliseconds and ``Z``: the SDK's fast parse path."""
    seconds, millis = divmod(epoch_ms, 1000)
    return f"{_second_text(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=4096)
def _second_text(epoch_seconds: int) -> str:
    """A whole second's text: a search page's thousand records share a few seconds, and
    ``strftime`` was an eighth of the emulator's time at a thousand runs."""
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


def now_iso() -> str:
    return format_time(now_ms())


def parse_time(text: str) -> int:
    """Parse an RFC 3339 timestamp into epoch milliseconds (``Z`` or an offset)."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def md5_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324 (wire format)
