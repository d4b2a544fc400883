"""The API of refund requests, for buyers: ask for a refund of an own paid order, list and read
one's requests. Same conventions as :mod:`zhifu.api.views` (JWT or session auth, JSON only,
errors in the one shape of :mod:`zhifu.api.errors`).

``POST`` answers 201 with a new request (already decided when the site's policy approves it at
once), or 200 with the same request when it is sent again (a double submit); with an
``Idempotency-Key`` header a retry gets the first answer.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api.idempotency import create_once
from ..api.paths import id_parameter, row_id
from ..api.schema import IDEMPOTENCY_KEY, errors
from ..api.serializers import NOT_BLANK
from ..api.views import ZhifuAPI
from ..models import Order
from ..services import orders as order_service
from . import services
from .models import RefundRequest

__all__ = ["RefundRequestDetailView", "RefundRequestListCreateView"]


class RefundRequestSerializer(serializers.ModelSerializer[RefundRequest]):
    out_trade_no = serializers.CharField(source="order.out_trade_no", read_only=True)
    state = serializers.ChoiceField(
        choices=RefundRequest.State.choices,
        read_only=True,
        help_text="pending (waiting for staff), rejected, refunding, refunded or refund_failed",
    )
    lines = serializers.ListField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="line ids; empty: the whole order",
    )
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    refund_to = serializers.SerializerMethodField(
        help_text="where the money goes back: the label of the channel the order was paid by"
    )
    refund_no = serializers.SerializerMethodField(help_text="the refund's number, once approved")
    refund_error = serializers.SerializerMethodField(
        help_text="why the gateway refused the refund (state refund_failed)"
    )

    class Meta:
        model = RefundRequest
        fields = (
            "id",
            "out_trade_no",
            "lines",
            "amount",
            "reason",
            "state",
            "automatic",
            "rejection_reason",
            "refund_to",
            "refund_no",
            "refund_error",
            "created_at",
            "decided_at",
        )
        read_only_fields = fields

    def get_refund_to(self, req: RefundRequest) -> str:
        return services.way_back(req)

    def get_refund_no(self, req: RefundRequest) -> str:
        return req.refund.out_request_no if req.refund is not None else ""

    def get_refund_error(self, req: RefundRequest) -> str:
        return services.refund_error(req)


class CreateRefundRequestSerializer(serializers.Serializer[Any]):
    out_trade_no = serializers.CharField(
        min_length=1, max_length=64, help_text="the paid order", **NOT_BLANK
    )
    lines = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=200,
        help_text="ids of the order's lines to refund; empty or absent: the whole order",
    )
    reason = serializers.CharField(
        min_length=1, max_length=services.MAX_REASON, help_text="why", **NOT_BLANK
    )


def _body(req: RefundRequest) -> dict[str, Any]:
    return dict(RefundRequestSerializer(req).data)


def _mine(request: Request) -> QuerySet[RefundRequest]:
    user_pk: Any = request.user.pk  # signed in (IsAuthenticated)
    return RefundRequest.objects.filter(user_id=user_pk).select_related("order", "refund__attempt")


@extend_schema_view(
    get=extend_schema(responses={200: RefundRequestSerializer(many=True), **errors(400, 401, 404)})
)
class RefundRequestListCreateView(ZhifuAPI, generics.ListAPIView[RefundRequest]):
    """The signed-in buyer's refund requests, newest first; or ask for a refund."""

    serializer_class = RefundRequestSerializer

    def get_queryset(self) -> QuerySet[RefundRequest]:
        return _mine(self.request).order_by("-created_at", "-id")

    @extend_schema(
        request=CreateRefundRequestSerializer,
        responses={
            201: RefundRequestSerializer,
            200: RefundRequestSerializer,
            **errors(400, 401, 404, 409, 413, 503),
        },
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = CreateRefundRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        order = order_service.get_order(request.user, values["out_trade_no"])
        lines = sorted(values.get("lines") or [])
        made: dict[str, Any] = {}

        def create() -> Order:
            req, created = services.request_refund(
                request.user, order, lines=lines, reason=values["reason"]
            )
            made.update(request=req, created=created)
            return order

        def respond(order: Order) -> Response:
            req = made.get("request")
            if req is None:  # a replay whose first answer was lost: the order's newest request
                req = _mine(request).filter(order=order).order_by("-pk").first()
            if req is None:  # pragma: no cover - the key's row names an order with a request
                raise NotFound()
            if made.get("created"):
                req = services.decide_by_policy(req)
            req = _mine(request).get(pk=req.pk)
            code = status.HTTP_201_CREATED if made.get("created") else status.HTTP_200_OK
            return Response(_body(req), status=code)

        return create_once(
            request,
            scope="zhifu.api:refund-requests",
            data={"out_trade_no": order.out_trade_no, "lines": lines, "reason": values["reason"]},
            create=create,
            respond=respond,
        )


class RefundRequestDetailView(ZhifuAPI, APIView):
    @extend_schema(
        parameters=[id_parameter("request")],
        responses={200: RefundRequestSerializer, **errors(401, 404)},
    )
    def get(self, request: Request, pk: str) -> Response:
        return Response(_body(get_object_or_404(_mine(request), pk=row_id(pk))))
