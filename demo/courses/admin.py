from django.contrib import admin

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


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "balance", "held"]


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "amount", "order_no", "memo"]
    list_filter = ["kind"]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "enrolled_at", "expires_at", "revoked", "order_no"]
