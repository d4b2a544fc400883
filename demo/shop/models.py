"""The goods shop (tutorial 003): goods with a price; orders are Zhifu orders."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Goods(models.Model):
    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(
        _("code"),
        max_length=40,
        blank=True,
        default="",
        help_text=_("a stable key for sample data"),
    )
    description = models.TextField(_("description"), blank=True)
    price = models.DecimalField(
        _("price"), max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    emoji = models.CharField(_("picture"), max_length=8, blank=True)
    sold = models.PositiveIntegerField(_("sold"), default=0)
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("goods")
        verbose_name_plural = _("goods")

    def __str__(self) -> str:
        return self.name

    @property
    def sku(self) -> str:
        return f"goods:{self.pk}"
