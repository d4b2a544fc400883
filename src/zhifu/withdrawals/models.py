"""Withdrawal models (imported by zhifu.models so Django registers them).

A withdrawal moves money out of a wallet to the author's account at a payout gateway. The amount
is held when it is asked for (a ``withdrawal`` ledger entry, a debit), spent when the gateway
confirms the transfer (no further entry), and given back (a ``withdrawal_back`` credit) when the
transfer definitely failed or staff rejected it. Only :mod:`zhifu.withdrawals.services` changes
a withdrawal's status, under its row lock.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = ["Withdrawal"]


class Withdrawal(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("waiting for approval")
        APPROVED = "approved", _("approved")
        SENT = "sent", _("sent")
        SUCCEEDED = "succeeded", _("paid out")
        FAILED = "failed", _("failed")
        UNKNOWN = "unknown", _("outcome unknown")

    class PayeeType(models.TextChoices):
        LOGIN = "login", _("account name (e-mail or phone)")
        USER_ID = "user_id", _("user id")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="zhifu_withdrawals",
        verbose_name=_("user"),
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("amount"))
    provider = models.CharField(max_length=32, verbose_name=_("provider"))
    payee_type = models.CharField(
        max_length=16, choices=PayeeType.choices, verbose_name=_("payee type")
    )
    payee = models.CharField(max_length=100, verbose_name=_("payee account"))
    payee_name = models.CharField(max_length=64, blank=True, verbose_name=_("payee name"))
    out_biz_no = models.CharField(max_length=64, unique=True, verbose_name=_("withdrawal number"))
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.REQUESTED,
        db_index=True,
        verbose_name=_("status"),
    )
    gateway_no = models.CharField(max_length=64, blank=True, verbose_name=_("gateway order id"))
    error_code = models.CharField(max_length=64, blank=True, verbose_name=_("error code"))
    error_message = models.CharField(max_length=256, blank=True, verbose_name=_("error message"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    hold_entry = models.OneToOneField(
        "zhifu.LedgerEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="withdrawal_held",
        verbose_name=_("hold entry"),
    )
    return_entry = models.OneToOneField(
        "zhifu.LedgerEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="withdrawal_returned",
        verbose_name=_("return entry"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        app_label = "zhifu"
        verbose_name = _("withdrawal")
        verbose_name_plural = _("withdrawals")
        ordering = ("-created_at", "-id")
        permissions = [("approve_withdrawal", _("Can approve or reject withdrawals"))]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="zhifu_withdrawal_positive")
        ]

    def __str__(self) -> str:
        return f"{self.out_biz_no} {self.amount} ({self.status})"
