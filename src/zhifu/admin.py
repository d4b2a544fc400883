"""Admin: orders (lines, adjustments, attempts, refunds inline), notifications (filter by
outcome, replay), refunds (issue one from an order), wallets and ledger.

Statuses are read-only everywhere: actions call the service layer, which alone changes them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .exceptions import ZhifuError
from .models import (
    LedgerEntry,
    Notification,
    Order,
    OrderAdjustment,
    OrderLine,
    PaymentAttempt,
    Refund,
    Wallet,
)
from .services.notifications import replay_notification
from .services.reconcile import reconcile_order
from .services.refunds import refund_order


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("sku", "title", "unit_price", "quantity", "amount", "content_type", "object_id")
    readonly_fields = fields


class OrderAdjustmentInline(ReadOnlyInline):
    model = OrderAdjustment
    fields = ("kind", "label", "amount")
    readonly_fields = fields


class PaymentAttemptInline(ReadOnlyInline):
    model = PaymentAttempt
    fields = (
        "out_trade_no",
        "channel",
        "status",
        "amount",
        "trade_no",
        "paid_at",
        "closed_at_gateway",
        "next_check_at",
    )
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fk_name = "order"
    fields = (
        "out_request_no",
        "amount",
        "status",
        "automatic",
        "reason",
        "error_code",
        "created_at",
    )
    readonly_fields = fields


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        label=_("amount"),
        help_text=_("Leave empty to refund everything still refundable."),
    )
    reason = forms.CharField(max_length=256, required=False, label=_("reason"))


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "out_trade_no",
        "user",
        "kind",
        "subject",
        "total_amount",
        "refunded_amount",
        "status",
        "needs_attention",
        "created_at",
    )
    list_filter = ("status", "kind", "needs_attention")
    search_fields = ("out_trade_no", "subject", "attempts__out_trade_no", "attempts__trade_no")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Order._meta.concrete_fields if f.name != "id"]
    inlines = [OrderLineInline, OrderAdjustmentInline, PaymentAttemptInline, RefundInline]
    actions = ["reconcile_now", "refund_in_full"]
    list_select_related = ("user",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are created by the site, through the service layer

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Reconcile now (ask Alipay about these orders)"))
    def reconcile_now(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset:
            try:
                order = reconcile_order(order)
            except ZhifuError as exc:
                self.message_user(request, f"{order.out_trade_no}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{order.out_trade_no}: {order.get_status_display()}")

    @admin.action(description=_("Refund in full"))
    def refund_in_full(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset:
            try:
                refund = refund_order(order, reason="refund from the admin", by=request.user)
            except ZhifuError as exc:
                self.message_user(request, f"{order.out_trade_no}: {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    gettext("%(order)s: refund %(refund)s of %(amount)s: %(status)s")
                    % {
                        "order": order.out_trade_no,
                        "refund": refund.out_request_no,
                        "amount": refund.amount,
                        "status": refund.get_status_display(),
                    },
                )

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="zhifu_order_refund",
            ),
            *super().get_urls(),
        ]

    def refund_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Issue a full or partial refund of one order."""
        if not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        order = get_object_or_404(Order, pk=object_id)
        form = RefundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                refund = refund_order(
                    order,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                )
            except ZhifuError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    gettext("refund %(refund)s of %(amount)s: %(status)s")
                    % {
                        "refund": refund.out_request_no,
                        "amount": refund.amount,
                        "status": refund.get_status_display(),
                    },
                )
                return HttpResponseRedirect(reverse("admin:zhifu_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Refund order %(order)s") % {"order": order.out_trade_no},
            "order": order,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/zhifu/order/refund.html", context)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "id",
        "received_at",
        "out_trade_no",
        "trade_status",
        "outcome",
        "reason",
        "remote_addr",
    )
    list_filter = ("outcome", "reason", "trade_status", "provider")
    search_fields = ("out_trade_no", "notify_id")
    readonly_fields = [f.name for f in Notification._meta.concrete_fields if f.name != "id"]
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Replay (process again; applying twice is a no-op)"))
    def replay(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        for notification in queryset:
            replay_notification(notification)
            self.message_user(
                request,
                gettext("notification %(id)s: %(outcome)s")
                % {"id": notification.pk, "outcome": notification.get_outcome_display()}
                + (f" ({notification.reason})" if notification.reason else ""),
                messages.SUCCESS
                if notification.outcome in ("applied", "duplicate", "ignored")
                else messages.WARNING,
            )


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "out_request_no",
        "order",
        "amount",
        "status",
        "automatic",
        "tries",
        "created_at",
    )
    list_filter = ("status", "automatic")
    list_select_related = ("order",)
    search_fields = ("out_request_no", "order__out_trade_no")
    readonly_fields = [f.name for f in Refund._meta.concrete_fields if f.name != "id"]
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issue refunds from the order ("Refund" link or action)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Retry (same out_request_no)"))
    def retry(self, request: HttpRequest, queryset: QuerySet[Refund]) -> None:
        from .services.refunds import execute_refund

        for refund in queryset:
            refund = execute_refund(refund)
            self.message_user(request, f"{refund.out_request_no}: {refund.get_status_display()}")


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ("created_at", "kind", "amount", "balance_after", "order", "memo")
    readonly_fields = fields


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "balance", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    readonly_fields = ("user", "balance", "updated_at")
    inlines = [LedgerEntryInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("created_at", "wallet", "kind", "amount", "balance_after", "order")
    list_filter = ("kind",)
    search_fields = ("wallet__user__username", "order__out_trade_no", "memo")
    list_select_related = ("wallet__user", "order")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # movements go through zhifu.services.wallet.post_entry

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
