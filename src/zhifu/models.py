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
from django.utils.translation import gettext_lazy as _

__all__ = [
    "IdempotencyKey",
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
        PENDING = "pending", _("pending payment")
        PAID = "paid", _("paid")
        PARTIALLY_REFUNDED = "partially_refunded", _("partially refunded")
        REFUNDED = "refunded", _("refunded")
        CANCELLED = "cancelled", _("cancelled")
        EXPIRED = "expired", _("expired")

    class Kind(models.TextChoices):
        PURCHASE = "purchase", _("purchase")
        REWARD = "reward", _("reward")
        TOPUP = "topup", _("wallet top-up")
        PAYMENT_LINK = "payment_link", _("payment link")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="zhifu_orders",
        db_index=False,  # (user, created_at, id) below leads with it
        verbose_name=_("buyer"),
    )
    out_trade_no = models.CharField(max_length=64, unique=True, verbose_name=_("order number"))
    # site-defined kinds allowed
    kind = models.CharField(max_length=32, default=Kind.PURCHASE, verbose_name=_("kind"))
    subject = models.CharField(max_length=256, verbose_name=_("subject"))
    currency = models.CharField(max_length=3, default="CNY", verbose_name=_("currency"))
    total_amount = models.DecimalField(
        max_digits=12, decimal_places=2, verbose_name=_("total amount")
    )
    refunded_amount = models.DecimalField(
        max_digits=12, decimal_places=2, default=ZERO, verbose_name=_("refunded amount")
    )
    status = models.CharField(
        max_length=24, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))
    # cancelled or expired
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    # a person should look (late payment...)
    needs_attention = models.BooleanField(default=False, verbose_name=_("needs attention"))
    attention_reason = models.CharField(
        max_length=255, blank=True, verbose_name=_("attention reason")
    )
    metadata = models.JSONField(default=dict, blank=True, verbose_name=_("metadata"))

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ("-created_at", "-id")
        # Each index serves a query that runs (docs/performance.en.md, "Indexes"): "my orders"
        # in its exact order, the expiry job over pending orders only, and the admin's
        # "needs attention" filter; created_at (above) orders the admin's list.
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="zhifu_order_user_recent"),
            models.Index(
                fields=["expires_at"],
                condition=Q(status="pending"),
                name="zhifu_order_pending_expiry",
            ),
            models.Index(
                fields=["-created_at"],
                condition=Q(needs_attention=True),
                name="zhifu_order_attention",
            ),
        ]
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


class OrderLine(models.Model):
    """A snapshot of one thing bought: what it was (any model), its title and price then."""

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order")
    )
    content_type = models.ForeignKey(
        ContentType,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("content type"),
    )
    object_id = models.CharField(max_length=64, blank=True, default="", verbose_name=_("object ID"))
    item = GenericForeignKey("content_type", "object_id")
    sku = models.CharField(max_length=128, blank=True, verbose_name=_("SKU"))
    title = models.CharField(max_length=256, verbose_name=_("title"))
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("unit price"))
    quantity = models.PositiveIntegerField(default=1, verbose_name=_("quantity"))
    amount = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("amount"))
    metadata = models.JSONField(default=dict, blank=True, verbose_name=_("metadata"))

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
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
        COUPON = "coupon", _("coupon")
        CREDITS = "credits", _("credits")
        OTHER = "other", _("other")

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="adjustments", verbose_name=_("order")
    )
    kind = models.CharField(
        max_length=16, choices=Kind.choices, default=Kind.OTHER, verbose_name=_("kind")
    )
    label = models.CharField(max_length=256, verbose_name=_("label"))
    amount = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("amount"))
    metadata = models.JSONField(default=dict, blank=True, verbose_name=_("metadata"))

    class Meta:
        verbose_name = _("order adjustment")
        verbose_name_plural = _("order adjustments")
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.label} -{self.amount}"


