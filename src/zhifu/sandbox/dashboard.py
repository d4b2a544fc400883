"""``GET /sandbox/``: a page listing trades, refunds and notification attempts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from .accounts import BUYER_PASSWORD
from .clock import fmt
from .transfers import transfers
from .web import render

if TYPE_CHECKING:
    from .app import Sandbox

__all__ = ["handle_dashboard"]


def handle_dashboard(sandbox: Sandbox, request: Request) -> Response:
    trades = sandbox.trades.list(limit=100)
    refunds = [(t, r) for t in trades for r in sandbox.trades.refunds(t.id)]
    attempts = list(reversed(sandbox.notifier.attempts()))[:100]
    return render(
        "dashboard.html",
        gateway_url=sandbox.gateway_url(request),
        apps=sandbox.accounts.apps(),
        default_app=sandbox.accounts.default_app(),
        buyers=sandbox.accounts.buyers(),
        password=BUYER_PASSWORD,
        trades=trades,
        refunds=refunds,
        transfers=transfers(sandbox, limit=100),
        attempts=attempts,
        faults=sandbox.faults.current(),
        now=fmt(sandbox.clock.now()),
        time_scale=sandbox.clock.scale,
        key_files=sandbox.key_files(),
        wechat_merchants=sandbox.wechat.keys.merchants(),
        wechat_orders=sandbox.wechat.orders.find(limit=100),
        wechat_refunds=sandbox.wechat.orders.refunds(limit=100),
        wechat_attempts=list(reversed(sandbox.wechat.notifier.attempts()))[:100],
        wechat_key_files=sandbox.wechat.keys.files(),
        wechat_public_key_id=sandbox.wechat.keys.public.serial,
    )
