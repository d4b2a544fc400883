"""The API of withdrawals (提现), for authors: take wallet money out to an Alipay account, list
and read one's withdrawals. Same conventions as :mod:`zhifu.api.views` (JWT or session auth,
JSON only, errors in the one shape of :mod:`zhifu.api.errors`).

``POST`` answers 201 with the new withdrawal, whatever the gateway said: a transfer the gateway
refused is ``failed`` (its money back in the wallet), one without a clear answer ``unknown`` (the
job settles it). With an ``Idempotency-Key`` header a retry gets the first answer (replayed,
``Idempotent-Replayed: true``) and nothing is withdrawn twice; the same key with another body
is a 409 ``idempotency_key_reused``.

Through :func:`zhifu.api.idempotency.create_once`, as orders: the withdrawal is made (the amount
held) in the transaction that records the key, then sent to the gateway with no transaction
open, and the answer is stored with the key.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api.idempotency import create_once
from ..api.paths import id_parameter, row_id
from ..api.schema import IDEMPOTENCY_KEY, errors
from ..api.serializers import NOT_BLANK, StrictCharField
from ..api.views import ZhifuAPI
from ..exceptions import invalid_amount
from ..money import AmountError, parse_amount
from . import services
from .models import Withdrawal

__all__ = ["WithdrawalDetailView", "WithdrawalListCreateView"]

SCOPE = "zhifu.api:withdrawals"


class WithdrawalSerializer(serializers.ModelSerializer[Withdrawal]):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    status = serializers.ChoiceField(
        choices=Withdrawal.Status.choices,
        read_only=True,
        help_text=(
            "requested (waiting for staff approval), approved, sent, succeeded (paid out), "
            "failed (the money is back in the wallet) or unknown (the gateway gave no clear "
            "answer; the amount stays held until the job settles it)"
        ),
    )
    error_code = serializers.CharField(
        read_only=True,
        help_text=(
            "why it failed (status failed: the gateway's code such as PAYEE_NOT_EXIST, or "
            "`rejected` by staff), or why the outcome is unknown; empty otherwise"
        ),
    )
    error_message = serializers.CharField(read_only=True, help_text="the reason, readable")

    class Meta:
        model = Withdrawal
        fields = (
            "id",
            "out_biz_no",
            "amount",
            "status",
            "payee_type",
            "payee",
            "payee_name",
            "error_code",
            "error_message",
            "created_at",
            "finished_at",
        )
        read_only_fields = fields


class CreateWithdrawalSerializer(serializers.Serializer[Any]):
    # Checked by the service (one set of rules for the API, the site's forms and the admin):
    # "abc" is invalid_amount, the limits are below_minimum / above_maximum / daily_limit.
    amount = StrictCharField(
        min_length=1,
        max_length=32,
        help_text=(
            'yuan, a plain decimal string such as "12.30", within ZHIFU["WITHDRAWALS"] MIN and '
            "MAX (and the daily limit), at most the wallet's balance"
        ),
        **NOT_BLANK,
    )
    payee_type = serializers.ChoiceField(
        choices=Withdrawal.PayeeType.choices,
        default=Withdrawal.PayeeType.LOGIN,
        help_text="login: an Alipay account name (e-mail or phone); user_id: 2088…",
    )
    payee = StrictCharField(
        min_length=1, max_length=100, help_text="the Alipay account to pay to", **NOT_BLANK
    )
    payee_name = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=64,
        help_text="the account holder's real name; required with payee_type login",
    )


def _body(withdrawal: Withdrawal) -> dict[str, Any]:
    return dict(WithdrawalSerializer(withdrawal).data)


def _mine(request: Request) -> QuerySet[Withdrawal]:
    user_pk: Any = request.user.pk  # signed in (IsAuthenticated)
    return Withdrawal.objects.filter(user_id=user_pk)


def _amount(value: str) -> Decimal:
    try:
        return parse_amount(value)
    except AmountError as exc:
        raise invalid_amount(exc) from None


def _created(withdrawal: Withdrawal) -> Response:
    return Response(_body(withdrawal), status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(responses={200: WithdrawalSerializer(many=True), **errors(400, 401, 404)})
)
class WithdrawalListCreateView(ZhifuAPI, generics.ListAPIView[Withdrawal]):
    """The signed-in user's withdrawals, newest first; or withdraw from the wallet (提现)."""

    serializer_class = WithdrawalSerializer

    def get_queryset(self) -> QuerySet[Withdrawal]:
        return _mine(self.request).order_by("-created_at", "-id")

    @extend_schema(
        request=CreateWithdrawalSerializer,
        responses={201: WithdrawalSerializer, **errors(400, 401, 409, 413, 503)},
        parameters=[IDEMPOTENCY_KEY],
        description=(
            "Withdraw `amount` from the wallet to an Alipay account. The amount is held at once "
            "(never more than the balance); if the site needs no approval for it, it is sent to "
            "Alipay before the answer.\n\n"
            '**201 is not "paid"**: read `status`. A transfer Alipay refused (e.g. '
            "`PAYEE_NOT_EXIST`, a wrong `payee_name`) is still 201, with status `failed`, "
            "`error_code` and `error_message`, and its money already back in the wallet; "
            "`requested` waits for staff; `unknown` stays held until the periodic job settles "
            "it. Refused before anything is held: 400 `invalid_amount`, `below_minimum`, "
            "`above_maximum`, `daily_limit`, `payee_name_required`, "
            "`invalid_request`; 409 `insufficient_balance` (more than the wallet holds)."
        ),
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = CreateWithdrawalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["amount"] = _amount(values["amount"])  # "30" and "30.00": one request
        options = {k: values[k] for k in ("payee_type", "payee", "payee_name")}

        def create() -> Withdrawal:  # database work only: the amount is held, nothing sent
            return services.request_withdrawal(
                request.user, values["amount"], send=False, **options
            )

        def respond(withdrawal: Withdrawal) -> Response:  # no transaction open: the gateway
            if withdrawal.status == Withdrawal.Status.APPROVED:  # no approval needed
                withdrawal = services.send_withdrawal(withdrawal)
            return _created(withdrawal)

        return create_once(
            request,
            scope=SCOPE,
            data=values,
            create=create,
            respond=respond,
            load=lambda ref: _mine(request).get(pk=int(ref)),
            ref=lambda withdrawal: str(withdrawal.pk),
        )


class WithdrawalDetailView(ZhifuAPI, APIView):
    """One of the signed-in user's withdrawals, as it is now."""

    @extend_schema(
        parameters=[id_parameter("withdrawal")],
        responses={200: WithdrawalSerializer, **errors(401, 404)},
    )
    def get(self, request: Request, pk: str) -> Response:
        return Response(_body(get_object_or_404(_mine(request), pk=row_id(pk))))
