"""The course site (tutorials 001/002): courses sold per validity option, coupons, credits and
enrollments. Orders themselves are Zhifu orders; this app keeps what the site owns."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

CENT = Decimal("0.01")


class Course(models.Model):
    title = models.CharField(_("title"), max_length=120)
    code = models.SlugField(
        _("code"),
        max_length=40,
        blank=True,
        default="",
        help_text=_("a stable key for sample data"),
    )
    teacher = models.CharField(_("teacher"), max_length=60)
    summary = models.TextField(_("summary"), blank=True)
    lessons = models.PositiveIntegerField(_("lessons"), default=10)
    color = models.CharField(_("cover colour"), max_length=16, default="#3b82f6")
    students = models.PositiveIntegerField(_("students"), default=0)
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")

    def __str__(self) -> str:
        return self.title

    def cheapest(self) -> ValidityOption | None:
        return min(self.options.all(), key=lambda o: o.price, default=None)


class ValidityOption(models.Model):
    """A course's price for a period of access; ``days`` empty means permanent access."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="options")
    days = models.PositiveIntegerField(_("days"), null=True, blank=True)
    price = models.DecimalField(
        _("price"), max_digits=10, decimal_places=2, validators=[MinValueValidator(CENT)]
    )

    class Meta:
        ordering = ["course", models.F("days").asc(nulls_last=True)]
        constraints = [
            models.UniqueConstraint(fields=["course", "days"], name="course_validity_unique"),
            models.UniqueConstraint(
                fields=["course"],
                condition=models.Q(days__isnull=True),
                name="course_one_permanent",
            ),
        ]
        verbose_name = _("validity option")
        verbose_name_plural = _("validity options")

    def __str__(self) -> str:
        return f"{self.course} · {self.label}"

    @property
    def is_permanent(self) -> bool:
        return self.days is None

    @property
    def label(self) -> str:
        if self.days is None:
            return str(_("Permanent"))
        return str(_("%(days)d days") % {"days": self.days})

    @property
    def sku(self) -> str:
        return f"course:{self.course_id}:{self.days if self.days is not None else 'permanent'}"


class Coupon(models.Model):
    class Kind(models.TextChoices):
        FIXED = "fixed", _("Fixed amount")
        PERCENT = "percent", _("Percentage")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    amount_off = models.DecimalField(
        _("amount off"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    percent_off = models.PositiveSmallIntegerField(
        _("percent off"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
    )
    min_spend = models.DecimalField(_("minimum spend"), max_digits=10, decimal_places=2, default=0)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")

    def __str__(self) -> str:
        return self.name

    def discount_for(self, subtotal: Decimal) -> Decimal:
        """The discount this coupon gives on ``subtotal`` (never more than the subtotal)."""
        if self.kind == self.Kind.FIXED:
            off = self.amount_off or Decimal("0")
        else:
            off = (subtotal * Decimal(self.percent_off or 0) / Decimal(100)).quantize(
                CENT, rounding=ROUND_HALF_UP
            )
        return min(off, subtotal).quantize(CENT)

    def describe(self) -> str:
        if self.kind == self.Kind.FIXED:
            text = _("¥%(amount)s off") % {"amount": self.amount_off}
        else:
            text = _("%(percent)d%% off") % {"percent": self.percent_off}
        if self.min_spend:
            text = _("%(discount)s on orders from ¥%(min)s") % {
                "discount": text,
                "min": self.min_spend,
            }
        return str(text)


class UserCoupon(models.Model):
    """One coupon held by one user: usable once. Reserved by a pending order, used when paid."""

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        RESERVED = "reserved", _("Reserved by an unpaid order")
        USED = "used", _("Used")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coupons"
    )
    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="holders")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default="available"
    )
    order_no = models.CharField(_("order"), max_length=64, blank=True)
    obtained_at = models.DateTimeField(_("obtained"), auto_now_add=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        ordering = ["coupon__valid_until", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "coupon"], name="one_coupon_per_user"),
        ]
        verbose_name = _("user coupon")
        verbose_name_plural = _("user coupons")

    def __str__(self) -> str:
        return f"{self.user} · {self.coupon}"

    def is_expired(self, now: object = None) -> bool:
        return (now or timezone.now()) > self.coupon.valid_until  # type: ignore[operator]

    def is_not_yet_valid(self, now: object = None) -> bool:
        return (now or timezone.now()) < self.coupon.valid_from  # type: ignore[operator]


