"""One exception family for everything that can go wrong talking to Alipay.

``AlipayError`` carries the method, Alipay's ``code``/``sub_code``/``sub_msg`` and whether sending
the same request again is safe (``retryable``). Transport failures (the request may or may not have
arrived) are distinct from business failures (Alipay answered "no").
"""

from __future__ import annotations

__all__ = [
    "AlipayBusinessError",
    "AlipayError",
    "AlipayResponseError",
    "AlipayTimeoutError",
    "AlipayTransportError",
    "InvalidRequestError",
    "KeyFormatError",
    "SignatureError",
]

# Sub-codes after which the outcome is unknown and the same request may be sent again.
RETRYABLE_SUB_CODES = frozenset(
    {
        "ACQ.SYSTEM_ERROR",
        "aop.ACQ.SYSTEM_ERROR",
        "AQC.SYSTEM_ERROR",
        "isp.unknow-error",
        "aop.unknow-error",
        "ACQ.SELLER_BALANCE_NOT_ENOUGH",
    }
)


class AlipayError(Exception):
    """Base of every Zhifu Alipay error."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        code: str | None = None,
        msg: str | None = None,
        sub_code: str | None = None,
        sub_msg: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.code = code
        self.msg = msg
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        self.retryable = retryable

    def __str__(self) -> str:
        parts = [self.message]
        if self.method:
            parts.append(f"method={self.method}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.sub_code:
            parts.append(f"sub_code={self.sub_code}")
        if self.sub_msg:
            parts.append(f"sub_msg={self.sub_msg}")
        return " ".join(parts)


class KeyFormatError(AlipayError, ValueError):
    """A key or certificate that cannot be loaded; the message says which and why."""


class InvalidRequestError(AlipayError, ValueError):
    """A request refused before anything was sent (bad out_trade_no, amount, parameter)."""


class SignatureError(AlipayError):
    """A signature that does not hold, or data that cannot be checked at all."""


class AlipayResponseError(AlipayError):
    """Alipay answered with something that is not a well-formed response envelope."""


class AlipayBusinessError(AlipayError):
    """Alipay answered, signed, with a code other than 10000."""


class AlipayTransportError(AlipayError):
    """The request did not complete (connection refused, reset, DNS...). Outcome unknown."""

    def __init__(self, message: str, *, method: str | None = None) -> None:
        super().__init__(message, method=method, retryable=True)


class AlipayTimeoutError(AlipayTransportError):
    """The request timed out. Alipay may or may not have acted on it: query before acting."""
