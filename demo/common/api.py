"""The demo's API beside Zhifu's (``zhifu.api.urls``): the catalog, articles, and rewards.

Errors use Zhifu's shape: ``{"error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rewards.models import Article, Reward
from rewards.services import CHANNELS, create_reward, parse_reward_amount

from common.catalog import iter_catalog
from common.errors import DemoError
from common.inputs import limit
from common.types import AuthenticatedRequest
from zhifu.api.amounts import AmountField
from zhifu.api.idempotency import create_once
from zhifu.api.paths import row_id
from zhifu.api.schema import IDEMPOTENCY_KEY, errors
from zhifu.models import Order
from zhifu.payer import payer_from_request
from zhifu.services import payments

# Text that must not be empty once trimmed (DRF trims, then refuses ""): said in the schema.
NOT_BLANK = RegexValidator(r"\S")
OPENID = RegexValidator(
    r"\A[A-Za-z0-9_-]{1,128}\Z", "1 to 128 letters, digits, '_' or '-' (a WeChat openid has 28)"
)


def error_response(code: str, message: str, http_status: int = 400) -> Response:
    return Response({"error": {"code": code, "message": message}}, status=http_status)


class JSONOnly:
    """Bodies are JSON (the schema then promises the one format every client uses)."""

    parser_classes: Any = (JSONParser,)


class ValiditySerializer(serializers.Serializer):
    sku = serializers.CharField()
    days = serializers.IntegerField(allow_null=True, help_text="empty = permanent")
    # A declared field named like a Field attribute: DRF's serializer metaclass moves declared
    # fields out of the class body, so nothing is shadowed at run time; the stubs don't know that.
    label = serializers.CharField()  # type: ignore[assignment]
    price = serializers.DecimalField(max_digits=10, decimal_places=2)


class CatalogItemSerializer(serializers.Serializer):
    sku = serializers.CharField(
        help_text="what order creation takes (for a course: its first option)"
    )
    kind = serializers.ChoiceField(choices=["goods", "course"])
    title = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    validity_options = ValiditySerializer(many=True)


class CatalogView(APIView):
    """Everything on sale. Order creation (``POST /api/orders/``) takes these SKUs."""

    permission_classes = [AllowAny]
    pagination_class = None

    @extend_schema(responses=CatalogItemSerializer(many=True), operation_id="catalog_list")
    def get(self, request: Request) -> Response:
        return Response(CatalogItemSerializer(list(iter_catalog()), many=True).data)


class RewardSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")

    class Meta:
        model = Reward
        fields = ["user", "amount", "message", "paid_at"]


class ArticleSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")

    class Meta:
        model = Article
        fields = ["id", "title", "summary", "author", "created_at", "reward_count", "reward_total"]


class ArticleDetailSerializer(ArticleSerializer):
    rewards = serializers.SerializerMethodField()

    class Meta(ArticleSerializer.Meta):
        fields = [*ArticleSerializer.Meta.fields, "body", "rewards"]

    @extend_schema_field(RewardSerializer(many=True))
    def get_rewards(self, article: Article) -> list[dict[str, Any]]:
        paid = article.rewards.filter(status=Reward.Status.PAID).select_related("user")[:50]
        return RewardSerializer(paid, many=True).data  # type: ignore[return-value]


ARTICLE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)


def _article(pk: str, articles: QuerySet[Article]) -> Article:
    return get_object_or_404(articles, pk=row_id(pk))  # anything else than an id: a JSON 404


class ArticleListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=ArticleSerializer(many=True), operation_id="articles_list")
    def get(self, request: Request) -> Response:
        articles = Article.objects.select_related("author")
        return Response(ArticleSerializer(articles, many=True).data)


class ArticleDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: ArticleDetailSerializer, **errors(404)},
        parameters=[ARTICLE_ID],
        operation_id="articles_retrieve",
    )
    def get(self, request: Request, pk: str) -> Response:
        article = _article(pk, Article.objects.select_related("author"))
        return Response(ArticleDetailSerializer(article).data)


class RewardCreateSerializer(serializers.Serializer):
    # amount: see get_fields (its maximum is a setting, read when a serializer is made)
    message = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    channel = serializers.ChoiceField(choices=list(CHANNELS), default="alipay_page")
    openid = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=128,
        default="",
        validators=[OPENID],
        help_text="wechat_jsapi (and required there): the buyer's openid for the site's appid "
        "(WeChat web OAuth)",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _openid_for_jsapi(attrs)

    def get_fields(self) -> dict[str, serializers.Field]:
        # A plain decimal string from 0.01 to DEMO_REWARD_MAX, stated exactly in the schema.
        maximum = limit("DEMO_REWARD_MAX")
        return _current_channels(
            {
                "amount": AmountField(
                    maximum=maximum,
                    help_text=f'yuan as a string, e.g. "5" or "12.30"; ≤ {maximum}',
                ),
                **super().get_fields(),
            }
        )


def _openid_for_jsapi(attrs: dict[str, Any]) -> dict[str, Any]:
    if attrs.get("channel") == "wechat_jsapi" and not attrs.get("openid"):
        raise serializers.ValidationError(
            {"openid": "required to pay with wechat_jsapi: the buyer's WeChat openid"}
        )
    return attrs


def _current_channels(fields: dict[str, serializers.Field]) -> dict[str, serializers.Field]:
    """The ``channel`` field's choices from Zhifu's registry as it is now (the providers of
    ``ZHIFU["PROVIDERS"]``), not as it was when this module was imported."""
    from common import channels

    field = fields["channel"]
    assert isinstance(field, serializers.ChoiceField)
    field.choices = list(channels.all_channels())
    return fields


class RewardCreatedSerializer(serializers.Serializer):
    out_trade_no = serializers.CharField()
    status = serializers.CharField()
    total_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    channel = serializers.CharField()
    paid = serializers.BooleanField()
    pay_url = serializers.CharField(allow_null=True)
    qr_code = serializers.CharField(allow_null=True)
    js_params = serializers.DictField(
        child=serializers.CharField(),
        allow_null=True,
        help_text="wechat_jsapi: the parameters of WeixinJSBridge.invoke('getBrandWCPayRequest')",
    )


class ArticleRewardView(JSONOnly, APIView):
    """Reward an article: creates a reward order and starts its payment with the channel.

    With ``balance`` the order is paid at once from the wallet (409 ``insufficient_balance`` if
    the wallet is short; the order then stays pending and can be paid with ``POST
    /api/orders/{out_trade_no}/pay/``). With an Alipay channel the answer has the pay URL or the
    QR code; WeChat Pay gives the QR code (``wechat_native``), the H5 cashier URL (``wechat_h5``)
    or, with the buyer's ``openid``, the ``js_params`` for WeChat's browser (``wechat_jsapi``).
    Rewarding your own article is refused (``own_article``). With an
    ``Idempotency-Key`` the same request again gives the same order and answer, not a second
    reward.
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=RewardCreateSerializer,
        responses={201: RewardCreatedSerializer, **errors(400, 401, 403, 404, 409, 413, 503)},
        parameters=[ARTICLE_ID, IDEMPOTENCY_KEY],
        operation_id="articles_rewards_create",
    )
    def post(self, request: AuthenticatedRequest, pk: str) -> Response:
        article = _article(pk, Article.objects.all())
        data = RewardCreateSerializer(data=request.data)
        if not data.is_valid():
            field, problems = next(iter(data.errors.items()))
            return error_response("invalid_request", f"{field}: {problems[0]}")
        values = data.validated_data
        try:
            amount = parse_reward_amount(values["amount"])
            return create_once(
                request,
                scope="demo.api:reward",
                data={**values, "amount": amount, "article": article.pk},
                create=lambda: create_reward(
                    request.user, article, amount, values["message"], values["channel"]
                ),
                respond=lambda order: _created(request, order, values["channel"], values["openid"]),
            )
        except DemoError as exc:
            code = 403 if exc.code == "own_article" else 400
            return error_response(exc.code, exc.message, code)


