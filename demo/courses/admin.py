from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    Coupon,
    Course,
    CreditAccount,
    CreditEntry,
    Enrollment,
    UserCoupon,
    ValidityOption,
)


class ValidityInline(admin.TabularInline):
    model = ValidityOption
    extra = 1


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "teacher", "students", "is_active"]
    inlines = [ValidityInline]


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "amount_off",
        "percent_off",
        "min_spend",
        "valid_from",
        "valid_until",
    ]


@admin.register(UserCoupon)
class UserCouponAdmin(admin.ModelAdmin):
    list_display = ["user", "coupon", "status", "order_no", "used_at"]
    list_filter = ["status"]


class LedgerAdmin(admin.ModelAdmin):
    """Credits move only through courses.services (a ledger entry for every change, under a row
    lock): shown here, never edited, so no save buttons."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CreditAccount)
class CreditAccountAdmin(LedgerAdmin):
    list_display = ["user", "balance", "held"]


@admin.register(CreditEntry)
class CreditEntryAdmin(LedgerAdmin):
    list_display = ["created_at", "user", "kind", "amount", "order_no", "memo"]
    list_filter = ["kind"]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "enrolled_at", "expires_at", "revoked", "order_no"]
