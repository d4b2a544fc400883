"""The cashier (收银台): what the buyer's browser sees after a page/wap pay or a QR scan.

Opening it creates the trade (Alipay creates page-pay trades only when the buyer opens the
cashier). A sandbox buyer logs in with login and password and pays from their balance; the
browser is then redirected to ``return_url`` with the signed return parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from .accounts import BUYER_PASSWORD, Buyer
from .messages import return_url
from .trades import PayError, Trade, TradeError
from .web import qr_data_uri, render

if TYPE_CHECKING:
    from .app import Sandbox

__all__ = ["handle_cashier", "pay_trade"]


def pay_trade(sandbox: Sandbox, trade: Trade, buyer: Buyer) -> tuple[Trade, str | None]:
    """Pay ``trade`` as ``buyer``; return the paid trade and the signed return URL (if any)."""
    paid = sandbox.trades.pay(trade.id, buyer)
    app = sandbox.accounts.app(paid.app_id)
    assert app is not None
    url = return_url(paid, app, sandbox.accounts.signer(paid.sign_type), sandbox.clock.now())
    return paid, url


def handle_cashier(sandbox: Sandbox, request: Request, token: str) -> Response:
    try:
        trade = sandbox.trades.open_session(token)
    except TradeError as exc:
        node = {
            "code": "40004",
            "msg": "Business Failed",
            "sub_code": exc.sub_code,
            "sub_msg": exc.sub_msg,
        }
        status = 404 if sandbox.trades.session(token) is None else 200
        return render("error.html", status=status, node=node, method="cashier")
    error = ""
    login = ""
    if request.method == "POST":
        login = request.form.get("login", "").strip()
        password = request.form.get("password", "")
        buyer = sandbox.accounts.authenticate(login, password) if login else None
        if not login or not password:
            error = "请输入账户名和支付密码 (enter the buyer login and password)"
        elif buyer is None:
            error = "账户名或支付密码错误 (unknown login or wrong password)"
        else:
            try:
                trade, url = pay_trade(sandbox, trade, buyer)
            except PayError as exc:
                error = exc.message
            else:
                if url:
                    return redirect(url, code=303)
                return _page(sandbox, request, token, trade, "", login)
    return _page(sandbox, request, token, trade, error, login)


def _page(
    sandbox: Sandbox, request: Request, token: str, trade: Trade, error: str, login: str
) -> Response:
    app = sandbox.accounts.app(trade.app_id)
    url = sandbox.cashier_url(request, token)
    paid_return = None
    if trade.is_paid and app is not None:
        paid_return = return_url(
            trade, app, sandbox.accounts.signer(trade.sign_type), sandbox.clock.now()
        )
    return render(
        "cashier.html",
        trade=trade,
        merchant=app.merchant_name if app else trade.app_id,
        cashier_url=url,
        qr=qr_data_uri(url),
        error=error,
        login=login,
        buyers=sandbox.accounts.buyers(),
        password_hint=BUYER_PASSWORD,
        paid_return=paid_return,
    )
