"""One exception family for everything that can go wrong talking to WeChat Pay API v3.

``WechatPayError`` carries the operation (``"POST /v3/pay/transactions/native"``), WeChat's
``code``, ``detail``, the HTTP ``status``, the ``request_id`` WeChat gave the call and whether
sending the same request again is safe (``retryable``). For an answer from WeChat, ``message`` is
WeChat's own message; otherwise it is Zhifu's description of what went wrong. Transport failures
(the request may or may not have arrived) are distinct from refusals (WeChat answered "no").
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "RETRYABLE_CODES",
    "DecryptionError",
    "InvalidRequestError",
    "KeyFormatError",
    "SignatureError",
    "WechatPayAPIError",
    "WechatPayError",
    "WechatPayResponseError",
    "WechatPayTimeoutError",
    "WechatPayTransportError",
]

# Codes after which the outcome is unknown or the refusal is momentary: WeChat's guidance is to
# send the same request again, with identical parameters (reference section 5). Old spellings
# without underscores still appear in some answers.
RETRYABLE_CODES = frozenset(
    {
        "SYSTEM_ERROR",
        "SYSTEMERROR",
        "SERVICE_UNAVAILABLE",
        "FREQUENCY_LIMITED",
        "RATELIMIT_EXCEEDED",
        "BANK_ERROR",
        "USERPAYING",
        "USER_PAYING",
    }
)


class WechatPayError(Exception):
    """Base of every Zhifu WeChat Pay error."""

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        code: str | None = None,
        detail: Any = None,
        status: int | None = None,
        request_id: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.code = code
        self.detail = detail
        self.status = status
        self.request_id = request_id
        self.retryable = retryable

    def __str__(self) -> str:
        parts = [self.message]
        if self.operation:
            parts.append(f"operation={self.operation!r}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.detail:
            parts.append(f"detail={self.detail}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)


class KeyFormatError(WechatPayError, ValueError):
    """A key, certificate, serial or APIv3 key that cannot be used; the message says why."""


class InvalidRequestError(WechatPayError, ValueError):
    """A request refused before anything was sent (bad out_trade_no, amount, parameter)."""


class SignatureError(WechatPayError):
    """A signature that does not hold, or a message that cannot be checked at all.

    ``probe`` is true for WeChat's deliberate ``WECHATPAY/SIGNTEST/`` signatures, which a correct
    merchant refuses like any other bad signature (reference section 2.3).
    """

    def __init__(self, message: str, *, probe: bool = False, **context: Any) -> None:
        super().__init__(message, **context)
        self.probe = probe


class DecryptionError(WechatPayError):
    """AEAD_AES_256_GCM data that does not decrypt: wrong APIv3 key, or altered data."""


class WechatPayResponseError(WechatPayError):
    """WeChat answered with something that is not a well-formed response."""


class WechatPayAPIError(WechatPayError):
    """WeChat answered 4xx/5xx (or an unexpected status) with its ``code`` and ``message``."""


class WechatPayTransportError(WechatPayError):
    """The request did not complete (connection refused, reset, DNS...). Outcome unknown."""

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        super().__init__(message, operation=operation, retryable=True)


class WechatPayTimeoutError(WechatPayTransportError):
    """The request timed out. WeChat may or may not have acted on it: query before acting."""
