"""The signed messages the sandbox sends a merchant: return redirects and notifications.

Both are signed like Alipay's: over every parameter except ``sign`` and ``sign_type``, sorted,
with empty values dropped — and the sandbox never sends an empty value at all (some SDKs, e.g.
python-alipay-sdk, do not drop empties when verifying).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

from zhifu.alipay import Signer
from zhifu.money import format_amount

from .accounts import App, mask_login
from .clock import BEIJING, fmt, fmt_ms
from .trades import Trade

__all__ = ["codec", "new_notify_id", "notification_form", "return_params", "return_url"]

RETURN_METHODS = {
    "alipay.trade.page.pay": "alipay.trade.page.pay.return",
    "alipay.trade.wap.pay": "alipay.trade.wap.pay.return",
}


def codec(charset: str) -> str:
    """Python codec for an Alipay ``charset`` (GBK text is decoded with its superset)."""
    lowered = charset.lower()
    return "gb18030" if lowered in {"gbk", "gb2312"} else lowered


def _signed(params: dict[str, str], signer: Signer, charset: str) -> dict[str, str]:
    clean = {k: v for k, v in params.items() if v != ""}
    clean["sign"] = signer.sign_notification(clean, codec(charset))
    return clean


def return_params(trade: Trade, app: App, signer: Signer, now: float) -> dict[str, str]:
    """The signed query parameters of the browser's redirect to ``return_url`` (no trade_status)."""
    params = {
        "app_id": trade.app_id,
        "auth_app_id": trade.app_id,
        "charset": trade.charset,
        "method": RETURN_METHODS.get(trade.method, trade.method + ".return"),
        "out_trade_no": trade.out_trade_no,
        "seller_id": app.seller_id,
        "sign_type": signer.sign_type,
        "timestamp": fmt(now),
        "total_amount": format_amount(trade.total),
        "trade_no": trade.trade_no,
        "version": "1.0",
    }
    return _signed(params, signer, trade.charset)


def return_url(trade: Trade, app: App, signer: Signer, now: float) -> str | None:
    if not trade.return_url:
        return None
    query = urlencode(return_params(trade, app, signer, now), encoding=codec(trade.charset))
    separator = "&" if "?" in trade.return_url else "?"
    return trade.return_url + separator + query


def notification_form(
    trade: Trade,
    app: App,
    signer: Signer,
    *,
    now: float,
    notify_id: str,
    trade_status: str,
    out_biz_no: str = "",
    refund_fee: Decimal | None = None,
    refunded_at: float | None = None,
) -> dict[str, str]:
    """The signed form of one ``trade_status_sync`` notification (reference section 3.2).

    A refund notification (``refund_fee`` given) carries ``refund_fee``, ``out_biz_no`` and
    ``gmt_refund`` with milliseconds, and none of the payment's amounts (``receipt_amount``,
    ``invoice_amount``, ``buyer_pay_amount``, ``point_amount``, ``fund_bill_list``), as Alipay's.
    """
    total = format_amount(trade.total)
    form = {
        "notify_time": fmt(now),
        "notify_type": "trade_status_sync",
        "notify_id": notify_id,
        "app_id": trade.app_id,
        "auth_app_id": trade.app_id,
        "charset": trade.charset,
        "version": "1.0",
        "sign_type": signer.sign_type,
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "trade_status": trade_status,
        "total_amount": total,
        "subject": trade.subject,
        "body": trade.body,
        "passback_params": trade.passback_params,
        "seller_id": app.seller_id,
        "seller_email": app.seller_email,
        "gmt_create": fmt(trade.created_at),
    }
    if trade.paid_at is not None:
        form["buyer_id"] = trade.buyer_id
        form["buyer_logon_id"] = mask_login(trade.buyer_login)
        form["gmt_payment"] = fmt(trade.paid_at)
    if refund_fee is not None:
        form["refund_fee"] = format_amount(refund_fee)
        form["out_biz_no"] = out_biz_no
        if refunded_at is not None:
            form["gmt_refund"] = fmt_ms(refunded_at)
    elif trade.paid_at is not None:
        form.update(
            {
                "receipt_amount": total,
                "invoice_amount": total,
                "buyer_pay_amount": total,
                "point_amount": "0.00",
                "fund_bill_list": json.dumps(
                    [{"amount": total, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")
                ),
            }
        )
    if trade_status == "TRADE_CLOSED" and trade.closed_at is not None:
        form["gmt_close"] = fmt(trade.closed_at)
    if trade_status == "TRADE_FINISHED" and trade.finished_at is not None:
        form["gmt_close"] = fmt(trade.finished_at)
    return _signed(form, signer, trade.charset)


def new_notify_id(now: float) -> str:
    """34 digits: the Beijing date, ``00222``, the time ``HHmmss``, 15 more digits — the shape
    of Alipay's notify ids (e.g. ``2020083100222161625033771438477577``), not hex."""
    stamp = datetime.fromtimestamp(now, BEIJING)
    return (
        stamp.strftime("%Y%m%d")
        + "00222"
        + stamp.strftime("%H%M%S")
        + "".join(secrets.choice("0123456789") for _ in range(15))
    )
