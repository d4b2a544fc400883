"""Refund request models (imported by zhifu.models so Django registers them).

A :class:`RefundRequest` is a buyer's request for the money of a paid order back: the whole
order or some of its lines, with a reason. The site's policy decides at once (approved
automatically) or leaves it ``pending`` for staff, who approve it (a refund through
:func:`zhifu.services.refunds.refund_order`, the one refund pipeline) or reject it with a reason.
An order has at most one pending request at a time (a partial unique index).

The buyer-facing :attr:`RefundRequest.state` follows the refund once the request is approved:
``refunding`` (sent, not yet confirmed), ``refunded`` or ``refund_failed``.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = ["RefundRequest"]


class RefundRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for approval")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    class State(models.TextChoices):
        """What the buyer sees: the status, and after approval the refund's own state."""

        PENDING = "pending", _("waiting for approval")
        REJECTED = "rejected", _("rejected")
        REFUNDING = "refunding", _("refund under way")
        REFUNDED = "refunded", _("refunded")
        REFUND_FAILED = "refund_failed", _("refund failed")

    order = models.ForeignKey(
        "zhifu.Order",
        on_delete=models.PROTECT,
        related_name="refund_requests",
        verbose_name=_("order"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="zhifu_refund_requests",
        verbose_name=_("buyer"),
    )
    # OrderLine ids asked for; empty: the whole order (everything still refundable).
    lines = models.JSONField(default=list, blank=True, verbose_name=_("lines"))
    amount = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("amount"))
    reason = models.CharField(max_length=256, verbose_name=_("reason"))
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.PENDING,
        db_index=True,
        verbose_name=_("status"),
    )
    automatic = models.BooleanField(default=False, verbose_name=_("approved automatically"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))
    rejection_reason = models.CharField(
        max_length=256, blank=True, verbose_name=_("reason for rejection")
    )
    refund = models.OneToOneField(
        "zhifu.Refund",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refund_request",
        verbose_name=_("refund"),
    )
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        app_label = "zhifu"
        verbose_name = _("refund request")
        verbose_name_plural = _("refund requests")
        ordering = ("-created_at", "-id")
        permissions = [("decide_refundrequest", _("Can approve or reject refund requests"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=Decimal("0.01")),
                name="zhifu_refundrequest_amount_positive",
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status="pending"),
                name="zhifu_refundrequest_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"refund request {self.pk} {self.amount} ({self.status})"

    @property
    def state(self) -> str:
        if self.status != self.Status.APPROVED:
            return str(self.status)
        refund_status = self.refund.status if self.refund is not None else "pending"
        if refund_status == "succeeded":
            return self.State.REFUNDED
        if refund_status == "failed":
            return self.State.REFUND_FAILED
        return self.State.REFUNDING

    def get_state_display(self) -> str:
        return str(self.State(self.state).label)
