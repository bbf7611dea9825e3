"""Webhook signatures as Standard Webhooks (standardwebhooks.com) spells them: headers
`webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature` ("v1," and the
base64 HMAC-SHA256 of "ID.TIMESTAMP.BODY"), so that its libraries verify them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

TOLERANCE_SECONDS = 300  # how old (or early) a timestamp a receiver should accept


def secret_key(secret: str) -> bytes:
    """The HMAC key: a `whsec_`-prefixed secret is base64 (as Standard Webhooks issues them);
    any other is its UTF-8 bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[6:], validate=True)
        except binascii.Error:
            pass
    return secret.encode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret_key(secret), f"{message_id}.{timestamp}.".encode() + body,
                   hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def signed_headers(secret: str, message_id: str, body: bytes,
                   timestamp: int | None = None) -> dict[str, str]:
    """The three headers of a delivery; without a secret, no signature."""
    when = int(time.time()) if timestamp is None else timestamp
    headers = {"webhook-id": message_id, "webhook-timestamp": str(when)}
    if secret:
        headers["webhook-signature"] = signature(secret, message_id, when, body)
    return headers


def verify(secret: str, headers: Mapping[str, str], body: bytes,
           now: float | None = None) -> bool:
    """What a receiver does: the timestamp is recent and one of the signatures matches."""
    try:
        message_id, stamp = headers["webhook-id"], int(headers["webhook-timestamp"])
        given = headers["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > TOLERANCE_SECONDS:
        return False
    expected = signature(secret, message_id, stamp, body)
    return any(hmac.compare_digest(expected, one) for one in given)
