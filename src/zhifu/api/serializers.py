"""Serializers: input validation for requests, and the shape of orders, refunds and wallets."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from ..models import LedgerEntry, Order, OrderAdjustment, OrderLine, PaymentAttempt, Refund
from .amounts import AmountField


class ChannelField(serializers.ChoiceField):
    """One of the payment channels the configured providers offer (read when a serializer is
    made, so the choices follow ``ZHIFU["PROVIDERS"]``)."""

    def __init__(self, **kwargs: Any) -> None:
        from ..providers import registry

        super().__init__(choices=registry.channel_choices(), **kwargs)


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


class CreateOrderSerializer(serializers.Serializer[Any]):
    """Prices come from the server; any price or amount sent is ignored."""

    # A ListField (not many=True) so that the schema says minItems/maxItems.
    items = serializers.ListField(child=ItemSerializer(), min_length=1, max_length=100)
    channel = ChannelField(required=False)


class PaySerializer(serializers.Serializer[Any]):
    channel = ChannelField()


class PaymentSerializer(serializers.Serializer[Any]):
    """The answer to "pay": what the buyer needs for the chosen channel."""

    out_trade_no = serializers.CharField()
    status = serializers.CharField()
    channel = serializers.CharField()
    payment_out_trade_no = serializers.CharField()
    pay_url = serializers.CharField(allow_blank=True)
    form_html = serializers.CharField(allow_blank=True)
    qr_code = serializers.CharField(allow_blank=True)
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