def _created(
    request: AuthenticatedRequest, order: Order, channel: str | None, openid: str = ""
) -> Response:
    """The answer to a reward or a checkout: the order, and the payment if a channel was given
    (a ZhifuError here is answered by the API's error handler)."""
    start = (
        payments.start_payment(
            order, channel, user=request.user, payer=payer_from_request(request, openid=openid)
        )
        if channel
        else None
    )
    order.refresh_from_db()
    body = {
        "out_trade_no": order.out_trade_no,
        "status": str(order.status),
        "total_amount": order.total_amount,
        "channel": channel or "",
        "paid": bool(start and start.paid),
        "pay_url": (start.pay_url or None) if start else None,
        "qr_code": (start.qr_code or None) if start else None,
        "js_params": (start.js_params or None) if start else None,
    }
    return Response(RewardCreatedSerializer(body).data, status=status.HTTP_201_CREATED)


# --- the course checkout with coupons and credits (what the tutorials' Vue client does) ----------


class CreditsSerializer(serializers.Serializer):
    balance = serializers.IntegerField()
    held = serializers.IntegerField(help_text="held by unpaid orders")
    available = serializers.IntegerField()
    credits_per_yuan = serializers.IntegerField()


class UserCouponSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="what checkout takes as `coupon`")
    code = serializers.CharField(source="coupon.code")
    name = serializers.CharField(source="coupon.name")
    description = serializers.CharField(source="coupon.describe")
    valid_from = serializers.DateTimeField(source="coupon.valid_from")
    valid_until = serializers.DateTimeField(source="coupon.valid_until")
    status = serializers.CharField(help_text="available | reserved | used")


class MyCouponsSerializer(serializers.Serializer):
    credits = CreditsSerializer()
    coupons = UserCouponSerializer(many=True)


