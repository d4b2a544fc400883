"""Bill reconciliation models (imported by zhifu.models so Django registers them).

One :class:`ReconciliationReport` per provider and bill date (unique): running the job again
for a date finds it (see :mod:`zhifu.bills.reconcile` for when it is refused or replaced). Each
:class:`Discrepancy` keeps the bill lines that caused it, as JSON.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["Discrepancy", "ReconciliationReport"]


class ReconciliationReport(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        BALANCED = "balanced", _("balanced")
        DISCREPANCIES = "discrepancies", _("discrepancies found")
        FAILED = "failed", _("failed (bill not available)")

    provider = models.CharField(max_length=16, verbose_name=_("provider"))
    bill_date = models.DateField(db_index=True, verbose_name=_("bill date"))
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.RUNNING,
        db_index=True,
        verbose_name=_("status"),
    )
    runs = models.PositiveIntegerField(default=1, verbose_name=_("runs"))
    started_at = models.DateTimeField(verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    bill_files = models.JSONField(default=list, blank=True, verbose_name=_("bill files"))
    bill_payments = models.PositiveIntegerField(default=0, verbose_name=_("payments in the bill"))
    bill_refunds = models.PositiveIntegerField(default=0, verbose_name=_("refunds in the bill"))
    bill_payment_total = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, verbose_name=_("payment total in the bill")
    )
    bill_refund_total = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, verbose_name=_("refund total in the bill")
    )
    bill_fee_total = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, verbose_name=_("fee total of the bill's lines")
    )
    stated_fee_totals = models.JSONField(
        default=dict, blank=True, verbose_name=_("fee totals stated by the gateway")
    )
    site_payment_total = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, verbose_name=_("payment total here")
    )
    site_refund_total = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, verbose_name=_("refund total here")
    )
    error = models.TextField(blank=True, verbose_name=_("error"))

    class Meta:
        verbose_name = _("reconciliation report")
        verbose_name_plural = _("reconciliation reports")
        ordering = ("-bill_date", "provider")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "bill_date"], name="zhifu_one_report_per_provider_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.bill_date} ({self.status})"


class Discrepancy(models.Model):
    class Kind(models.TextChoices):
        PAID_NOT_HERE = "paid_not_here", _("paid there, not here")
        UNKNOWN_TRADE = "unknown_trade", _("unknown trade")
        AMOUNT_DIFFERS = "amount_differs", _("amount differs")
        NOT_IN_BILL = "not_in_bill", _("paid here, not in the bill")
        REFUND_MISSING = "refund_missing", _("refund missing here")
        REFUND_NOT_IN_BILL = "refund_not_in_bill", _("refund not in the bill")
        FEE_TOTAL = "fee_total", _("fee totals differ")
        LEDGER = "ledger", _("ledger entry missing")

    class Resolution(models.TextChoices):
        OPEN = "open", _("open (for a person to look at)")
        APPLIED = "applied", _("applied through the payment pipeline")
        NOT_APPLIED = "not_applied", _("could not be applied")

    report = models.ForeignKey(
        ReconciliationReport,
        on_delete=models.CASCADE,
        related_name="discrepancies",
        verbose_name=_("report"),
    )
    kind = models.CharField(
        max_length=24, choices=Kind.choices, db_index=True, verbose_name=_("kind")
    )
    out_trade_no = models.CharField(
        max_length=64, blank=True, db_index=True, verbose_name=_("payment number")
    )
    gateway_trade_no = models.CharField(
        max_length=64, blank=True, verbose_name=_("gateway trade number")
    )
    out_refund_no = models.CharField(max_length=64, blank=True, verbose_name=_("refund number"))
    bill_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, verbose_name=_("amount in the bill")
    )
    site_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        verbose_name=_("amount here (or the sum of the lines)"),
    )
    detail = models.TextField(blank=True, verbose_name=_("detail"))
    lines = models.JSONField(default=list, blank=True, verbose_name=_("bill lines"))
    resolution = models.CharField(
        max_length=16,
        choices=Resolution.choices,
        default=Resolution.OPEN,
        verbose_name=_("resolution"),
    )
    attempt = models.ForeignKey(
        "zhifu.PaymentAttempt",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payment attempt"),
    )
    refund = models.ForeignKey(
        "zhifu.Refund",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("refund"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("discrepancy")
        verbose_name_plural = _("discrepancies")
        ordering = ("report", "kind", "out_trade_no", "id")

    def __str__(self) -> str:
        return f"{self.kind} {self.out_trade_no or self.out_refund_no}"