class PaymentAttempt(models.Model):
    """One try at paying an order through one provider/channel, with its own out_trade_no."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for the buyer")
        SUCCEEDED = "succeeded", _("paid (counts for the order)")
        CLOSED = "closed", _("closed unpaid")
        # Paid, but not counted: a second payment of a paid order, or a payment that arrived
        # after the order expired or was cancelled. Refunded automatically or flagged.
        EXTRA = "extra", _("paid, not applied (refund due)")

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="attempts", verbose_name=_("order")
    )
    # A provider's name and one of its channels (zhifu.providers.registry): not database
    # choices, so that adding a provider needs no migration.
    provider = models.CharField(max_length=16, verbose_name=_("provider"))
    channel = models.CharField(max_length=16, verbose_name=_("payment method"))
    out_trade_no = models.CharField(max_length=64, unique=True, verbose_name=_("payment number"))
    trade_no = models.CharField(max_length=64, blank=True, verbose_name=_("gateway trade number"))
    amount = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("amount"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    buyer_id = models.CharField(max_length=64, blank=True, verbose_name=_("buyer ID"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    # the gateway confirmed it can't be paid
    closed_at_gateway = models.BooleanField(default=False, verbose_name=_("closed at the gateway"))
    qr_code = models.CharField(max_length=512, blank=True, verbose_name=_("QR code"))
    # the provider's last data about the trade
    raw = models.JSONField(default=dict, blank=True, verbose_name=_("raw data"))
    check_count = models.PositiveIntegerField(default=0, verbose_name=_("check count"))
    next_check_at = models.DateTimeField(
        null=True, blank=True, db_index=True, verbose_name=_("next check at")
    )
    last_checked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last checked at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("payment attempt")
        verbose_name_plural = _("payment attempts")
        ordering = ("id",)
        # the reconcile job's queue is next_check_at (above); the daily bill's day of payments:
        indexes = [
            models.Index(
                fields=["paid_at"], condition=Q(paid_at__isnull=False), name="zhifu_attempt_paid_at"
            )
        ]
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
        RECEIVED = "received", _("received (not processed yet)")
        APPLIED = "applied", _("applied")
        DUPLICATE = "duplicate", _("duplicate (already applied)")
        IGNORED = "ignored", _("ignored (nothing to do)")
        REJECTED = "rejected", _("rejected")
        ERROR = "error", _("error (will be retried)")

    provider = models.CharField(max_length=16, verbose_name=_("provider"))
    received_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("received at")
    )
    remote_addr = models.CharField(max_length=64, blank=True, verbose_name=_("remote address"))
    headers = models.JSONField(default=dict, blank=True, verbose_name=_("headers"))
    # The body exactly once, as received (empty when larger than the pipeline accepts: then only
    # its size and digest are kept). Nothing parsed from it is stored before it is verified.
    body = models.TextField(blank=True, verbose_name=_("body"))
    body_size = models.PositiveIntegerField(default=0, verbose_name=_("body size"))
    body_sha256 = models.CharField(max_length=64, blank=True, verbose_name=_("body SHA-256"))
    # From the verified event:
    event_id = models.CharField(max_length=128, blank=True, verbose_name=_("gateway's event ID"))
    out_trade_no = models.CharField(max_length=64, blank=True, verbose_name=_("payment number"))
    state = models.CharField(max_length=32, blank=True, verbose_name=_("what it said"))
    outcome = models.CharField(
        max_length=16, choices=Outcome.choices, default=Outcome.RECEIVED, verbose_name=_("outcome")
    )
    # bad_signature, app_id...
    reason = models.CharField(max_length=64, blank=True, verbose_name=_("reason"))
    # a readable explanation; a traceback on error
    detail = models.TextField(blank=True, verbose_name=_("detail"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))
    process_count = models.PositiveIntegerField(default=0, verbose_name=_("process count"))
    order = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("order"),
    )
    attempt = models.ForeignKey(
        PaymentAttempt,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("payment attempt"),
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ("-received_at", "-id")
        # received_at (above) orders the log; the sweep looks for the few left unprocessed; a
        # payment number finds its notifications (exact: no LIKE index beside it).
        indexes = [
            models.Index(fields=["out_trade_no"], name="zhifu_notification_trade"),
            models.Index(
                fields=["received_at"],
                condition=Q(outcome="received"),
                name="zhifu_notification_unprocessed",
            ),
        ]

    def __str__(self) -> str:
        return f"notification {self.pk} {self.out_trade_no} {self.outcome}"


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        UNKNOWN = "unknown", _("outcome unknown (will be retried)")

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order")
    )
    attempt = models.ForeignKey(
        PaymentAttempt,
        on_delete=models.PROTECT,
        related_name="refunds",
        verbose_name=_("payment attempt"),
    )
    out_request_no = models.CharField(max_length=64, unique=True, verbose_name=_("refund number"))
    amount = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("amount"))
    reason = models.CharField(max_length=256, blank=True, verbose_name=_("reason"))
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.PENDING,
        db_index=True,
        verbose_name=_("status"),
    )
    # refund of an extra/late payment
    automatic = models.BooleanField(default=False, verbose_name=_("automatic"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    error_code = models.CharField(max_length=128, blank=True, verbose_name=_("error code"))
    error_message = models.TextField(blank=True, verbose_name=_("error message"))
    tries = models.PositiveIntegerField(default=0, verbose_name=_("tries"))
    raw = models.JSONField(default=dict, blank=True, verbose_name=_("raw data"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    succeeded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("succeeded at"))

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=Decimal("0.01")), name="zhifu_refund_amount_positive"
            )
        ]

    def __str__(self) -> str:
        return f"refund {self.out_request_no} {self.amount} ({self.status})"


class Wallet(models.Model):
    """A user's balance. ``balance`` is a cache of the sum of the ledger, updated under a row
    lock in the same transaction as the entry; it can never go negative."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="zhifu_wallet",
        verbose_name=_("user"),
    )
    balance = models.DecimalField(
        max_digits=12, decimal_places=2, default=ZERO, verbose_name=_("balance")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="zhifu_wallet_nonnegative")
        ]

    def __str__(self) -> str:
        return f"wallet of {self.user} ({self.balance})"


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        TOPUP = "topup", _("top-up")
        PAYMENT = "payment", _("payment")
        REWARD_INCOME = "reward_income", _("reward income")
        REFUND = "refund", _("refund")
        ADJUSTMENT = "adjustment", _("adjustment")
        WITHDRAWAL = "withdrawal", _("withdrawal")  # held when asked for (zhifu.withdrawals)
        WITHDRAWAL_BACK = "withdrawal_back", _("withdrawal returned")  # it definitely failed

    wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="entries", verbose_name=_("wallet")
    )
    # signed: positive credits, negative debits
    amount = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("amount"))
    balance_after = models.DecimalField(
        max_digits=12, decimal_places=2, verbose_name=_("balance after")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
        verbose_name=_("order"),
    )
    refund = models.OneToOneField(
        Refund,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entry",
        verbose_name=_("refund"),
    )
    memo = models.CharField(max_length=256, blank=True, verbose_name=_("memo"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ("-created_at", "-id")
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


class IdempotencyKey(models.Model):
    """One use of an idempotency key: an API ``Idempotency-Key`` header or a one-time form token.

    The row is inserted in the same transaction as what it creates, and (user, scope, key) is
    unique: of two identical requests racing, one creates and the other waits for it, then reads
    ``ref``. ``fingerprint`` (a digest of the request) tells a retry from a different request
    that reuses the key. ``response`` is the API's first answer, replayed as it was.
    See :mod:`zhifu.services.idempotency`.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    # where the key was used, e.g. "api:orders" or "shop:buy"
    scope = models.CharField(max_length=64, verbose_name=_("scope"))
    key = models.CharField(max_length=255, verbose_name=_("key"))
    fingerprint = models.CharField(max_length=64, verbose_name=_("request fingerprint"))
    # what was created (an out_trade_no, a pk...); empty only inside the creating transaction
    ref = models.CharField(max_length=128, blank=True, verbose_name=_("result"))
    response = models.JSONField(null=True, blank=True, verbose_name=_("response"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(db_index=True, verbose_name=_("expires at"))

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "scope", "key"], name="zhifu_idempotency_key_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} -> {self.ref}"


# Models of the shop-operations features live beside their code; importing them here registers
# them with Django (they refer to the models above by "zhifu.Name" strings).
from .bills import models as _bill_models  # noqa: E402, F401
from .paylinks import models as _link_models  # noqa: E402, F401
from .refundrequests import models as _refund_request_models  # noqa: E402, F401
from .withdrawals import models as _withdrawal_models  # noqa: E402, F401
