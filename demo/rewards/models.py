"""Article rewards (打赏, tutorial 000): articles by authors and the rewards readers pay."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Article(models.Model):
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="articles"
    )
    title = models.CharField(_("title"), max_length=150)
    code = models.SlugField(
        _("code"),
        max_length=40,
        blank=True,
        default="",
        help_text=_("a stable key for sample data"),
    )
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = models.TextField(_("body"))
    created_at = models.DateTimeField(_("published"), auto_now_add=True)
    # readers (distinct people) with a paid reward, not the number of rewards
    reward_count = models.PositiveIntegerField(_("readers who rewarded"), default=0)
    reward_total = models.DecimalField(
        _("rewarded in total"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")

    def __str__(self) -> str:
        return self.title


class Reward(models.Model):
    """One reward order's details; counted only once its Zhifu order is paid."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Unpaid")
        PAID = "paid", _("Paid")
        CLOSED = "closed", _("Not paid (cancelled or expired)")
        REFUNDED = "refunded", _("Refunded")

    order = models.OneToOneField("zhifu.Order", on_delete=models.CASCADE, related_name="reward")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="rewards")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rewards_given"
    )
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    message = models.CharField(_("message"), max_length=200, blank=True)
    channel = models.CharField(_("paid with"), max_length=20)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # Refunded to the reader but not yet taken back from the author's wallet, which held less
    # at the time (a wallet never goes negative): the author's debt, repaid from later rewards.
    unrecovered = models.DecimalField(
        _("not yet taken back from the author"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
    )

    class Meta:
        ordering = ["-paid_at", "-id"]
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")

    def __str__(self) -> str:
        return f"{self.user} → {self.article}: {self.amount}"
