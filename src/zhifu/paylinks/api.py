"""The API of payment links, for staff: create (honouring ``Idempotency-Key``), list, detail.

Same conventions as :mod:`zhifu.api.views`: JWT or session auth, JSON only, errors in the one
shape of :mod:`zhifu.api.errors`. Only staff members holding the model permission may use it
(``zhifu.view_paymentlink`` to read, ``zhifu.add_paymentlink`` to create; a superuser has both).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api.amounts import AmountField
from ..api.idempotency import create_once
from ..api.schema import IDEMPOTENCY_KEY, errors
from ..api.serializers import NOT_BLANK
from ..api.views import ZhifuAPI
from ..models import Order
from . import services
from .models import PaymentLink
from .views import qr_svg

__all__ = ["LinkDetailView", "LinkListCreateView"]

STATUSES = ("pending", "paid", "partially_refunded", "refunded", "cancelled", "expired")


class LinkPermission(permissions.DjangoModelPermissions):
    """Staff only, and the model permission: reading needs ``view_paymentlink``."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if user and user.is_authenticated and not user.is_staff:
            return False
        return super().has_permission(request, view)


class PaymentLinkSerializer(serializers.ModelSerializer[PaymentLink]):
    url = serializers.SerializerMethodField(help_text="the link to send to the buyer")
    status = serializers.ChoiceField(
        choices=STATUSES, read_only=True, help_text="the status of the order the link pays"
    )
    out_trade_no = serializers.CharField(source="order.out_trade_no", read_only=True)
    paid_at = serializers.DateTimeField(source="order.paid_at", read_only=True, allow_null=True)
    buyer = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.get_username", read_only=True)
    qr_svg = serializers.SerializerMethodField(help_text="the link as a QR code (inline SVG)")

    class Meta:
        model = PaymentLink
        fields = (
            "code",
            "url",
            "qr_svg",
            "amount",
            "subject",
            "status",
            "buyer",
            "out_trade_no",
            "expires_at",
            "paid_at",
            "created_by",
            "created_at",
        )
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, link: PaymentLink) -> str:
        request = self.context.get("request")
        path = link.get_absolute_url()
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field({"type": "string", "nullable": True})
    def get_buyer(self, link: PaymentLink) -> str | None:
        return link.buyer.get_username() if link.buyer is not None else None

    def get_qr_svg(self, link: PaymentLink) -> str:
        return qr_svg(self.get_url(link), scale=4)


class CreatePaymentLinkSerializer(serializers.Serializer[Any]):
    amount = AmountField()
    subject = serializers.CharField(min_length=1, max_length=256, **NOT_BLANK)
    buyer = serializers.SlugRelatedField(
        slug_field=get_user_model().USERNAME_FIELD,
        queryset=get_user_model().objects.all(),
        required=False,
        allow_null=True,
        help_text="the username of the buyer asked to pay (the link's order is theirs); "
        "empty: anyone with the link",
    )
    expires_in = serializers.IntegerField(
        required=False,
        min_value=int(services.MIN_EXPIRY.total_seconds()),
        max_value=int(services.MAX_EXPIRY.total_seconds()),
        help_text="seconds until the link expires (default: one day)",
    )


def _body(link: PaymentLink, request: Request) -> dict[str, Any]:
    return dict(PaymentLinkSerializer(link, context={"request": request}).data)


@extend_schema_view(
    get=extend_schema(
        responses={200: PaymentLinkSerializer(many=True), **errors(400, 401, 403, 404)},
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=list(STATUSES), description="only links in it"
            )
        ],
    )
)
class LinkListCreateView(ZhifuAPI, generics.ListCreateAPIView[PaymentLink]):
    """Payment links, newest first; or create one (its pending order comes with it).

    With an ``Idempotency-Key`` header, sending the same request again gives the same link."""

    serializer_class = PaymentLinkSerializer
    permission_classes = (permissions.IsAuthenticated, LinkPermission)

    def get_queryset(self) -> QuerySet[PaymentLink]:
        qs = PaymentLink.objects.select_related("order", "buyer", "created_by").order_by(
            "-created_at", "-id"
        )
        wanted = self.request.query_params.get("status")
        if wanted == "expired":  # also pending ones past their expiry, as the link shows
            qs = qs.filter(
                Q(order__status=Order.Status.EXPIRED)
                | Q(order__status=Order.Status.PENDING, order__expires_at__lte=timezone.now())
            )
        elif wanted == "pending":
            qs = qs.filter(order__status=wanted, order__expires_at__gt=timezone.now())
        elif wanted in STATUSES:
            qs = qs.filter(order__status=wanted)
        elif wanted:
            raise ValidationError({"status": [f"must be one of {', '.join(STATUSES)}"]})
        return qs

    @extend_schema(
        request=CreatePaymentLinkSerializer,
        responses={201: PaymentLinkSerializer, **errors(400, 401, 403, 409, 413)},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = CreatePaymentLinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        buyer = values.get("buyer")
        fingerprint = {
            "amount": str(services.parse_link_amount(values["amount"])),  # "5" == "5.00"
            "subject": values["subject"],
            "buyer": buyer.pk if buyer is not None else None,
            "expires_in": values.get("expires_in"),
        }

        def create() -> Order:
            link = services.create_link(
                created_by=request.user,
                amount=values["amount"],
                subject=values["subject"],
                buyer=buyer,
                expires_in=values.get("expires_in"),
            )
            return link.order

        return create_once(
            request,
            scope="zhifu.api:links",
            data=fingerprint,
            create=create,
            respond=lambda order: Response(
                _body(order.payment_link, request), status=status.HTTP_201_CREATED
            ),
        )


class LinkDetailView(ZhifuAPI, APIView):
    permission_classes = (permissions.IsAuthenticated, LinkPermission)
    queryset = PaymentLink.objects.none()  # for DjangoModelPermissions: the model

    @extend_schema(responses={200: PaymentLinkSerializer, **errors(401, 403, 404)})
    def get(self, request: Request, code: str) -> Response:
        return Response(_body(services.find_link(code), request))
