"""Admin for withdrawals (imported by zhifu.admin): a list, and approve / reject actions for
staff with the ``zhifu.approve_withdrawal`` permission. Rows change only through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..exceptions import ZhifuError
from .models import Withdrawal
from .services import approve_withdrawal, reject_withdrawal


@admin.register(Withdrawal)
class WithdrawalAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "out_biz_no",
        "user",
        "amount",
        "payee",
        "status",
        "error_code",
        "decided_by",
        "created_at",
    )
    list_filter = ("status", "provider")
    search_fields = ("out_biz_no", "payee", "gateway_no", "user__username")
    date_hierarchy = "created_at"
    list_select_related = ("user", "decided_by")
    actions = ["approve", "reject"]
    readonly_fields = [f.name for f in Withdrawal._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("zhifu.approve_withdrawal"))

    def _apply(self, request: HttpRequest, queryset: QuerySet[Withdrawal], approve: bool) -> None:
        for withdrawal in queryset:
            try:
                if approve:
                    done = approve_withdrawal(withdrawal, request.user)
                else:
                    done = reject_withdrawal(withdrawal, request.user)
            except ZhifuError as exc:
                self.message_user(
                    request, f"{withdrawal.out_biz_no}: {exc.message}", messages.ERROR
                )
            else:
                self.message_user(
                    request,
                    gettext("%(number)s: %(status)s")
                    % {"number": done.out_biz_no, "status": done.get_status_display()},
                )

    @admin.action(description=_("Approve and send"), permissions=["approve"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> None:
        self._apply(request, queryset, True)

    @admin.action(description=_("Reject (return the money to the wallet)"), permissions=["approve"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> None:
        self._apply(request, queryset, False)
