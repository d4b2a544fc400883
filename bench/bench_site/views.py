"""Reference endpoints the benchmarks measure beside Zhifu, in the same server, same settings.

- :func:`bare`: a Django view that answers ``success`` and touches nothing — the ceiling of the
  stack (gunicorn, WSGI, the demo's middleware).
- :func:`ref_checkout`: the *minimal durable reference* for checkout — JWT authentication, the
  price read on the server, order + line + payment attempt inserted with raw SQL in one
  transaction, the signed page-pay URL built with a client made once.
- :func:`ref_notify`: the *minimal durable reference* for a notification — the raw body stored
  (committed) first, the signature verified with a key loaded once, then one transaction that
  updates the attempt, the order and the stored notification.
- :func:`tutorial_notify`: the handler the tutorials (seeds/) write — python-alipay-sdk's
  ``AliPay(...)`` built per request from key files read per request, ``verify()``, then unlocked
  ORM ``get()``/``save()``/``update()``; it checks neither amount nor app_id and can
  double-credit under races (that is what it costs, not what it is worth).

The raw SQL inserts list every column of Zhifu's tables from the models (defaults included), so
that they keep up with schema changes.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import connection, models, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework_simplejwt.authentication import JWTAuthentication

from zhifu.alipay import SignatureError
from zhifu.conf import zhifu_settings
from zhifu.models import Notification, Order, OrderLine, PaymentAttempt
from zhifu.providers.alipay_config import build_client
from zhifu.services.orders import new_out_trade_no


@cache
def _client() -> Any:
    return build_client()


def _insert(model: type[models.Model], values: dict[str, Any]) -> tuple[str, list[Any]]:
    """``INSERT INTO <table> (<every column>) VALUES (...) RETURNING id`` with the model's
    defaults for the columns not in ``values``."""
    columns, params = [], []
    now = timezone.now()
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        name = field.attname
        if name in values:
            value = values[name]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        else:
            value = field.get_default()
        columns.append(connection.ops.quote_name(field.column))
        params.append(field.get_db_prep_save(value, connection))
    table = connection.ops.quote_name(model._meta.db_table)
    marks = ", ".join(["%s"] * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) RETURNING id", params


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"success", content_type="text/plain")


@csrf_exempt
def ref_checkout(request: HttpRequest) -> HttpResponse:
    auth = JWTAuthentication().authenticate(request)  # type: ignore[arg-type]
    if auth is None:
        return JsonResponse({"error": "not authenticated"}, status=401)
    user = auth[0]
    data = json.loads(request.body)
    item = data["items"][0]
    goods_id = int(str(item["sku"]).split(":")[1])
    quantity = int(item.get("quantity", 1))
    with connection.cursor() as cur:
        cur.execute("SELECT name, price FROM shop_goods WHERE id = %s AND is_active", [goods_id])
        row = cur.fetchone()
        if row is None:
            return JsonResponse({"error": "unknown sku"}, status=400)
        title, price = row[0], Decimal(row[1])
        total = price * quantity
        out_trade_no = new_out_trade_no()
        now = timezone.now()
        with transaction.atomic():
            cur.execute(
                *_insert(
                    Order,
                    {
                        "user_id": user.pk,
                        "out_trade_no": out_trade_no,
                        "subject": title,
                        "total_amount": total,
                        "status": "pending",
                        "expires_at": now + zhifu_settings.ORDER_EXPIRY,
                    },
                )
            )
            order_id = cur.fetchone()[0]
            cur.execute(
                *_insert(
                    OrderLine,
                    {
                        "order_id": order_id,
                        "sku": f"goods:{goods_id}",
                        "title": title,
                        "unit_price": price,
                        "quantity": quantity,
                        "amount": total,
                        "metadata": {"kind": "goods", "goods_id": goods_id},
                    },
                )
            )
            cur.execute(
                *_insert(
                    PaymentAttempt,
                    {
                        "order_id": order_id,
                        "provider": "alipay",
                        "channel": "alipay_page",
                        "out_trade_no": f"{out_trade_no}_1",
                        "amount": total,
                        "status": "pending",
                    },
                )
            )
    page = _client().page_pay(out_trade_no=f"{out_trade_no}_1", total_amount=total, subject=title)
    return JsonResponse(
        {
            "out_trade_no": out_trade_no,
            "status": "pending",
            "payment": {"pay_url": page.url, "form_html": page.form_html()},
        },
        status=201,
    )


@csrf_exempt
def ref_notify(request: HttpRequest) -> HttpResponse:
    body = request.body
    with connection.cursor() as cur:
        cur.execute(  # stored and committed (autocommit) before anything is verified
            *_insert(
                Notification,
                {
                    "provider": "alipay",
                    "body": body.decode("utf-8", "replace"),
                    "body_size": len(body),
                    "remote_addr": request.META.get("REMOTE_ADDR", ""),
                },
            )
        )
        notification_id = cur.fetchone()[0]
        params = dict(parse_qsl(body.decode("utf-8")))
        try:
            data = _client().verify_notification(params)
        except SignatureError:
            return HttpResponse(b"fail", status=400)
        conf = zhifu_settings
        if data.get("app_id") != conf.APP_ID or data.get("seller_id") != conf.SELLER_ID:
            return HttpResponse(b"fail", status=400)
        with transaction.atomic():
            cur.execute(
                "UPDATE zhifu_paymentattempt SET status = 'succeeded', trade_no = %s, "
                "buyer_id = %s, paid_at = now(), updated_at = now(), next_check_at = NULL "
                "WHERE out_trade_no = %s AND amount = %s AND status = 'pending' "
                "RETURNING id, order_id",
                [
                    data.get("trade_no", ""),
                    data.get("buyer_id", ""),
                    data["out_trade_no"],
                    Decimal(data["total_amount"]),
                ],
            )
            row = cur.fetchone()
            if row is not None:
                cur.execute(
                    "UPDATE zhifu_order SET status = 'paid', paid_at = now(), updated_at = now() "
                    "WHERE id = %s AND status = 'pending'",
                    [row[1]],
                )
            cur.execute(
                "UPDATE zhifu_notification SET outcome = %s, processed_at = now(), "
                "process_count = process_count + 1, out_trade_no = %s WHERE id = %s",
                [
                    "applied" if row is not None else "duplicate",
                    data["out_trade_no"][:64],
                    notification_id,
                ],
            )
    return HttpResponse(b"success", content_type="text/plain")


@csrf_exempt
def tutorial_notify(request: HttpRequest) -> HttpResponse:
    from alipay import AliPay  # python-alipay-sdk, as the seeds use it
    from shop.models import Goods

    conf = settings.ZHIFU
    alipay = AliPay(
        appid=conf["APP_ID"],
        app_notify_url=None,
        app_private_key_string=Path(conf["APP_PRIVATE_KEY"]).read_text(),
        alipay_public_key_string=Path(conf["ALIPAY_PUBLIC_KEY"]).read_text(),
        sign_type="RSA2",
    )
    data = request.POST.dict()
    signature = data.pop("sign")
    if not alipay.verify(data, signature):
        return HttpResponse(b"fail")
    with transaction.atomic():
        save_id = transaction.savepoint()  # as the seeds do
        try:
            attempt = PaymentAttempt.objects.get(
                out_trade_no=data["out_trade_no"], status="pending"
            )
        except PaymentAttempt.DoesNotExist:
            transaction.savepoint_rollback(save_id)
            return HttpResponse(b"success")
        attempt.status = "succeeded"
        attempt.trade_no = data.get("trade_no", "")
        attempt.save()
        Order.objects.filter(pk=attempt.order_id).update(status="paid", paid_at=timezone.now())
        for line in OrderLine.objects.filter(order_id=attempt.order_id):
            goods = Goods.objects.get(pk=int(line.sku.split(":")[1]))
            goods.sold += line.quantity
            goods.save()
    return HttpResponse(b"success")
