"""One exception family for the Django core, each with a stable snake_case ``code``.

The API maps these to ``{"error": {"code": ..., "message": ...}}`` in one place
(:mod:`zhifu.api.errors`); pages show ``message``. ``status`` is the HTTP status the API uses.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "GatewayUnavailable",
    "IllegalTransition",
    "InsufficientBalance",
    "OrderError",
    "PaymentError",
    "RefundError",
    "ZhifuError",
]


class ZhifuError(Exception):
    """Base of every error the Zhifu core raises on purpose."""

    code = "zhifu_error"
    status = 400

    def __init__(self, code: str | None = None, message: str | None = None) -> None:
        if code is not None:
            self.code = code
        self.message = message or self.code.replace("_", " ")
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ConfigurationError(ZhifuError):
    """The ``ZHIFU`` setting is missing something or holds something unusable."""

    code = "configuration_error"
    status = 500


class OrderError(ZhifuError):
    """An order that cannot be created, found, or acted on (``order_not_found`` is a 404)."""

    code = "order_error"

    def __init__(self, code: str | None = None, message: str | None = None) -> None:
        super().__init__(code, message)
        if self.code == "order_not_found":
            self.status = 404
        elif self.code in ("order_not_pending", "order_expired", "order_not_payable"):
            self.status = 409


class PaymentError(ZhifuError):
    """A payment that cannot be started (bad channel, order not payable, ...)."""

    code = "payment_error"

    def __init__(self, code: str | None = None, message: str | None = None) -> None:
        super().__init__(code, message)
        if self.code in ("order_not_payable", "order_expired"):
            self.status = 409


class InsufficientBalance(PaymentError):
    """The wallet holds less than the debit asks for. Nothing was changed."""

    code = "insufficient_balance"
    status = 409


class IllegalTransition(ZhifuError):
    """A status change the transition table does not allow (e.g. refunded -> paid)."""

    code = "illegal_transition"
    status = 409


class RefundError(ZhifuError):
    """A refund that cannot be issued (order not paid, amount above what is refundable, ...)."""

    code = "refund_error"

    def __init__(self, code: str | None = None, message: str | None = None) -> None:
        super().__init__(code, message)
        if self.code in ("order_not_refundable", "refund_exceeds_paid"):
            self.status = 409


class GatewayUnavailable(ZhifuError):
    """Alipay (or the sandbox) could not be reached or did not answer sensibly; retry later."""

    code = "gateway_unavailable"
    status = 503
