"""Zhifu's data: orders (with lines and adjustments), payment attempts, the raw notification log,
refunds, wallets and their ledger.

Statuses are never assigned here or in views: only :mod:`zhifu.services.transitions` changes them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

__all__ = [
    "LedgerEntry",
    "Notification",
    "Order",
    "OrderAdjustment",
    "OrderLine",
    "PaymentAttempt",
    "Refund",
    "Wallet",
]

ZERO = Decimal("0.00")


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "pending payment"
        PAID = "paid", "paid"
        PARTIALLY_REFUNDED = "partially_refunded", "partially refunded"
        REFUNDED = "refunded", "refunded"
        CANCELLED = "cancelled", "cancelled"
        EXPIRED = "expired", "expired"

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "purchase"
        REWARD = "reward", "reward"
        TOPUP = "topup", "wallet top-up"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="zhifu_orders"
    )
    out_trade_no = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=32, default=Kind.PURCHASE)  # site-defined kinds allowed
    subject = models.CharField(max_length=256)
    currency = models.CharField(max_length=3, default="CNY")
    total_amount = models.DecimalField(max_digits=12, decimal_places=2)
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    status = models.CharField(
        max_length=24, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    expires_at = models.DateTimeField(db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)  # cancelled or expired
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    needs_attention = models.BooleanField(default=False)  # a person should look (late payment...)
    attention_reason = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["user", "-created_at"], name="zhifu_order_user_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_amount__gte=Decimal("0.01")), name="zhifu_order_total_positive"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0)
                & Q(refunded_amount__lte=models.F("total_amount")),
                name="zhifu_order_refunded_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.out_trade_no} ({self.status})"

    @property
    def is_paid(self) -> bool:
        return self.status in (
            self.Status.PAID,
            self.Status.PARTIALLY_REFUNDED,
            self.Status.REFUNDED,
        )

    @property
    def refundable_amount(self) -> Decimal:
        if not self.is_paid:
            return ZERO
        return self.total_amount - self.refunded_amount


class OrderLine(models.Model):
    """A snapshot of one thing bought: what it was (any model), its title and price then."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    content_type = models.ForeignKey(
        ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    object_id = models.CharField(max_length=64, blank=True, default="")
    item = GenericForeignKey("content_type", "object_id")
    sku = models.CharField(max_length=128, blank=True)
    title = models.CharField(max_length=256)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField(default=1)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="zhifu_line_price_nonneg"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="zhifu_line_quantity_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.title} × {self.quantity}"


class OrderAdjustment(models.Model):
    """A discount decided by the site (coupon, credits...): positive ``amount`` lowers the total."""

    class Kind(models.TextChoices):
        COUPON = "coupon", "coupon"
        CREDITS = "credits", "credits"
        OTHER = "other", "other"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="adjustments")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OTHER)
    label = models.CharField(max_length=256)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.label} -{self.amount}"


class PaymentAttempt(models.Model):
    """One try at paying an order through one provider/channel, with its own out_trade_no."""

    class Status(models.TextChoices):
        PENDING = "pending", "waiting for the buyer"
        SUCCEEDED = "succeeded", "paid (counts for the order)"
        CLOSED = "closed", "closed unpaid"
        # Paid, but not counted: a second payment of a paid order, or a payment that arrived
        # after the order expired or was cancelled. Refunded automatically or flagged.
        EXTRA = "extra", "paid, not applied (refund due)"

    class Channel(models.TextChoices):
        ALIPAY_PAGE = "alipay_page", "Alipay (PC web)"
        ALIPAY_WAP = "alipay_wap", "Alipay (mobile web)"
        ALIPAY_QR = "alipay_qr", "Alipay (QR code)"
        BALANCE = "balance", "wallet balance"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="attempts")
    provider = models.CharField(max_length=16)  # "alipay" | "balance"
    channel = models.CharField(max_length=16, choices=Channel.choices)
    out_trade_no = models.CharField(max_length=64, unique=True)
    trade_no = models.CharField(max_length=64, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    buyer_id = models.CharField(max_length=64, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_at_gateway = models.BooleanField(default=False)  # Alipay confirmed it can't be paid
    qr_code = models.CharField(max_length=512, blank=True)
    raw = models.JSONField(default=dict, blank=True)  # the provider's last data about the trade
    check_count = models.PositiveIntegerField(default=0)
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status="succeeded"),
                name="zhifu_one_succeeded_attempt_per_order",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=Decimal("0.01")), name="zhifu_attempt_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.out_trade_no} {self.channel} ({self.status})"


