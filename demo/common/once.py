"""One submit is one order: one-time form tokens on every form that creates an order or starts
a payment (buy now, checkout, top-up, reward, pay).

Each rendering of such a form carries a fresh random token (``{% once_field %}``). The view
passes it to Zhifu's ``run_once`` as the idempotency key, with the form's name as the scope and
its cleaned data as the fingerprint: the first submit creates the order; a second submit of
the same rendering (a double click, a reload of the answer, a retry after a timeout) gets the
first order back and creates nothing. Two identical submits racing each other are serialised by
the key's unique row, so exactly one order is made. A new visit to the page is a new token, so
buying the same thing again on purpose still works.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import gettext as _

from zhifu.exceptions import IdempotencyConflict, InvalidIdempotencyKey
from zhifu.models import Order
from zhifu.services.idempotency import fingerprint, run_once

from .errors import DemoError
from .types import AuthenticatedHttpRequest

FIELD = "once"  # the hidden field's name


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _load(out_trade_no: str) -> Order:
    return Order.objects.get(out_trade_no=out_trade_no)


def _ref(order: Order) -> str:
    return order.out_trade_no


def submit_once(
    request: AuthenticatedHttpRequest,
    form: str,
    data: Mapping[str, Any],
    create: Callable[[], Order],
) -> tuple[Order, bool]:
    """``(order, True)`` if this submit created ``order``; ``(the first order, False)`` if
    this form rendering was submitted before with the same ``data``.

    ``create`` runs inside the key's transaction: database work only (start a payment at
    Alipay after this returns). Raises ``DemoError`` for a missing or reused token."""
    token = request.POST.get(FIELD, "")
    if not token:
        raise DemoError(
            "form_token_missing",
            _("This form was not sent from the page (or the page is too old); please try again."),
        )
    try:
        return run_once(
            user=request.user,
            scope=f"demo:{form}",
            key=token,
            fingerprint=fingerprint(dict(data)),
            create=create,
            load=_load,
            ref=_ref,
        )
    except InvalidIdempotencyKey:
        raise DemoError(
            "form_token_invalid", _("This form's one-time token is damaged; please try again.")
        ) from None
    except IdempotencyConflict:
        raise DemoError(
            "form_token_reused",
            _(
                "This form was already submitted with other values; reload the page to place a "
                "new order."
            ),
        ) from None
