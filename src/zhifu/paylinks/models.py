"""Payment link models (imported by zhifu.models so Django registers them).

A :class:`PaymentLink` is a staff member's request for a payment: an amount, a subject, an
optional buyer and an expiry, reachable by whoever holds its short unguessable ``code``. Creating
one creates the pending :class:`zhifu.models.Order` it pays (kind ``payment_link``), so paying a
link is paying an order: the same attempts, notifications, locks and fulfilment, once. The link's
status is its order's status.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["KIND", "PaymentLink"]

# Order.kind of the orders that payment links pay (Order.Kind.PAYMENT_LINK, labelled in the admin).
KIND = "payment_link"


class PaymentLink(models.Model):
    code = models.CharField(max_length=32, unique=True, editable=False, verbose_name=_("code"))
    order = models.OneToOneField(
        "zhifu.Order",
        on_delete=models.PROTECT,
        related_name="payment_link",
        editable=False,
        verbose_name=_("order"),
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("amount"))
    subject = models.CharField(max_length=256, verbose_name=_("subject"))
    # Who is asked to pay; empty: whoever opens the link. Either way the link is a bearer link.
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="zhifu_payment_links",
        verbose_name=_("buyer"),
    )
    expires_at = models.DateTimeField(db_index=True, verbose_name=_("expires at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="zhifu_payment_links_created",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )

    class Meta:
        app_label = "zhifu"
        verbose_name = _("payment link")
        verbose_name_plural = _("payment links")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=Decimal("0.01")), name="zhifu_paymentlink_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.subject}"

    def get_absolute_url(self) -> str:
        return reverse("zhifu:link", args=[self.code])

    def status_at(self, now: datetime | None = None) -> str:
        """The order's status; a pending order past its expiry counts as ``expired`` at once
        (the expiry job closes it at the gateways a little later)."""
        status = str(self.order.status)
        if status == "pending" and self.order.expires_at <= (now or timezone.now()):
            return "expired"
        return status

    @property
    def status(self) -> str:
        return self.status_at()

    @property
    def is_paid(self) -> bool:
        return bool(self.order.is_paid)

    @property
    def payable(self) -> bool:
        return self.status == "pending"
