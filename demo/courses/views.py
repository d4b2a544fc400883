"""Course pages: list, detail, cart (in the cache), checkout with coupon and credits, my courses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from common.errors import DemoError
from common.types import AuthenticatedHttpRequest
from common.views import error_message
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from zhifu.exceptions import ZhifuError

from . import services
from .cart import Cart
from .models import Course, Enrollment, UserCoupon, ValidityOption


def course_list(request: HttpRequest) -> HttpResponse:
    courses = Course.objects.filter(is_active=True).prefetch_related("options")
    return render(request, "courses/course_list.html", {"courses": courses})


def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    course = get_object_or_404(Course.objects.prefetch_related("options"), pk=pk, is_active=True)
    enrollment = None
    if request.user.is_authenticated:
        enrollment = Enrollment.objects.filter(user=request.user, course=course).first()
    return render(
        request, "courses/course_detail.html", {"course": course, "enrollment": enrollment}
    )


def _option_from_post(request: HttpRequest) -> ValidityOption | None:
    try:
        option_id = int(request.POST.get("option", ""))
    except ValueError:
        return None
    return (
        ValidityOption.objects.select_related("course")
        .filter(pk=option_id, course__is_active=True)
        .first()
    )


@login_required
@require_POST
def cart_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    option = _option_from_post(request)
    if option is None:
        messages.error(request, _("Choose a validity option."))
        return redirect(request.POST.get("next") or "courses")
    if request.POST.get("buy_now"):
        return redirect(f"{_checkout_url()}?option={option.pk}")
    Cart(request.user).add(option)
    messages.success(request, _("“%(title)s” is in your cart.") % {"title": option.course.title})
    return redirect("cart")


def _checkout_url() -> str:
    return reverse("checkout")


@login_required
def cart(request: AuthenticatedHttpRequest) -> HttpResponse:
    the_cart = Cart(request.user)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action.startswith("remove:"):
            course_id = action.split(":", 1)[1]
            if course_id.isdigit():
                the_cart.remove(int(course_id))
                messages.info(request, _("Removed from your cart."))
            else:
                messages.error(request, _("That is not in your cart."))
            return redirect("cart")
        lines = the_cart.lines()
        selected = {int(v) for v in request.POST.getlist("selected") if v.isdigit()}
        for line in lines:
            value = request.POST.get(f"option-{line.course.pk}", "")
            if value.isdigit() and int(value) != line.option.pk:
                the_cart.set_option(line.course.pk, int(value))
        the_cart.set_selected(selected)
        if action == "checkout":
            if not selected:
                messages.error(request, _("Select at least one course."))
                return redirect("cart")
            return redirect("checkout")
        messages.info(request, _("Cart updated."))
        return redirect("cart")
    lines = the_cart.lines()
    subtotal = sum((line.option.price for line in lines if line.selected), start=Decimal("0.00"))
    return render(request, "courses/cart.html", {"lines": lines, "subtotal": subtotal})


def _checkout_options(request: HttpRequest) -> tuple[list[ValidityOption], bool]:
    """Buy-now (``?option=``) or the cart's selected lines."""
    data = request.POST if request.method == "POST" else request.GET
    single = data.get("option", "")
    if single.isdigit():
        option = (
            ValidityOption.objects.select_related("course")
            .filter(pk=int(single), course__is_active=True)
            .first()
        )
        return ([option] if option else []), True
    return [line.option for line in Cart(request.user).selected_lines()], False


def _coupon_choices(user: Any, subtotal: Any) -> list[dict[str, Any]]:
    now = timezone.now()
    choices = []
    for uc in UserCoupon.objects.filter(user=user).select_related("coupon"):
        if uc.status == UserCoupon.Status.USED:
            continue
        try:
            services.check_coupon(uc, user, subtotal)
            problem = ""
        except DemoError as exc:
            problem = exc.message
        choices.append({"uc": uc, "problem": problem, "expired": now > uc.coupon.valid_until})
    return choices


@login_required
def checkout(request: AuthenticatedHttpRequest) -> HttpResponse:
    options, single = _checkout_options(request)
    if not options:
        messages.error(request, _("Select at least one course."))
        return redirect("cart")
    data = request.POST if request.method == "POST" else request.GET
    coupon_id = int(data["coupon"]) if data.get("coupon", "").isdigit() else None
    credits_text = data.get("credits", "0").strip() or "0"
    try:
        credits = int(credits_text)
    except ValueError:
        credits = -1
    if request.method == "POST" and data.get("action") == "place":
        try:
            order = services.checkout(
                request.user,
                [o.pk for o in options],
                user_coupon_id=coupon_id,
                credits=credits,
            )
        except DemoError as exc:
            messages.error(request, exc.message)
        except ZhifuError as exc:
            messages.error(request, error_message(exc))
        else:
            return redirect("pay", out_trade_no=order.out_trade_no)
    user_coupon = None
    if coupon_id:
        user_coupon = (
            UserCoupon.objects.select_related("coupon")
            .filter(pk=coupon_id, user=request.user)
            .first()
        )
    breakdown = services.price(
        request.user, options, user_coupon=user_coupon, credits=max(credits, 0) if credits else 0
    )
    if credits < 0:
        breakdown.errors.append(_("Credits must be a whole number."))
    account = services.credit_account(request.user)
    return render(
        request,
        "courses/checkout.html",
        {
            "bd": breakdown,
            "single_option": options[0] if single else None,
            "coupons": _coupon_choices(request.user, breakdown.subtotal),
            "coupon_id": coupon_id,
            "credits": credits if credits >= 0 else credits_text,
            "account": account,
            "rate": settings.DEMO_CREDITS_PER_YUAN,
        },
    )


@login_required
def my_courses(request: AuthenticatedHttpRequest) -> HttpResponse:
    enrollments = Enrollment.objects.filter(user=request.user).select_related("course")
    return render(request, "courses/my_courses.html", {"enrollments": enrollments})


@login_required
def my_coupons(request: AuthenticatedHttpRequest) -> HttpResponse:
    coupons = UserCoupon.objects.filter(user=request.user).select_related("coupon")
    account = services.credit_account(request.user)
    entries = request.user.credit_entries.all()[:50]
    return render(
        request,
        "courses/my_coupons.html",
        {"coupons": coupons, "account": account, "entries": entries, "now": timezone.now()},
    )