class Notification(models.Model):
    """An incoming asynchronous notification, stored raw before anything else happens."""

    class Outcome(models.TextChoices):
        RECEIVED = "received", "received (not processed yet)"
        APPLIED = "applied", "applied"
        DUPLICATE = "duplicate", "duplicate (already applied)"
        IGNORED = "ignored", "ignored (nothing to do)"
        REJECTED = "rejected", "rejected"
        ERROR = "error", "error (will be retried)"

    provider = models.CharField(max_length=16, default="alipay")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    remote_addr = models.CharField(max_length=64, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)  # parsed body (unverified until outcome)
    notify_id = models.CharField(max_length=128, blank=True, db_index=True)
    out_trade_no = models.CharField(max_length=64, blank=True, db_index=True)
    trade_status = models.CharField(max_length=32, blank=True)
    outcome = models.CharField(
        max_length=16, choices=Outcome.choices, default=Outcome.RECEIVED, db_index=True
    )
    reason = models.CharField(max_length=64, blank=True, db_index=True)  # bad_signature, app_id...
    detail = models.TextField(blank=True)  # a readable explanation; a traceback on error
    processed_at = models.DateTimeField(null=True, blank=True)
    process_count = models.PositiveIntegerField(default=0)
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications"
    )
    attempt = models.ForeignKey(
        PaymentAttempt,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )

    class Meta:
        ordering = ("-received_at", "-id")

    def __str__(self) -> str:
        return f"notification {self.pk} {self.out_trade_no} {self.outcome}"


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        UNKNOWN = "unknown", "outcome unknown (will be retried)"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    attempt = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT, related_name="refunds")
    out_request_no = models.CharField(max_length=64, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=256, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    automatic = models.BooleanField(default=False)  # refund of an extra/late payment
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    error_code = models.CharField(max_length=128, blank=True)
    error_message = models.TextField(blank=True)
    tries = models.PositiveIntegerField(default=0)
    raw = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=Decimal("0.01")), name="zhifu_refund_amount_positive"
            )
        ]

    def __str__(self) -> str:
        return f"refund {self.out_request_no} {self.amount} ({self.status})"

    @property
    def counts_for_order(self) -> bool:
        """Refunds of the order's counted payment change the order's status; refunds of extra
        payments do not."""
        return not self.automatic


class Wallet(models.Model):
    """A user's balance. ``balance`` is a cache of the sum of the ledger, updated under a row
    lock in the same transaction as the entry; it can never go negative."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="zhifu_wallet"
    )
    balance = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="zhifu_wallet_nonnegative")
        ]

    def __str__(self) -> str:
        return f"wallet of {self.user} ({self.balance})"


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        TOPUP = "topup", "top-up"
        PAYMENT = "payment", "payment"
        REWARD_INCOME = "reward_income", "reward income"
        REFUND = "refund", "refund"
        ADJUSTMENT = "adjustment", "adjustment"

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    amount = models.DecimalField(
        max_digits=12, decimal_places=2
    )  # signed: positive credits, negative debits
    balance_after = models.DecimalField(max_digits=12, decimal_places=2)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    refund = models.OneToOneField(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entry"
    )
    memo = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="zhifu_ledger_nonzero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="zhifu_ledger_balance_nonneg"
            ),
            # An order is paid from a wallet, or credits a top-up, at most once.
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=Q(kind__in=["payment", "topup"]),
                name="zhifu_ledger_once_per_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "amount": str(self.amount)}
