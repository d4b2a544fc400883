"""API views: parse, call one service function, render. Errors go through
:func:`zhifu.api.errors.exception_handler`."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from django.db import transaction
from django.db.models import QuerySet, prefetch_related_objects
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, permissions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication

from ..exceptions import OrderError
from ..models import LedgerEntry, Order, Refund
from ..money import format_amount
from ..payer import payer_from_request
from ..services import orders as order_service
from ..services import payments as payment_service
from ..services import refunds as refund_service
from ..services import wallet as wallet_service
from . import serializers as s
from .errors import exception_handler
from .idempotency import create_once
from .pagination import Pages
from .schema import IDEMPOTENCY_KEY, errors

CENT = Decimal("0.01")

__all__ = [
    "LedgerView",
    "OrderCancelView",
    "OrderDetailView",
    "OrderListCreateView",
    "OrderPayView",
    "RefundListCreateView",
    "TopUpView",
    "WalletView",
]


class ZhifuAPI:
    """Zhifu's API answers with its own error shape, JWT or session auth, signed-in users only,
    whatever the site's REST_FRAMEWORK defaults are."""

    authentication_classes: Any = (JWTAuthentication, SessionAuthentication)
    permission_classes: Any = (permissions.IsAuthenticated,)
    # JSON only: the schema then promises one body format, the one every client uses.
    parser_classes: Any = (JSONParser,)
    pagination_class: Any = Pages

    def get_exception_handler(self) -> Any:
        return exception_handler

    # Never inside ATOMIC_REQUESTS: the service layer opens its own short transactions, so that
    # no row lock is held while Alipay is called over HTTP (precreate, close, refund).
    @method_decorator(transaction.non_atomic_requests)
    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


def _payment_body(start: payment_service.PaymentStart) -> dict[str, Any]:
    order = start.attempt.order
    return {
        "out_trade_no": order.out_trade_no,
        "status": order.status,
        "channel": start.channel,
        "payment_out_trade_no": start.attempt.out_trade_no,
        "pay_url": start.pay_url,
        "form_html": start.form_html,
        "qr_code": start.qr_code,
        "js_params": start.js_params,
        "paid": start.paid or order.is_paid,
    }


def _start(order: Order, data: dict[str, Any], request: Request) -> payment_service.PaymentStart:
    """Start paying ``order`` as the validated ``data`` asks, with what the request tells of the
    buyer (IP address, WeChat openid)."""
    return payment_service.start_payment(
        order,
        data["channel"],
        user=request.user,
        return_url=data.get("return_url"),
        payer=payer_from_request(request, openid=data.get("openid", "")),
    )


@cache
def _order_detail() -> s.OrderDetailSerializer:
    """One ``OrderDetailSerializer`` per process, its fields built once. Building them (a
    ``ModelSerializer`` with three nested ones, every field made from the model's metadata) was
    a quarter of a checkout's CPU; turning an order into data reads no state of the serializer
    but its fields (no field of it uses the request), so one instance answers every request."""
    serializer = s.OrderDetailSerializer()
    serializer.fields  # noqa: B018 - built now, once
    return serializer


def _order_body(order: Order, request: Request) -> dict[str, Any]:
    # Only what the instance does not hold yet is read (a new order carries its lines).
    cached = getattr(order, "_prefetched_objects_cache", {})
    missing = [name for name in ("lines", "adjustments", "attempts") if name not in cached]
    prefetch_related_objects([order], *missing)
    return dict(_order_detail().to_representation(order))


