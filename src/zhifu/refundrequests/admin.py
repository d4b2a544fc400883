"""Admin for refund requests (imported by zhifu.admin).

Staff see buyers' requests (``zhifu.view_refundrequest``) and decide pending ones with one click
(``zhifu.decide_refundrequest`` together with ``zhifu.add_refund``, since approving issues a
refund): approve (a refund through :func:`zhifu.services.refunds.refund_order`) or reject with a
reason the buyer sees. Nothing else about a request is editable.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..exceptions import ZhifuError
from . import services
from .models import RefundRequest


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("reason for rejection"),
        max_length=services.MAX_REASON,
        help_text=_("shown to the buyer"),
    )


@admin.register(RefundRequest)
class RefundRequestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "created_at", "order", "user", "amount", "state_label", "refund")
    list_filter = ("status", "automatic")
    search_fields = ("order__out_trade_no", "user__username", "reason")
    list_select_related = ("order", "user", "refund")
    readonly_fields = (
        "order",
        "user",
        "lines",
        "amount",
        "reason",
        "state_label",
        "refund_error",
        "automatic",
        "decided_by",
        "decided_at",
        "rejection_reason",
        "refund",
        "created_at",
    )
    fields = readonly_fields
    actions = ["approve", "reject"]

    @admin.display(description=_("state"))
    def state_label(self, req: RefundRequest) -> str:
        return req.get_state_display()

    @admin.display(description=_("refund error"))
    def refund_error(self, req: RefundRequest) -> str:
        return services.refund_error(req)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # buyers ask; staff decide

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.has_perm("zhifu.decide_refundrequest") and user.has_perm("zhifu.add_refund")
        )

    def _approve_one(self, request: HttpRequest, req: RefundRequest) -> None:
        try:
            req = services.approve(req, by=request.user)
        except ZhifuError as exc:
            self.message_user(request, f"{req.order.out_trade_no}: {exc.message}", messages.ERROR)
            return
        level = messages.ERROR if req.state == RefundRequest.State.REFUND_FAILED else messages.INFO
        self.message_user(
            request,
            gettext("%(order)s: refund of %(amount)s: %(state)s")
            % {
                "order": req.order.out_trade_no,
                "amount": req.amount,
                "state": req.get_state_display(),
            },
            level,
        )

    @admin.action(description=_("Approve and refund"), permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet[RefundRequest]) -> None:
        for req in queryset.select_related("order"):
            self._approve_one(request, req)

    @admin.action(description=_("Reject (with a reason)…"), permissions=["decide"])
    def reject(
        self, request: HttpRequest, queryset: QuerySet[RefundRequest]
    ) -> HttpResponse | None:
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            for req in queryset.select_related("order"):
                self._reject_one(request, req, form.cleaned_data["reason"])
            return None
        return self._reject_page(request, list(queryset.select_related("order")), form)

    def _reject_one(self, request: HttpRequest, req: RefundRequest, reason: str) -> None:
        try:
            services.reject(req, by=request.user, reason=reason)
        except ZhifuError as exc:
            self.message_user(request, f"{req.order.out_trade_no}: {exc.message}", messages.ERROR)
        else:
            self.message_user(
                request, gettext("%(order)s: rejected") % {"order": req.order.out_trade_no}
            )

    def _reject_page(
        self, request: HttpRequest, requests: list[RefundRequest], form: RejectForm, url: str = ""
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Reject refund requests"),
            "requests": requests,
            "form": form,
            "action_url": url,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/zhifu/refundrequest/reject.html", context)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="zhifu_refundrequest_approve",
            ),
            path(
                "<path:object_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="zhifu_refundrequest_reject",
            ),
        ]
        return own + super().get_urls()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {**(extra_context or {}), "can_decide": self.has_decide_permission(request)}
        return super().change_view(request, object_id, form_url, context)

    def _back(self, req: RefundRequest) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:zhifu_refundrequest_change", args=[req.pk]))

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """One click: approve one request (POST only)."""
        if not self.has_decide_permission(request):
            raise PermissionDenied
        req = get_object_or_404(RefundRequest.objects.select_related("order"), pk=object_id)
        if request.method != "POST":
            return self._back(req)
        self._approve_one(request, req)
        return self._back(req)

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_decide_permission(request):
            raise PermissionDenied
        req = get_object_or_404(RefundRequest.objects.select_related("order"), pk=object_id)
        form = RejectForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            self._reject_one(request, req, form.cleaned_data["reason"])
            return self._back(req)
        return self._reject_page(request, [req], form, url=request.path)
