"""One exception family for the Django core, each with a stable snake_case ``code``.

The API maps these to ``{"error": {"code": ..., "message": ...}}`` in one place
(:mod:`zhifu.api.errors`); pages show ``message``. ``status`` is the HTTP status the API uses.

``message`` is translated (Django i18n) when it is read, into the language active then; named
values given as keyword arguments are filled in after translation::

    raise OrderError("invalid_quantity", _("only %(maximum)s can be bought"), maximum=3)

``english_message`` is the same text untranslated, for logs. ``code`` never changes with the
language.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

__all__ = [
    "ConfigurationError",
    "GatewayUnavailable",
    "IdempotencyConflict",
    "IllegalTransition",
    "InsufficientBalance",
    "InvalidIdempotencyKey",
    "OrderError",
    "PaymentError",
    "RefundError",
    "ServiceUnavailable",
    "ZhifuError",
    "invalid_amount",
]

# What an error says when it is raised with a code but no message.
DEFAULT_MESSAGES: dict[str, Promise] = {
    "zhifu_error": _("the request could not be completed"),
    "configuration_error": _("the payment service is not configured correctly"),
    "catalog_not_configured": _("the payment service is not configured correctly"),
    "order_error": _("the order cannot be processed"),
    "payment_error": _("the payment cannot be started"),
    "refund_error": _("the refund cannot be issued"),
    "login_required": _("please sign in first"),
    "order_not_found": _("no such order"),
    "order_not_pending": _("the order is no longer waiting for payment"),
    "order_not_payable": _("the order can no longer be paid"),
    "order_expired": _("the order has expired; create a new one"),
    "order_not_refundable": _("the order cannot be refunded"),
    "refund_exceeds_paid": _("the refund is more than what can still be refunded"),
    "unknown_sku": _("this item is not on sale"),
    "invalid_quantity": _("the quantity is not valid"),
    "invalid_amount": _("the amount is not valid"),
    "invalid_channel": _("this payment method is not available"),
    "insufficient_balance": _("the wallet balance is not enough"),
    "illegal_transition": _("the order can no longer be changed this way"),
    "gateway_unavailable": _("the payment gateway cannot be reached right now; try again later"),
    "invalid_return": _("the link back from the payment page is not valid"),
    "service_unavailable": _("the service is briefly unavailable; try again shortly"),
    "idempotency_key_reused": _(
        "this Idempotency-Key was already used for a different request; "
        "use a new key for a new request"
    ),
    "invalid_idempotency_key": _(
        "the Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good choice)"
    ),
}


class ZhifuError(Exception):
    """Base of every error the Zhifu core raises on purpose."""

    code = "zhifu_error"
    status = 400

    def __init__(
        self, code: str | None = None, message: str | Promise | None = None, **params: Any
    ) -> None:
        if code is not None:
            self.code = code
        if message is None:
            message = DEFAULT_MESSAGES.get(self.code, self.code.replace("_", " "))
        self._message: str | Promise = message
        self.params = params
        self.detail = ""  # for logs: the precise cause, untranslated
        super().__init__(message)

    @property
    def message(self) -> str:
        """The readable message, in the language active now."""
        text = str(self._message)
        return text % self.params if self.params else text

    @message.setter
    def message(self, value: str | Promise) -> None:
        self._message = value
        self.params = {}

    @property
    def english_message(self) -> str:
        """The message as written in the source (English), whatever language is active."""
        with override(None):
            return self.message

    def __str__(self) -> str:
        return f"{self.code}: {self.english_message}"


class ConfigurationError(ZhifuError):
    """The ``ZHIFU`` setting is missing something or holds something unusable."""

    code = "configuration_error"
    status = 500


class OrderError(ZhifuError):
    """An order that cannot be created, found, or acted on (``order_not_found`` is a 404)."""

    code = "order_error"

    def __init__(
        self, code: str | None = None, message: str | Promise | None = None, **params: Any
    ) -> None:
        super().__init__(code, message, **params)
        if self.code == "order_not_found":
            self.status = 404
        elif self.code in ("order_not_pending", "order_expired", "order_not_payable"):
            self.status = 409


class PaymentError(ZhifuError):
    """A payment that cannot be started (bad channel, order not payable, ...)."""

    code = "payment_error"

    def __init__(
        self, code: str | None = None, message: str | Promise | None = None, **params: Any
    ) -> None:
        super().__init__(code, message, **params)
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

    def __init__(
        self, code: str | None = None, message: str | Promise | None = None, **params: Any
    ) -> None:
        super().__init__(code, message, **params)
        if self.code in ("order_not_refundable", "refund_exceeds_paid"):
            self.status = 409


class ServiceUnavailable(ZhifuError):
    """Our own database is down or hung: nothing was done; the client may retry shortly."""

    code = "service_unavailable"
    status = 503
    retry_after = "5"  # seconds, in the answer's Retry-After


class GatewayUnavailable(ZhifuError):
    """A gateway (or its sandbox) could not be reached or did not answer sensibly: the outcome
    is unknown; retry later."""

    code = "gateway_unavailable"
    status = 503


class IdempotencyConflict(ZhifuError):
    """An idempotency key (API header or one-time form token) sent again with a different
    request than the one it was first used for. Nothing was created."""

    code = "idempotency_key_reused"
    status = 409


class InvalidIdempotencyKey(ZhifuError):
    """An idempotency key that is empty, too long, or holds characters other than visible
    ASCII."""

    code = "invalid_idempotency_key"
    status = 400


def invalid_amount(exc: Exception) -> OrderError:
    """The one mapping from a :class:`zhifu.money.AmountError` to the error users and the API
    see (``invalid_amount``, 400); the precise reason stays in ``detail`` for logs."""
    from .money import MAX_AMOUNT, MIN_AMOUNT

    error = OrderError(
        "invalid_amount",
        _(
            "the amount must be from %(minimum)s to %(maximum)s with at most two decimal "
            "places, such as 12.30"
        ),
        minimum=MIN_AMOUNT,
        maximum=MAX_AMOUNT,
    )
    error.detail = str(exc)
    return error
