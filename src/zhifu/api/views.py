"""API views: parse, call one service function, render. Errors go through
:func:`zhifu.api.errors.exception_handler`."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication

from ..models import LedgerEntry, Order, Refund
from ..services import orders as order_service
from ..services import payments as payment_service
from ..services import refunds as refund_service
from ..services import wallet as wallet_service
from . import serializers as s
from .errors import exception_handler

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
        "paid": start.paid or order.is_paid,
    }


def _order_body(order: Order, request: Request) -> dict[str, Any]:
    order = Order.objects.prefetch_related("lines", "adjustments", "attempts").get(pk=order.pk)
    return dict(s.OrderDetailSerializer(order, context={"request": request}).data)


class OrderListCreateView(ZhifuAPI, generics.ListCreateAPIView[Order]):
    """My orders, newest first (lines and status included); or create one from SKUs."""

    serializer_class = s.OrderSerializer

    def get_queryset(self) -> QuerySet[Order]:
        return (
            Order.objects.filter(user=self.request.user.pk or 0)
            .prefetch_related("lines", "adjustments")
            .order_by("-created_at", "-id")
        )

    @extend_schema(request=s.CreateOrderSerializer, responses={201: s.OrderDetailSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.CreateOrderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_service.create_order_from_skus(
            request.user, [dict(item) for item in data.validated_data["items"]]
        )
        body = _order_body(order, request)
        channel = data.validated_data.get("channel")
        if channel:
            start = payment_service.start_payment(order, channel, user=request.user)
            body["payment"] = _payment_body(start)
            body["status"] = start.attempt.order.status
        return Response(body, status=status.HTTP_201_CREATED)


class OrderDetailView(ZhifuAPI, APIView):
    @extend_schema(responses=s.OrderDetailSerializer)
    def get(self, request: Request, out_trade_no: str) -> Response:
        order = order_service.get_order(request.user, out_trade_no)
        return Response(_order_body(order, request))


class OrderPayView(ZhifuAPI, APIView):
    """Pay a pending order: the pay URL / form (page, wap), the QR code text, or the balance
    result. Calling it again reuses the open attempt of the same channel or replaces it."""

    @extend_schema(request=s.PaySerializer, responses=s.PaymentSerializer)
    def post(self, request: Request, out_trade_no: str) -> Response:
        order = order_service.get_order(request.user, out_trade_no)
        data = s.PaySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        start = payment_service.start_payment(
            order, data.validated_data["channel"], user=request.user
        )
        return Response(_payment_body(start))


class OrderCancelView(ZhifuAPI, APIView):
    @extend_schema(request=None, responses=s.OrderDetailSerializer)
    def post(self, request: Request, out_trade_no: str) -> Response:
        order = order_service.get_order(request.user, out_trade_no)
        order = order_service.cancel_order(order, user=request.user)
        return Response(_order_body(order, request))


class WalletView(ZhifuAPI, APIView):
    @extend_schema(responses=s.WalletSerializer)
    def get(self, request: Request) -> Response:
        return Response(
            {"balance": f"{wallet_service.balance(request.user):.2f}", "currency": "CNY"}
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
    """Create a top-up order; pay it with ``POST orders/<out_trade_no>/pay/``."""

    @extend_schema(request=s.TopUpSerializer, responses={201: s.OrderDetailSerializer})
    def post(self, request: Request) -> Response:
        data = s.TopUpSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = wallet_service.create_top_up(request.user, data.validated_data["amount"])
        return Response(_order_body(order, request), status=status.HTTP_201_CREATED)


class RefundListCreateView(ZhifuAPI, generics.ListCreateAPIView[Refund]):
    """Staff only: list refunds, or refund an order (all that is left, or ``amount``)."""

    serializer_class = s.RefundSerializer
    permission_classes = [permissions.IsAdminUser]

    def get_queryset(self) -> QuerySet[Refund]:
        qs = Refund.objects.select_related("order").order_by("-created_at", "-id")
        out_trade_no = self.request.query_params.get("out_trade_no")
        if out_trade_no:
            qs = qs.filter(order__out_trade_no=out_trade_no)
        return qs

    @extend_schema(request=s.CreateRefundSerializer, responses={201: s.RefundSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.CreateRefundSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = Order.objects.filter(out_trade_no=data.validated_data["out_trade_no"]).first()
        if order is None:
            from ..exceptions import OrderError

            raise OrderError("order_not_found", _("no such order"))
        refund = refund_service.refund_order(
            order,
            amount=data.validated_data.get("amount"),
            reason=data.validated_data.get("reason", ""),
            by=request.user,
        )
        return Response(s.RefundSerializer(refund).data, status=status.HTTP_201_CREATED)
