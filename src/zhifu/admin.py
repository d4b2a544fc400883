"""Admin: orders (lines, adjustments, attempts, refunds inline), notifications (filter by
outcome, replay), refunds (issue one from an order), wallets and ledger.

Statuses are read-only everywhere: actions call the service layer, which alone changes them.
So the change forms are view-only (no save buttons), and every action names the permission it
needs (``@admin.action(permissions=[...])`` with a ``has_<name>_permission`` method): seeing an
order (``zhifu.view_order``) is not refunding it (``zhifu.add_refund``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.timezone import localtime
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


def _can(request: HttpRequest, codename: str) -> bool:
    return bool(request.user.has_perm(f"zhifu.{codename}"))


class ViewOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows made and changed by the service layer only: listed and shown, never edited here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _kind_label(kind: str) -> str:
    # Order.kind is open (a site may add kinds): a known code shows its label, another as is.
    return str(dict(Order.Kind.choices).get(kind, kind))


def _channel_label(channel: str) -> str:
    from .providers import registry

    try:
        return str(registry.channels().get(channel, channel))
    except ZhifuError:  # providers not configured: the code is still informative
        return channel


class OrderKindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        kinds = Order.objects.order_by("kind").values_list("kind", flat=True).distinct()
        return [(kind, _kind_label(kind)) for kind in kinds]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        return queryset.filter(kind=self.value()) if self.value() else queryset


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
        "channel_label",
        "status",
        "amount",
        "trade_no",
        "paid_at",
        "closed_at_gateway",
        "next_check_at",
    )
    readonly_fields = fields

    @admin.display(description=_("payment method"))
    def channel_label(self, attempt: PaymentAttempt) -> str:
        return _channel_label(attempt.channel)


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
class OrderAdmin(ViewOnlyAdmin):
    # Fits a 1280 px screen beside the admin's navigation and filters (tests/core/
    # test_admin_layout.py): the subject goes under the number, the kind under the status,
    # refunds under the total; everything is in full on the order's page.
    list_display = ("order_number", "buyer", "amounts", "status_and_kind", "created")
    list_filter = ("status", OrderKindFilter, "needs_attention")
    search_fields = ("out_trade_no", "subject", "attempts__out_trade_no", "attempts__trade_no")
    date_hierarchy = "created_at"
    readonly_fields = [
        "kind_label" if f.name == "kind" else f.name
        for f in Order._meta.concrete_fields
        if f.name != "id"
    ]
    inlines = [OrderLineInline, OrderAdjustmentInline, PaymentAttemptInline, RefundInline]
    actions = ["reconcile_now", "refund_in_full"]
    list_select_related = ("user",)

    @admin.display(description=_("kind"), ordering="kind")
    def kind_label(self, order: Order) -> str:
        return _kind_label(order.kind)

    @admin.display(description=_("order number"), ordering="out_trade_no")
    def order_number(self, order: Order) -> str:
        return format_html(
            '<span class="zhifu-no">{}</span><br><small title="{}">{}</small>',
            order.out_trade_no,
            order.subject,
            Truncator(order.subject).chars(22),
        )

    @admin.display(description=_("buyer"), ordering="user")
    def buyer(self, order: Order) -> str:
        return Truncator(str(order.user)).chars(16)

    @admin.display(description=_("total amount"), ordering="total_amount")
    def amounts(self, order: Order) -> str:
        if not order.refunded_amount:
            return str(order.total_amount)
        refunded = gettext("refunded %(amount)s") % {"amount": order.refunded_amount}
        return format_html("{}<br><small>{}</small>", order.total_amount, refunded)

    @admin.display(description=_("status"), ordering="status")
    def status_and_kind(self, order: Order) -> str:
        flag = (
            format_html(' <span title="{}">⚠</span>', order.attention_reason)
            if (order.needs_attention)
            else ""
        )
        return format_html(
            "{}{}<br><small>{}</small>", order.get_status_display(), flag, _kind_label(order.kind)
        )

    @admin.display(description=_("created at"), ordering="created_at")
    def created(self, order: Order) -> str:
        return localtime(order.created_at).strftime("%m-%d %H:%M")

    class Media:
        css = {"all": ["zhifu/admin.css"]}

    def has_reconcile_permission(self, request: HttpRequest) -> bool:
        # Asking the gateway may mark an order paid: a change of the order.
        return _can(request, "change_order")

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return _can(request, "add_refund")

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {**(extra_context or {}), "can_refund": self.has_refund_permission(request)}
        return super().change_view(request, object_id, form_url, context)

    @admin.action(
        description=_("Reconcile now (ask the gateway about these orders)"),
        permissions=["reconcile"],
    )
    def reconcile_now(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset:
            try:
                order = reconcile_order(order)
            except ZhifuError as exc:
                self.message_user(request, f"{order.out_trade_no}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{order.out_trade_no}: {order.get_status_display()}")

    @admin.action(description=_("Refund in full"), permissions=["refund"])
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
        if not self.has_refund_permission(request):
            raise PermissionDenied
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
class NotificationAdmin(ViewOnlyAdmin):
    list_display = (
        "id",
        "received_at",
        "out_trade_no",
        "state",
        "outcome",
        "reason",
        "remote_addr",
    )
    list_filter = ("outcome", "reason", "provider")
    search_fields = ("out_trade_no", "event_id")
    readonly_fields = [f.name for f in Notification._meta.concrete_fields if f.name != "id"]
    actions = ["replay"]

    def has_replay_permission(self, request: HttpRequest) -> bool:
        # Replaying applies a payment to its order: both may change.
        return _can(request, "change_notification") and _can(request, "change_order")

    @admin.action(
        description=_("Replay (process again; applying twice is a no-op)"),
        permissions=["replay"],
    )
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
class RefundAdmin(ViewOnlyAdmin):
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
    actions = ["retry"]  # refunds are issued from the order ("Refund" link or action)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return _can(request, "change_refund")

    @admin.action(description=_("Retry (same out_request_no)"), permissions=["retry"])
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
class WalletAdmin(ViewOnlyAdmin):
    list_display = ("user", "balance", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    readonly_fields = ("user", "balance", "updated_at")
    inlines = [LedgerEntryInline]  # movements go through zhifu.services.wallet.post_entry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ViewOnlyAdmin):
    list_display = ("created_at", "wallet", "kind", "amount", "balance_after", "order")
    list_filter = ("kind",)
    search_fields = ("wallet__user__username", "order__out_trade_no", "memo")
    list_select_related = ("wallet__user", "order")


from .bills import admin as _bill_admin  # noqa: E402, F401
from .paylinks import admin as _link_admin  # noqa: E402, F401
from .refundrequests import admin as _refund_request_admin  # noqa: E402, F401
from .withdrawals import admin as _withdrawal_admin  # noqa: E402, F401
