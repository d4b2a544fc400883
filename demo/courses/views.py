"""Course pages: list, detail, cart (in the cache), checkout with coupon and credits, my courses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from common.errors import DemoError, error_message
from common.inputs import optional_id, parse_credits, parse_id, safe_next
from common.once import submit_once
from common.types import AuthenticatedHttpRequest
from common.views import bad_request
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
        if enrollment is not None and enrollment.is_active and enrollment.started_at is None:
            # opening the course with access is studying it (see courses.refund_policy)
            Enrollment.objects.filter(pk=enrollment.pk, started_at__isnull=True).update(
                started_at=timezone.now()
            )
    return render(
        request, "courses/course_detail.html", {"course": course, "enrollment": enrollment}
    )


def _option(option_id: int | None) -> ValidityOption | None:
    if option_id is None:
        return None
    return (
        ValidityOption.objects.select_related("course")
        .filter(pk=option_id, course__is_active=True)
        .first()
    )


@login_required
@require_POST
def cart_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    back = safe_next(request, request.POST.get("next"), "courses")
    try:
        option = _option(optional_id(request.POST.get("option"), what=_("The validity option")))
    except DemoError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    if option is None:
        messages.error(request, _("Choose a validity option."))
        return redirect(back)
    if request.POST.get("buy_now"):
        return redirect(f"{reverse('checkout')}?option={option.pk}")
    Cart(request.user).add(option)
    messages.success(request, _("“%(title)s” is in your cart.") % {"title": option.course.title})
    return redirect("cart")


@login_required
def cart(request: AuthenticatedHttpRequest) -> HttpResponse:
    the_cart = Cart(request.user)
    if request.method == "POST":
        try:
            return _cart_post(request, the_cart)
        except DemoError as exc:
            messages.error(request, exc.message)
            return redirect("cart")
    lines = the_cart.lines()
    subtotal = sum((line.option.price for line in lines if line.selected), start=Decimal("0.00"))
    return render(request, "courses/cart.html", {"lines": lines, "subtotal": subtotal})


def _cart_post(request: AuthenticatedHttpRequest, the_cart: Cart) -> HttpResponse:
    """Remove a line, or save the choices (selection, validity) and maybe go to checkout."""
    action = request.POST.get("action", "")
    if action.startswith("remove:"):
        the_cart.remove(parse_id(action.split(":", 1)[1], what=_("The course")))
        messages.info(request, _("Removed from your cart."))
        return redirect("cart")
    selected = {parse_id(v, what=_("The course")) for v in request.POST.getlist("selected")}
    for line in the_cart.lines():
        value = optional_id(
            request.POST.get(f"option-{line.course.pk}"), what=_("The validity option")
        )
        if value is not None and value != line.option.pk:
            the_cart.set_option(line.course.pk, value)
    the_cart.set_selected(selected)
    if action == "checkout":
        if not selected:
            messages.error(request, _("Select at least one course."))
            return redirect("cart")
        return redirect("checkout")
    messages.info(request, _("Cart updated."))
    return redirect("cart")


def _checkout_options(data: Any, user: Any) -> tuple[list[ValidityOption], bool]:
    """Buy-now (``?option=``) or the cart's selected lines."""
    option_id = optional_id(data.get("option"), what=_("The validity option"))
    if option_id is not None:
        option = _option(option_id)
        return ([option] if option else []), True
    return [line.option for line in Cart(user).selected_lines()], False


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
    """The breakdown (GET, or POST "recalculate") and "place order" (POST, one-time token).
    Each problem is said once, next to the breakdown."""
    data = request.POST if request.method == "POST" else request.GET
    problems: list[str] = []
    try:
        options, single = _checkout_options(data, request.user)
    except DemoError as exc:
        return bad_request(request, exc.message)
    if not options:
        messages.error(request, _("Select at least one course."))
        return redirect("cart")
    try:
        coupon_id = optional_id(data.get("coupon"), what=_("The coupon"))
    except DemoError as exc:
        coupon_id = None
        problems.append(exc.message)
    credits_text = data.get("credits", "")
    try:
        credits = parse_credits(credits_text)
    except DemoError as exc:
        credits = 0
        problems.append(exc.message)
    user_coupon = None
    if coupon_id is not None:
        user_coupon = (
            UserCoupon.objects.select_related("coupon")
            .filter(pk=coupon_id, user=request.user)
            .first()
        )
        if user_coupon is None:
            problems.append(_("This coupon is not yours."))
    breakdown = services.price(request.user, options, user_coupon=user_coupon, credits=credits)
    breakdown.errors[:0] = problems
    if request.method == "POST" and data.get("action") == "place" and not breakdown.errors:
        try:
            order, _created = submit_once(
                request,
                "checkout",
                {"options": [o.pk for o in options], "coupon": coupon_id, "credits": credits},
                lambda: services.checkout(
                    request.user,
                    [o.pk for o in options],
                    user_coupon_id=coupon_id,
                    credits=credits,
                ),
            )
        except (DemoError, ZhifuError) as exc:
            breakdown.errors.append(error_message(exc))
        else:
            return redirect("pay", out_trade_no=order.out_trade_no)
    return render(
        request,
        "courses/checkout.html",
        {
            "bd": breakdown,
            "single_option": options[0] if single else None,
            "coupons": _coupon_choices(request.user, breakdown.subtotal),
            "coupon_id": coupon_id,
            "credits": credits_text.strip() if isinstance(credits_text, str) else "",
            "account": services.credit_account(request.user),
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
