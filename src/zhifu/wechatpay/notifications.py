"""Notifications (回调): the signed JSON envelope, its AES-GCM resource, and typed results.

WeChat POSTs ``{"id", "create_time", "event_type", "resource_type": "encrypt-resource",
"summary", "resource": {"original_type", "algorithm", "ciphertext", "associated_data",
"nonce"}}`` with the ``Wechatpay-*`` headers. The merchant verifies the signature over the raw
body, decrypts ``resource`` with the APIv3 key, and answers 200/204 once the effect committed
(4xx/5xx with ``{"code": "FAIL", "message": …}`` otherwise, so WeChat retries).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .aead import decrypt_resource, encrypt_resource
from .errors import InvalidRequestError, WechatPayResponseError
from .results import Refund, Transaction
from .times import beijing_now, format_time, parse_time
from .verification import VerifiedSignature

__all__ = [
    "Notification",
    "build_notification",
    "failure_body",
    "parse_notification",
]

RESOURCE_TYPE = "encrypt-resource"


@dataclass(frozen=True)
class Notification:
    """A decrypted notification. ``payment`` or ``refund`` is set according to ``event_type``."""

    id: str
    event_type: str
    create_time: datetime | None
    summary: str
    original_type: str
    resource: dict[str, Any]  # the decrypted plaintext, parsed
    payment: Transaction | None
    refund: Refund | None
    envelope: dict[str, Any] = field(repr=False)
    signature: VerifiedSignature | None = None

    @property
    def is_payment(self) -> bool:
        return self.event_type.startswith("TRANSACTION.")

    @property
    def is_refund(self) -> bool:
        return self.event_type.startswith("REFUND.")


def _json_object(data: bytes | str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise WechatPayResponseError(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise WechatPayResponseError(f"{what} is not a JSON object")
    return value


def parse_notification(
    body: bytes | str, apiv3_key: bytes, signature: VerifiedSignature | None = None
) -> Notification:
    """Decrypt a notification whose signature was checked; the typed resource inside.

    Raises :class:`WechatPayResponseError` for a malformed envelope and
    :class:`DecryptionError` if the resource does not decrypt with this APIv3 key.
    """
    envelope = _json_object(body, "notification body")
    resource_type = envelope.get("resource_type")
    if resource_type != RESOURCE_TYPE:
        raise WechatPayResponseError(
            f"notification resource_type {resource_type!r}; expected {RESOURCE_TYPE!r}"
        )
    encrypted = envelope.get("resource")
    plaintext = decrypt_resource(apiv3_key, encrypted)
    resource = _json_object(plaintext, "decrypted notification resource")
    event_type = str(envelope.get("event_type") or "")
    assert isinstance(encrypted, dict)  # decrypt_resource() checked it
    original_type = str(encrypted.get("original_type") or "")
    payment = refund = None
    if event_type.startswith("TRANSACTION.") or original_type == "transaction":
        payment = Transaction.from_raw(resource)
    elif event_type.startswith("REFUND.") or original_type == "refund":
        refund = Refund.from_raw(resource)
    notification_id = envelope.get("id")
    if not isinstance(notification_id, str) or not notification_id:
        raise WechatPayResponseError("notification has no id")
    return Notification(
        id=notification_id,
        event_type=event_type,
        create_time=parse_time(envelope.get("create_time")),
        summary=str(envelope.get("summary") or ""),
        original_type=original_type,
        resource=resource,
        payment=payment,
        refund=refund,
        envelope=envelope,
        signature=signature,
    )


_SUMMARIES = {
    "TRANSACTION.SUCCESS": "支付成功",
    "REFUND.SUCCESS": "退款成功",
    "REFUND.ABNORMAL": "退款异常",
    "REFUND.CLOSED": "退款关闭",
}


def build_notification(
    apiv3_key: bytes,
    event_type: str,
    resource: dict[str, Any],
    *,
    notification_id: str | None = None,
    create_time: datetime | None = None,
) -> bytes:
    """The body WeChat would POST for ``resource`` (for the local gateway and tests).

    The resource is encrypted with a fresh nonce; the AAD and ``original_type`` are
    ``transaction`` or ``refund`` as in real notifications. Sign the returned bytes with
    :func:`zhifu.wechatpay.signing.response_headers`.
    """
    if event_type.startswith("TRANSACTION."):
        kind = "transaction"
    elif event_type.startswith("REFUND."):
        kind = "refund"
    else:
        raise InvalidRequestError(f"unknown event_type {event_type!r}")
    plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
    envelope = {
        "id": notification_id or str(uuid.uuid4()),
        "create_time": format_time(create_time or beijing_now()),
        "resource_type": RESOURCE_TYPE,
        "event_type": event_type,
        "summary": _SUMMARIES.get(event_type, event_type),
        "resource": encrypt_resource(apiv3_key, plaintext, kind, original_type=kind),
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def failure_body(message: str) -> bytes:
    """The body of a 4xx/5xx answer to a notification: ``{"code": "FAIL", "message": …}``."""
    text = message[:64] or "FAIL"
    return json.dumps({"code": "FAIL", "message": text}, ensure_ascii=False).encode()
