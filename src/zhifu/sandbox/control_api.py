"""The JSON control API under ``/sandbox/api/``: drive the sandbox from tests and CI.

Errors are ``{"error": "<code>", "message": "<what is wrong>"}`` with a 4xx status; bad input
never produces a 500 or a traceback.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from zhifu.money import AmountError, format_amount, parse_money

from .accounts import BUYER_PASSWORD, DEFAULT_BUYERS, AccountError, App
from .cashier import pay_trade
from .clock import fmt, parse_beijing
from .faults import FaultError
from .notifier import TriggerError
from .trades import PayError, Trade, TradeError
from .web import json_error, json_response

if TYPE_CHECKING:
    from .app import Sandbox

__all__ = ["ApiError", "trade_json"]

MAX_JSON = 1 << 20


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def read_json(request: Request, *, allow_empty: bool = True) -> dict[str, Any]:
    """The request's JSON object body (``{}`` if empty and allowed)."""
    if (request.content_length or 0) > MAX_JSON:
        raise ApiError(413, "body_too_large", "the JSON body is larger than 1 MiB")
    raw = request.get_data(cache=True)
    if not raw.strip():
        if allow_empty:
            return {}
        raise ApiError(400, "invalid_json", "the request body is empty; send a JSON object")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the body is not UTF-8 text") from None
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", f"expected a JSON object, got {type(data).__name__}")
    return data


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "invalid_field", f"{key}: expected a non-empty string")
    return value.strip()


def trade_json(sandbox: Sandbox, trade: Trade) -> dict[str, Any]:
    return {
        "app_id": trade.app_id,
        "out_trade_no": trade.out_trade_no,
        "trade_no": trade.trade_no,
        "method": trade.method,
        "trade_status": trade.status,
        "total_amount": format_amount(trade.total),
        "refunded_amount": format_amount(trade.refunded),
        "subject": trade.subject,
        "notify_url": trade.notify_url,
        "return_url": trade.return_url,
        "buyer": trade.buyer_login or None,
        "buyer_id": trade.buyer_id or None,
        "created_at": fmt(trade.created_at),
        "expires_at": fmt(trade.expires_at),
        "paid_at": fmt(trade.paid_at) if trade.paid_at is not None else None,
        "closed_at": fmt(trade.closed_at) if trade.closed_at is not None else None,
        "close_reason": trade.close_reason or None,
        "refunds": [
            {
                "out_request_no": r.out_request_no,
                "refund_amount": format_amount(r.amount),
                "reason": r.reason,
                "time": fmt(r.created_at),
            }
            for r in sandbox.trades.refunds(trade.id)
        ],
    }


def app_json(app: App) -> dict[str, Any]:
    return {
        "app_id": app.app_id,
        "seller_id": app.seller_id,
        "seller_email": app.seller_email,
        "merchant_name": app.merchant_name,
        "app_public_key": app.app_public_key,
        "app_cert": app.cert_pem,
        "app_cert_sn": app.cert_sn,
        "seller_balance": format_amount(app.balance),
    }


def info(sandbox: Sandbox, request: Request) -> Response:
    app = sandbox.accounts.default_app()
    accounts = sandbox.accounts
    return json_response(
        {
            "gateway_url": sandbox.gateway_url(request),
            "alipay_public_key": accounts.alipay_public_key_pem,
            "app_id": app.app_id,
            "seller_id": app.seller_id,
            "seller_email": app.seller_email,
            "sign_type": "RSA2",
            "default_app": app_json(app),
            "certificates": {
                "app_cert_sn": app.cert_sn,
                "alipay_cert_sn": accounts.alipay_cert_sn,
                "alipay_root_cert_sn": accounts.root_cert_sn,
                "alipay_public_cert": accounts.alipay_cert_pem,
                "alipay_root_cert": accounts.root_cert_pem,
            },
            "data_dir": str(sandbox.data_dir),
            "key_files": sandbox.key_files(),
            "buyers": [
                {
                    "login": b.login,
                    "password": BUYER_PASSWORD,
                    "user_id": b.user_id,
                    "balance": format_amount(b.balance),
                }
                for b in sandbox.accounts.buyers()
            ],
            "time_scale": sandbox.clock.scale,
            "timestamp_skew": sandbox.timestamp_skew,
            "now": fmt(sandbox.clock.now()),
            "notify_triggers": sandbox.notifier.triggers(),
        }
    )