class CreditAccount(models.Model):
    """A user's credits (积分). ``held`` are reserved by pending orders; available = balance − held."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_account"
    )
    balance = models.PositiveIntegerField(_("credits"), default=0)
    held = models.PositiveIntegerField(_("held by unpaid orders"), default=0)

    class Meta:
        verbose_name = _("credit account")
        verbose_name_plural = _("credit accounts")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(held__lte=models.F("balance")), name="held_le_balance"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.balance}"

    @property
    def available(self) -> int:
        return self.balance - self.held


class CreditEntry(models.Model):
    """Every movement of credits, for the user's history and for auditing.

    GRANT (+n), SPEND (−n) and RETURN (+n) change the balance and sum to it; HOLD and RELEASE
    record n credits held for / released by a pending order (they change ``held``, not the
    balance).
    """

    class Kind(models.TextChoices):
        GRANT = "grant", _("Granted")
        HOLD = "hold", _("Held for an order")
        RELEASE = "release", _("Released (order not paid)")
        SPEND = "spend", _("Spent")
        RETURN = "return", _("Returned (refund)")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_entries"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount = models.IntegerField(_("credits"))
    order_no = models.CharField(max_length=64, blank=True)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("credit entry")
        verbose_name_plural = _("credit entries")

    def __str__(self) -> str:
        return f"{self.user} {self.kind} {self.amount}"


class Enrollment(models.Model):
    """A user's access to a course (购买记录). Buying again extends it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrollments")
    order_no = models.CharField(_("order"), max_length=64)
    enrolled_at = models.DateTimeField(_("bought at"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked = models.BooleanField(_("revoked (refunded)"), default=False)
    # When the buyer first opened the course with access (the demo's "studied"): a refund request
    # for a course bought before it was studied is approved automatically (courses.refund_policy).
    started_at = models.DateTimeField(_("started studying at"), null=True, blank=True)

    class Meta:
        ordering = ["-enrolled_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="one_enrollment_per_course"),
        ]
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")

    def __str__(self) -> str:
        return f"{self.user} · {self.course}"

    @property
    def is_permanent(self) -> bool:
        return self.expires_at is None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return not self.revoked and not self.is_expired

    def recompute(self) -> None:
        """Set access from the purchases not refunded (``grants``), replayed in order: each adds
        its days from the later of its purchase and the expiry so far; one permanent purchase
        makes access permanent; none left revokes access. Call ``save()`` after."""
        active = list(self.grants.filter(revoked=False).order_by("granted_at", "pk"))
        self.revoked = not active
        if not active:
            return
        self.order_no = active[-1].order_no
        self.enrolled_at = active[-1].granted_at
        if any(grant.days is None for grant in active):
            self.expires_at = None
            return
        expires: datetime | None = None
        for grant in active:
            start = max(expires or grant.granted_at, grant.granted_at)
            expires = start + timedelta(days=grant.days or 0)
        self.expires_at = expires


class EnrollmentGrant(models.Model):
    """What one paid order bought of an enrollment: its days (or permanent access). Refunding
    that order in full revokes this grant only, and the enrollment is recomputed from the rest,
    so refunding the first of two purchases takes back exactly its days."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="grants")
    order_no = models.CharField(_("order"), max_length=64)
    days = models.PositiveIntegerField(_("days"), null=True, blank=True)  # empty: permanent
    granted_at = models.DateTimeField(_("bought at"))
    revoked = models.BooleanField(_("revoked (refunded)"), default=False)

    class Meta:
        ordering = ["granted_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "order_no"], name="one_grant_per_order"),
        ]
        verbose_name = _("enrollment purchase")
        verbose_name_plural = _("enrollment purchases")

    def __str__(self) -> str:
        return f"{self.enrollment} · {self.order_no}"
