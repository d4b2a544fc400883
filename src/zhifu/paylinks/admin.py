"""Admin for payment links (imported by zhifu.admin).

Staff create a link here (amount, subject, optional buyer, expiry): the form calls
:func:`zhifu.paylinks.services.create_link`, which makes the link and its pending order. A link is
then shown, never edited: its URL to send, its QR code, and its status (the order's). A pending
link can be cancelled (its order is cancelled, open trades closed at their gateways).
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..exceptions import ZhifuError
from ..services.orders import cancel_order
from . import services
from .models import PaymentLink
from .views import qr_svg

_current_request: ContextVar[HttpRequest | None] = ContextVar(
    "zhifu_paylinks_admin_request", default=None
)

STATUS_LABELS = {
    "pending": _("waiting for payment"),
    "paid": _("paid"),
    "partially_refunded": _("partially refunded"),
    "refunded": _("refunded"),
    "cancelled": _("cancelled"),
    "expired": _("expired"),
}


class PaymentLinkForm(forms.ModelForm):  # type: ignore[type-arg]
    # Text, parsed by zhifu.money (not a float field): "12.30", never 12.299999.
    amount = forms.CharField(
        label=_("amount"), max_length=16, help_text=_("in yuan, such as 12.30")
    )

    class Meta:
        model = PaymentLink
        fields = ("amount", "subject", "buyer", "expires_at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "expires_at" in self.fields:  # the add form (a link is shown read-only after)
            self.fields["expires_at"].initial = timezone.localtime() + services.DEFAULT_EXPIRY
            self.fields["expires_at"].help_text = gettext("from 1 minute to 15 days from now")
        if "buyer" in self.fields:
            self.fields["buyer"].required = False
            self.fields["buyer"].help_text = gettext(
                "optional: the order will be this user's; anyone with the link can pay it"
            )

    def clean_amount(self) -> Any:
        try:
            return services.parse_link_amount(self.cleaned_data["amount"])
        except ZhifuError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None

    def clean_expires_at(self) -> Any:
        value = self.cleaned_data["expires_at"]
        try:
            # a little slack: the link is created a moment after the form is checked
            services.check_expiry(value - timedelta(seconds=5))
            services.check_expiry(value + timedelta(seconds=5))
        except ZhifuError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None
        return value


class LinkStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(STATUS_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        now = timezone.now()
        if value == "pending":
            return queryset.filter(order__status="pending", order__expires_at__gt=now)
        if value == "expired":
            return queryset.filter(order__status__in=("pending", "expired")).exclude(
                order__status="pending", order__expires_at__gt=now
            )
        if value in STATUS_LABELS:
            return queryset.filter(order__status=value)
        return queryset


@admin.register(PaymentLink)
class PaymentLinkAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = PaymentLinkForm
    list_display = ("code", "subject", "amount", "status_label", "buyer", "expires", "created_by")
    list_filter = (LinkStatusFilter,)
    search_fields = ("code", "subject", "order__out_trade_no", "buyer__username")
    list_select_related = ("order", "buyer", "created_by")
    ordering = ("-created_at", "-id")
    actions = ("cancel_links",)
    readonly_fields = (
        "link_url",
        "qr_code",
        "status_label",
        "amount",
        "subject",
        "buyer",
        "expires_at",
        "order_link",
        "created_by",
        "created_at",
    )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("amount", "subject", "buyer", "expires_at")
        return self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Shown, never edited: amount and expiry live on the order the link pays.
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its order (and its payments) stay; cancel it instead

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("zhifu.change_order"))

    @admin.display(description=_("status"))
    def status_label(self, link: PaymentLink) -> str:
        return str(STATUS_LABELS.get(link.status, link.status))

    @admin.display(description=_("expires at"), ordering="expires_at")
    def expires(self, link: PaymentLink) -> str:
        return timezone.localtime(link.expires_at).strftime("%Y-%m-%d %H:%M")

    def _url(self, link: PaymentLink) -> str:
        request = _current_request.get()
        path = link.get_absolute_url()
        return request.build_absolute_uri(path) if request is not None else path

    @admin.display(description=_("link"))
    def link_url(self, link: PaymentLink) -> SafeString:
        url = self._url(link)
        return format_html('<a href="{0}" id="zhifu-link-url">{0}</a>', url)

    @admin.display(description=_("QR code"))
    def qr_code(self, link: PaymentLink) -> SafeString:
        return mark_safe(qr_svg(self._url(link), scale=4))  # noqa: S308 - segno's own SVG

    @admin.display(description=_("order"))
    def order_link(self, link: PaymentLink) -> SafeString:
        url = reverse("admin:zhifu_order_change", args=[link.order_id])
        return format_html('<a href="{}">{}</a>', url, link.order.out_trade_no)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        # The read-only fields show the link's absolute URL: they need this request's host. A
        # context variable, not an attribute: one ModelAdmin serves every request and thread.
        token = _current_request.set(request)
        try:
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):  # a TemplateResponse renders later: render it here
                response.render()
            return response
        finally:
            _current_request.reset(token)

    def save_model(self, request: HttpRequest, obj: PaymentLink, form: Any, change: bool) -> None:
        if change:  # pragma: no cover - has_change_permission refuses
            return
        data = form.cleaned_data  # checked by the form with the service's own rules
        link = services.create_link(
            created_by=request.user,
            amount=data["amount"],
            subject=data["subject"],
            buyer=data.get("buyer"),
            expires_at=data["expires_at"],
        )
        # The admin goes on with ``obj`` (its log entry, its redirect): make it the new link.
        obj.__dict__.update({k: v for k, v in link.__dict__.items() if k != "_state"})
        obj._state.adding = False
        obj._state.db = link._state.db

    def response_add(
        self, request: HttpRequest, obj: PaymentLink, post_url_continue: Any = None
    ) -> Any:
        messages.success(
            request,
            gettext("Payment link created: %(url)s")
            % {"url": request.build_absolute_uri(obj.get_absolute_url())},
        )
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description=_("Cancel the selected payment links"), permissions=["cancel"])
    def cancel_links(self, request: HttpRequest, queryset: QuerySet[PaymentLink]) -> None:
        done = 0
        for link in queryset.select_related("order"):
            try:
                cancel_order(link.order, user=request.user)
            except ZhifuError as exc:
                self.message_user(request, f"{link.code}: {exc.message}", messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(
                request, gettext("%(count)s payment links cancelled") % {"count": done}
            )