class MyCouponsView(APIView):
    """My coupons and credits, for the checkout page of a front end."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={200: MyCouponsSerializer, **errors(401)}, operation_id="me_coupons_retrieve"
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        from courses.models import UserCoupon
        from courses.services import credit_account
        from django.conf import settings

        account = credit_account(request.user)
        body = {
            "credits": {
                "balance": account.balance,
                "held": account.held,
                "available": account.available,
                "credits_per_yuan": settings.DEMO_CREDITS_PER_YUAN,
            },
            "coupons": UserCoupon.objects.filter(user=request.user).select_related("coupon"),
        }
        return Response(MyCouponsSerializer(body).data)


class CourseCheckoutSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return _current_channels(super().get_fields())

    skus = serializers.ListField(
        child=serializers.CharField(min_length=1, max_length=64, validators=[NOT_BLANK]),
        min_length=1,
        max_length=50,
        help_text='course validity SKUs from the catalog, e.g. ["course:1:90"]',
    )
    coupon = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="a coupon `id` from me/coupons/"
    )
    credits = serializers.IntegerField(required=False, default=0, min_value=0, max_value=10**9)
    channel = serializers.ChoiceField(
        choices=list(CHANNELS), required=False, help_text="start the payment at once"
    )
    openid = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=128,
        default="",
        validators=[OPENID],
        help_text="wechat_jsapi (and required there): the buyer's openid for the site's appid "
        "(WeChat web OAuth)",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _openid_for_jsapi(attrs)


class QuoteSerializer(serializers.Serializer):
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    coupon_discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    credits = serializers.IntegerField()
    credits_discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    max_credits = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    # The output key "errors"; as above, the metaclass keeps Serializer.errors intact.
    errors = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]


def _options_from_skus(skus: list[str]) -> list[Any]:
    from courses.models import ValidityOption

    from zhifu.catalog import UnknownSku

    from .catalog import resolve

    options = []
    for sku in skus:
        item = resolve(sku, None)
        if not isinstance(item.item, ValidityOption):
            raise UnknownSku(
                message=_("Only courses can be checked out here: %(sku)s") % {"sku": sku}
            )
        options.append(item.item)
    return options


def _parse_checkout(request: Request) -> tuple[dict[str, Any] | None, Response | None]:
    data = CourseCheckoutSerializer(data=request.data)
    if not data.is_valid():
        field, problems = next(iter(data.errors.items()))
        problem = problems[0] if isinstance(problems, list) else problems
        return None, error_response("invalid_request", f"{field}: {problem}")
    return dict(data.validated_data), None


class CourseQuoteView(JSONOnly, APIView):
    """The server's price for courses with a coupon and credits (nothing is reserved)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=CourseCheckoutSerializer,
        responses={200: QuoteSerializer, **errors(400, 401, 403, 413)},
        operation_id="courses_quote",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        from courses import services
        from courses.models import UserCoupon

        from zhifu.catalog import UnknownSku

        values, problem = _parse_checkout(request)
        if problem is not None:
            return problem
        assert values is not None
        try:
            options = _options_from_skus(values["skus"])
        except UnknownSku as exc:
            return error_response(exc.code, exc.message)
        user_coupon = None
        if values.get("coupon"):
            user_coupon = (
                UserCoupon.objects.select_related("coupon")
                .filter(pk=values["coupon"], user=request.user)
                .first()
            )
            if user_coupon is None:
                return error_response("coupon_not_yours", _("This coupon is not yours."))
        bd = services.price(
            request.user, options, user_coupon=user_coupon, credits=values["credits"]
        )
        body = {
            "subtotal": bd.subtotal,
            "coupon_discount": bd.coupon_discount,
            "credits": bd.credits,
            "credits_discount": bd.credits_discount,
            "max_credits": bd.max_credits,
            "total": bd.total,
            "errors": [str(e) for e in bd.errors],
        }
        return Response(QuoteSerializer(body).data)


class CourseCheckoutView(JSONOnly, APIView):
    """Create the order for courses with a coupon and credits (reserved until paid, released if
    it expires or is cancelled); with ``channel`` the payment starts at once, as in
    ``POST /api/orders/{out_trade_no}/pay/``. Honours ``Idempotency-Key``."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=CourseCheckoutSerializer,
        responses={201: RewardCreatedSerializer, **errors(400, 401, 403, 409, 413, 503)},
        parameters=[IDEMPOTENCY_KEY],
        operation_id="courses_checkout",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        from courses import services

        from zhifu.catalog import UnknownSku

        values, problem = _parse_checkout(request)
        if problem is not None:
            return problem
        assert values is not None
        try:
            options = _options_from_skus(values["skus"])
            return create_once(
                request,
                scope="demo.api:course-checkout",
                data=values,
                create=lambda: services.checkout(
                    request.user,
                    [o.pk for o in options],
                    user_coupon_id=values.get("coupon"),
                    credits=values["credits"],
                ),
                respond=lambda order: _created(
                    request, order, values.get("channel"), values.get("openid", "")
                ),
            )
        except UnknownSku as exc:
            return error_response(exc.code, exc.message)
        except DemoError as exc:
            return error_response(exc.code, exc.message)