@extend_schema_view(
    get=extend_schema(responses={200: s.OrderSerializer(many=True), **errors(400, 401, 404)})
)
class OrderListCreateView(ZhifuAPI, generics.ListCreateAPIView[Order]):
    """My orders, newest first (lines and status included); or create one from SKUs.

    With an ``Idempotency-Key`` header, sending the same request again gives the same order and
    the same answer instead of a second order."""

    serializer_class = s.OrderSerializer

    def get_queryset(self) -> QuerySet[Order]:
        return (
            Order.objects.filter(user=self.request.user.pk or 0)
            .prefetch_related("lines", "adjustments")
            .order_by("-created_at", "-id")
        )

    @extend_schema(
        request=s.CreateOrderSerializer,
        responses={201: s.CreatedOrderSerializer, **errors(400, 401, 403, 409, 413, 503)},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.CreateOrderSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        items = [dict(item) for item in data.validated_data["items"]]
        channel = data.validated_data.get("channel")

        def respond(order: Order) -> Response:
            start = None
            if channel:
                start = _start(order, data.validated_data, request)
            body = _order_body(order, request)
            if start is not None:
                body["payment"] = _payment_body(start)
                body["status"] = start.attempt.order.status
            return Response(body, status=status.HTTP_201_CREATED)

        return create_once(
            request,
            scope="zhifu.api:orders",
            data=data.validated_data,
            # with a channel, the order's first attempt is made in the order's transaction
            create=lambda: (
                payment_service.create_order_to_pay(request.user, items, channel)
                if channel
                else order_service.create_order_from_skus(request.user, items)
            ),
            respond=respond,
        )


class OrderDetailView(ZhifuAPI, APIView):
    @extend_schema(responses={200: s.OrderDetailSerializer, **errors(401, 404)})
    def get(self, request: Request, out_trade_no: str) -> Response:
        order = order_service.get_order(request.user, out_trade_no)
        return Response(_order_body(order, request))


class OrderPayView(ZhifuAPI, APIView):
    """Pay a pending order: the pay URL / form (Alipay page and wap, WeChat Pay H5), the QR
    code text (Alipay QR, WeChat Pay Native), the parameters of WeChat's JavaScript bridge
    (``js_params``, WeChat Pay JSAPI: send the buyer's ``openid``), or the balance result.
    Calling it again reuses the open attempt of the same channel or replaces it."""

    @extend_schema(
        request=s.PaySerializer,
        responses={200: s.PaymentSerializer, **errors(400, 401, 403, 404, 409, 413, 503)},
    )
    def post(self, request: Request, out_trade_no: str) -> Response:
        order = order_service.get_order(request.user, out_trade_no)
        data = s.PaySerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return Response(_payment_body(_start(order, data.validated_data, request)))


class OrderCancelView(ZhifuAPI, APIView):
    @extend_schema(
        request=None, responses={200: s.OrderDetailSerializer, **errors(401, 403, 404, 409)}
    )
    def post(self, request: Request, out_trade_no: str) -> Response:
        order = order_service.get_order(request.user, out_trade_no)
        order = order_service.cancel_order(order, user=request.user)
        return Response(_order_body(order, request))


class WalletView(ZhifuAPI, APIView):
    @extend_schema(responses={200: s.WalletSerializer, **errors(401)})
    def get(self, request: Request) -> Response:
        return Response(
            {"balance": format_amount(wallet_service.balance(request.user)), "currency": "CNY"}
        )


@extend_schema_view(
    get=extend_schema(responses={200: s.LedgerEntrySerializer(many=True), **errors(400, 401, 404)})
)
class LedgerView(ZhifuAPI, generics.ListAPIView[LedgerEntry]):
    serializer_class = s.LedgerEntrySerializer

    def get_queryset(self) -> QuerySet[LedgerEntry]:
        return (
            LedgerEntry.objects.filter(wallet__user=self.request.user.pk or 0)
            .select_related("order")
            .order_by("-created_at", "-id")
        )


class TopUpView(ZhifuAPI, APIView):
    """Create a top-up order; pay it with ``POST orders/<out_trade_no>/pay/``. Honours
    ``Idempotency-Key`` as order creation does."""

    @extend_schema(
        request=s.TopUpSerializer,
        responses={201: s.OrderDetailSerializer, **errors(400, 401, 403, 409, 413)},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request: Request) -> Response:
        data = s.TopUpSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        amount = data.validated_data["amount"]
        return create_once(
            request,
            scope="zhifu.api:top-up",
            data={"amount": Decimal(amount).quantize(CENT)},  # "10", "10.00": one request
            create=lambda: wallet_service.create_top_up(request.user, amount),
            respond=lambda order: Response(
                _order_body(order, request), status=status.HTTP_201_CREATED
            ),
        )


class RefundPermission(permissions.DjangoModelPermissions):
    """Listing refunds needs ``zhifu.view_refund``; refunding needs ``zhifu.add_refund`` (being
    staff is not enough)."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


@extend_schema_view(
    get=extend_schema(
        responses={200: s.RefundSerializer(many=True), **errors(400, 401, 403, 404)},
        parameters=[
            OpenApiParameter(
                "out_trade_no", OpenApiTypes.STR, description="only this order's refunds"
            )
        ],
    )
)
class RefundListCreateView(ZhifuAPI, generics.ListCreateAPIView[Refund]):
    """List refunds (needs ``zhifu.view_refund``), or refund an order, all that is left or
    ``amount`` (needs ``zhifu.add_refund``)."""

    serializer_class = s.RefundSerializer
    permission_classes = [permissions.IsAuthenticated, RefundPermission]

    def get_queryset(self) -> QuerySet[Refund]:
        qs = Refund.objects.select_related("order").order_by("-created_at", "-id")
        out_trade_no = self.request.query_params.get("out_trade_no")
        if out_trade_no:
            qs = qs.filter(order__out_trade_no=out_trade_no)
        return qs

    @extend_schema(
        request=s.CreateRefundSerializer,
        responses={201: s.RefundSerializer, **errors(400, 401, 403, 404, 409, 413, 503)},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.CreateRefundSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = Order.objects.filter(out_trade_no=data.validated_data["out_trade_no"]).first()
        if order is None:
            raise OrderError("order_not_found", _("no such order"))
        refund = refund_service.refund_order(
            order,
            amount=data.validated_data.get("amount"),
            reason=data.validated_data.get("reason", ""),
            by=request.user,
        )
        return Response(s.RefundSerializer(refund).data, status=status.HTTP_201_CREATED)
