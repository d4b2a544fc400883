"""Serializers: input validation for requests, and the shape of orders, refunds and wallets."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.core.validators import RegexValidator
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..models import LedgerEntry, Order, OrderAdjustment, OrderLine, PaymentAttempt, Refund
from ..providers import registry
from .amounts import AmountField


class ChannelField(serializers.ChoiceField):
    """One of the payment channels the configured providers offer (read when a serializer is
    made, so the choices follow ``ZHIFU["PROVIDERS"]``)."""

    def __init__(self, **kwargs: Any) -> None:
        from ..providers import registry

        super().__init__(choices=registry.channel_choices(), **kwargs)


def safe_return_url(request: HttpRequest | None, value: str) -> str:
    """``value`` — a path, or an absolute http(s) URL whose host is the request's or one of
    ``ALLOWED_HOSTS`` (never ``*``) — as an absolute URL; https only when the request came over
    https. The same rule as a ``next`` URL (``url_has_allowed_host_and_scheme``): a client
    cannot make the cashier send the buyer to another site."""
    from django.conf import settings

    refused = serializers.ValidationError(
        _("must be a path or an http(s) URL of this site"), code="invalid"
    )
    if request is None:
        raise refused
    value = value.strip()
    current = request.get_host()
    secure = request.is_secure()
    if value.startswith("/") and not value.startswith(("//", "/\\")):
        if not url_has_allowed_host_and_scheme(value, {current}, require_https=secure):
            raise refused
        return request.build_absolute_uri(value)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise refused
    netloc = parts.netloc.lower()
    trusted = [h for h in settings.ALLOWED_HOSTS if h != "*"]
    host, _port = split_domain_port(netloc)
    if netloc != current.lower() and not (host and validate_host(host, trusted)):
        raise refused
    if not url_has_allowed_host_and_scheme(value, {parts.netloc}, require_https=secure):
        raise refused
    return value


# Text that must not be empty once trimmed: DRF trims, then refuses ""; the pattern (with
# min_length) puts that in the schema, so that clients and schemathesis know "   " is refused.
NOT_BLANK: dict[str, Any] = {"validators": [RegexValidator(r"\S")]}


class OrderLineSerializer(serializers.ModelSerializer[OrderLine]):
    class Meta:
        model = OrderLine
        fields = ("sku", "title", "unit_price", "quantity", "amount")


class OrderAdjustmentSerializer(serializers.ModelSerializer[OrderAdjustment]):
    class Meta:
        model = OrderAdjustment
        fields = ("kind", "label", "amount")


class PaymentAttemptSerializer(serializers.ModelSerializer[PaymentAttempt]):
    class Meta:
        model = PaymentAttempt
        fields = (
            "out_trade_no",
            "channel",
            "status",
            "amount",
            "trade_no",
            "paid_at",
            "created_at",
        )


class OrderSerializer(serializers.ModelSerializer[Order]):
    lines = OrderLineSerializer(many=True, read_only=True)
    adjustments = OrderAdjustmentSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields: tuple[str, ...] = (
            "out_trade_no",
            "kind",
            "subject",
            "currency",
            "total_amount",
            "refunded_amount",
            "status",
            "expires_at",
            "paid_at",
            "created_at",
            "lines",
            "adjustments",
        )
        read_only_fields: tuple[str, ...] = fields


class OrderDetailSerializer(OrderSerializer):
    payments = PaymentAttemptSerializer(many=True, read_only=True, source="attempts")

    class Meta(OrderSerializer.Meta):
        fields = (*OrderSerializer.Meta.fields, "payments")
        read_only_fields = fields


class ItemSerializer(serializers.Serializer[Any]):
    # min_length and the pattern put in the schema what DRF refuses: "" and "   " (trimmed).
    sku = serializers.CharField(min_length=1, max_length=128, **NOT_BLANK)
    quantity = serializers.IntegerField(min_value=1, max_value=9999, default=1)


class StrictCharField(serializers.CharField):
    """Text that must be sent as a JSON string (DRF's CharField also takes 12345 as "12345")."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


OPENID = re.compile(r"[A-Za-z0-9_-]{1,128}", re.ASCII)


class PaymentOptionsSerializer(serializers.Serializer[Any]):
    """What some channels need besides the channel: where the buyer's browser comes back, and
    who the buyer is at the gateway."""

    return_url = StrictCharField(
        required=False,
        max_length=1024,
        help_text=(
            "Where the gateway's cashier sends the buyer's browser back (WeChat Pay H5's "
            "`redirect_url`, Alipay's `return_url`): a path or an absolute URL of this site. "
            "Default: the configured return URL. The page it opens must query the order: coming "
            "back says nothing about payment."
        ),
        **NOT_BLANK,
    )
    openid = StrictCharField(
        required=False,
        trim_whitespace=False,  # " o..." is not an openid (and the schema's pattern says so)
        min_length=1,
        max_length=128,
        help_text=(
            "`wechat_jsapi` only, and required there: the buyer's WeChat openid for the site's "
            "APPID (from WeChat's `snsapi_base` OAuth), 28 characters of letters, digits, `_` "
            "and `-`."
        ),
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9_-]+$",
                _("1 to 128 letters, digits, '_' or '-' (a WeChat openid has 28)"),
            )
        ],
    )

    def validate_openid(self, value: str) -> str:
        # The pattern's "$" (what JSON Schema understands) lets a final newline through.
        if not OPENID.fullmatch(value):
            raise serializers.ValidationError(
                _("1 to 128 letters, digits, '_' or '-' (a WeChat openid has 28)"), code="invalid"
            )
        return value

    def validate_return_url(self, value: str) -> str:
        return safe_return_url(self.context.get("request"), value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        channel = attrs.get("channel")
        if (
            isinstance(channel, str)
            and registry.needs_payer_id(channel)
            and not attrs.get("openid")
        ):
            raise serializers.ValidationError(
                {
                    "openid": _("required to pay with %(channel)s: the buyer's WeChat openid")
                    % {"channel": attrs["channel"]}
                }
            )
        return attrs


class CreateOrderSerializer(PaymentOptionsSerializer):
    """Prices come from the server; any price or amount sent is ignored. With ``channel``, the
    payment starts at once (``return_url`` and ``openid`` as for paying)."""

    # A ListField (not many=True) so that the schema says minItems/maxItems.
    items = serializers.ListField(child=ItemSerializer(), min_length=1, max_length=100)
    channel = ChannelField(required=False)


class PaySerializer(PaymentOptionsSerializer):
    channel = ChannelField()


class JsParamsSerializer(serializers.Serializer[Any]):
    """The parameters of WeChat's ``WeixinJSBridge.invoke("getBrandWCPayRequest", ...)``, as
    they are (``timeStamp`` is a string, as WeChat wants it)."""

    appId = serializers.CharField(required=False)  # WeChat's names
    timeStamp = serializers.CharField(required=False)
    nonceStr = serializers.CharField(required=False)
    package = serializers.CharField(required=False)
    signType = serializers.CharField(required=False)
    paySign = serializers.CharField(required=False)


class PaymentSerializer(serializers.Serializer[Any]):
    """The answer to "pay": what the buyer needs for the chosen channel."""

    out_trade_no = serializers.CharField()
    status = serializers.CharField()
    channel = serializers.CharField()
    payment_out_trade_no = serializers.CharField()
    pay_url = serializers.CharField(allow_blank=True)
    form_html = serializers.CharField(allow_blank=True)
    qr_code = serializers.CharField(allow_blank=True)
    js_params = JsParamsSerializer(
        help_text="`wechat_jsapi`: what the page passes to `getBrandWCPayRequest`; empty otherwise"
    )
    paid = serializers.BooleanField()


class CreatedOrderSerializer(OrderDetailSerializer):
    """A new order; with ``payment`` when a ``channel`` was given."""

    payment = PaymentSerializer(read_only=True, required=False)

    class Meta(OrderDetailSerializer.Meta):
        fields = (*OrderDetailSerializer.Meta.fields, "payment")
        read_only_fields = fields


class RefundSerializer(serializers.ModelSerializer[Refund]):
    out_trade_no = serializers.CharField(source="order.out_trade_no", read_only=True)

    class Meta:
        model = Refund
        fields = (
            "out_trade_no",
            "out_request_no",
            "amount",
            "reason",
            "status",
            "automatic",
            "error_code",
            "created_at",
            "succeeded_at",
        )
        read_only_fields = fields


class CreateRefundSerializer(serializers.Serializer[Any]):
    out_trade_no = serializers.CharField(min_length=1, max_length=64, **NOT_BLANK)
    amount = AmountField(required=False, allow_null=True)  # empty or null: all that is left
    reason = serializers.CharField(max_length=256, required=False, allow_blank=True, default="")


class WalletSerializer(serializers.Serializer[Any]):
    balance = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


class LedgerEntrySerializer(serializers.ModelSerializer[LedgerEntry]):
    out_trade_no = serializers.SerializerMethodField()

    class Meta:
        model = LedgerEntry
        fields = ("kind", "amount", "balance_after", "out_trade_no", "memo", "created_at")

    def get_out_trade_no(self, entry: LedgerEntry) -> str | None:
        return entry.order.out_trade_no if entry.order is not None else None


class TopUpSerializer(serializers.Serializer[Any]):
    amount = AmountField()