def apps(sandbox: Sandbox, request: Request) -> Response:
    if request.method == "GET":
        return json_response({"apps": [app_json(a) for a in sandbox.accounts.apps()]})
    data = read_json(request, allow_empty=False)
    unknown = set(data) - {"app_public_key", "app_id", "merchant_name"}
    if unknown:
        raise ApiError(400, "invalid_field", f"unknown field(s): {', '.join(sorted(unknown))}")
    key = data.get("app_public_key")
    if not isinstance(key, str) or not key.strip():
        raise ApiError(
            400, "invalid_field", "app_public_key: expected the app's public key (PEM or base64)"
        )
    try:
        app = sandbox.accounts.register_app(
            key, _optional_str(data, "app_id"), _optional_str(data, "merchant_name")
        )
    except AccountError as exc:
        raise ApiError(400, exc.code, exc.message) from None
    return json_response(app_json(app), 201)


def seller_balance(sandbox: Sandbox, request: Request, app_id: str) -> Response:
    """Set what a merchant holds: refunds above it fail with ACQ.SELLER_BALANCE_NOT_ENOUGH."""
    data = read_json(request, allow_empty=False)
    if set(data) != {"balance"}:
        raise ApiError(400, "invalid_field", 'expected {"balance": "123.45"}')
    try:
        balance = parse_money(data["balance"], field="balance")
    except AmountError as exc:
        raise ApiError(400, "invalid_field", str(exc)) from None
    try:
        app = sandbox.accounts.set_seller_balance(app_id, balance)
    except AccountError as exc:
        raise ApiError(404, exc.code, exc.message) from None
    return json_response(app_json(app))


def reset(sandbox: Sandbox, request: Request) -> Response:
    if read_json(request):
        raise ApiError(400, "invalid_field", "reset takes no fields; send {} or nothing")
    sandbox.reset()
    return json_response({"reset": True, "now": fmt(sandbox.clock.now())})


def pay(sandbox: Sandbox, request: Request, app_id: str, out_trade_no: str) -> Response:
    data = read_json(request)
    unknown = set(data) - {"buyer"}
    if unknown:
        raise ApiError(400, "invalid_field", f"unknown field(s): {', '.join(sorted(unknown))}")
    login = _optional_str(data, "buyer") or DEFAULT_BUYERS[0][0]
    if sandbox.accounts.app(app_id) is None:
        raise ApiError(404, "unknown_app", f"no app {app_id!r} in this sandbox")
    buyer = sandbox.accounts.buyer(login)
    if buyer is None:
        raise ApiError(404, "unknown_buyer", f"no sandbox buyer {login!r}")
    session = sandbox.trades.latest_session(app_id, out_trade_no)
    if session is None:
        raise ApiError(
            404,
            "trade_not_found",
            f"no trade {out_trade_no!r} reached the gateway for app {app_id}: send the page pay, "
            "wap pay or precreate request to the gateway first",
        )
    try:
        trade = sandbox.trades.open_session(session.token)
        paid, url = pay_trade(sandbox, trade, buyer)
    except TradeError as exc:
        raise ApiError(409, exc.sub_code, exc.sub_msg) from None
    except PayError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    body = trade_json(sandbox, paid)
    body["return_url"] = url
    return json_response(body)


def trades(sandbox: Sandbox, request: Request) -> Response:
    found = sandbox.trades.list(request.args.get("app_id"), request.args.get("out_trade_no"))
    return json_response({"trades": [trade_json(sandbox, t) for t in found]})


def trade(sandbox: Sandbox, request: Request, app_id: str, out_trade_no: str) -> Response:
    found = sandbox.trades.by_out_trade_no(app_id, out_trade_no)
    if found is None:
        raise ApiError(404, "trade_not_found", f"no trade {out_trade_no!r} for app {app_id!r}")
    return json_response(trade_json(sandbox, found))


def notifications(sandbox: Sandbox, request: Request) -> Response:
    app_id = request.args.get("app_id") or None
    out_trade_no = request.args.get("out_trade_no") or None
    return json_response(
        {
            "attempts": sandbox.notifier.attempts(app_id, out_trade_no),
            "notifications": sandbox.notifier.notifications(app_id, out_trade_no),
        }
    )


def abandon_notifications(sandbox: Sandbox, request: Request) -> Response:
    data = read_json(request)
    unknown = set(data) - {"app_id", "out_trade_no"}
    if unknown:
        raise ApiError(400, "invalid_field", f"unknown field(s): {', '.join(sorted(unknown))}")
    for key in ("app_id", "out_trade_no"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ApiError(400, "invalid_field", f"{key} must be a string")
    count = sandbox.notifier.abandon(data.get("app_id"), data.get("out_trade_no"))
    return json_response({"abandoned": count})


def faults(sandbox: Sandbox, request: Request) -> Response:
    if request.method == "GET":
        return json_response(sandbox.faults.current())
    try:
        state = sandbox.faults.update(read_json(request, allow_empty=False))
    except FaultError as exc:
        raise ApiError(400, "invalid_fault", str(exc)) from None
    return json_response(state)


def clock(sandbox: Sandbox, request: Request) -> Response:
    if request.method == "POST":
        data = read_json(request, allow_empty=False)
        unknown = set(data) - {"advance_seconds", "deliver", "reset", "now"}
        if unknown:
            raise ApiError(400, "invalid_field", f"unknown field(s): {', '.join(sorted(unknown))}")
        moves = {"advance_seconds", "reset", "now"} & set(data)
        if len(moves) != 1:
            raise ApiError(
                400,
                "invalid_field",
                'give exactly one of "advance_seconds", "reset": true or "now": '
                '"yyyy-MM-dd HH:mm:ss"',
            )
        if "reset" in data:
            if data["reset"] is not True:
                raise ApiError(400, "invalid_field", "reset: expected true")
            sandbox.set_clock(None)
        elif "now" in data:
            text = data["now"]
            when = parse_beijing(text) if isinstance(text, str) else None
            if when is None:
                raise ApiError(
                    400, "invalid_field", "now: expected a Beijing time 'yyyy-MM-dd HH:mm:ss'"
                )
            sandbox.set_clock(when)
        else:
            seconds = data["advance_seconds"]
            if (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not math.isfinite(seconds)
                or seconds < 0
                or seconds > 10 * 365 * 86400
            ):
                raise ApiError(
                    400,
                    "invalid_field",
                    'advance_seconds: expected a number of seconds >= 0 (to go back, use "now" '
                    'or "reset")',
                )
            deliver = data.get("deliver", True)
            if not isinstance(deliver, bool):
                raise ApiError(400, "invalid_field", "deliver: expected true or false")
            sandbox.advance_clock(float(seconds), deliver=deliver)
    now = sandbox.clock.now()
    return json_response({"now": fmt(now), "timestamp": now, "time_scale": sandbox.clock.scale})


def settings(sandbox: Sandbox, request: Request) -> Response:
    if request.method == "POST":
        data = read_json(request, allow_empty=False)
        unknown = set(data) - {"notify_triggers"}
        if unknown:
            raise ApiError(400, "invalid_field", f"unknown field(s): {', '.join(sorted(unknown))}")
        try:
            sandbox.notifier.set_triggers(data.get("notify_triggers", {}))
        except TriggerError as exc:
            raise ApiError(400, "invalid_field", str(exc)) from None
    return json_response({"notify_triggers": sandbox.notifier.triggers()})


def buyers(sandbox: Sandbox, request: Request, login: str | None = None) -> Response:
    if login is not None:
        data = read_json(request, allow_empty=False)
        if set(data) != {"balance"}:
            raise ApiError(400, "invalid_field", 'expected {"balance": "123.45"}')
        try:
            balance = parse_money(data["balance"], field="balance")
        except AmountError as exc:
            raise ApiError(400, "invalid_field", str(exc)) from None
        try:
            sandbox.accounts.set_balance(login, balance)
        except AccountError as exc:
            raise ApiError(404, exc.code, exc.message) from None
    return json_response(
        {
            "buyers": [
                {"login": b.login, "user_id": b.user_id, "balance": format_amount(b.balance)}
                for b in sandbox.accounts.buyers()
            ]
        }
    )


def paid_trade(sandbox: Sandbox, request: Request) -> Response:
    """``POST /sandbox/api/bills/paid-trade``: a trade paid here and announced nowhere (see
    :func:`zhifu.sandbox.bills.make_paid_trade`)."""
    from .bills import make_paid_trade

    data = read_json(request, allow_empty=False)
    unknown = set(data) - {"app_id", "out_trade_no", "amount", "subject", "buyer"}
    if unknown:
        raise ApiError(400, "invalid_field", f"unknown field(s): {', '.join(sorted(unknown))}")
    out_trade_no = _optional_str(data, "out_trade_no")
    amount = data.get("amount")
    if out_trade_no is None or not isinstance(amount, str):
        raise ApiError(
            400, "invalid_field", 'give "out_trade_no" and "amount" (a string such as "0.01")'
        )
    app_id = _optional_str(data, "app_id") or sandbox.accounts.default_app().app_id
    try:
        trade_no = make_paid_trade(
            sandbox,
            app_id=app_id,
            out_trade_no=out_trade_no,
            amount=amount,
            subject=_optional_str(data, "subject") or "sandbox-only trade",
            buyer=_optional_str(data, "buyer"),
        )
    except LookupError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except ValueError as exc:
        raise ApiError(409 if "already" in str(exc) else 400, "invalid_trade", str(exc)) from None
    found = sandbox.trades.by_out_trade_no(app_id, out_trade_no)
    assert found is not None and found.trade_no == trade_no
    return json_response(trade_json(sandbox, found), 201)


def error_response(exc: ApiError) -> Response:
    return json_error(exc.status, exc.code, exc.message)
