"""The sandbox as one WSGI application: routing, and the parts wired together."""

from __future__ import annotations

import math
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from . import bills, control_api
from .accounts import (
    ALIPAY_PUBLIC_CERT_FILE,
    ALIPAY_PUBLIC_KEY_FILE,
    ALIPAY_ROOT_CERT_FILE,
    APP_CERT_FILE,
    APP_PRIVATE_KEY_FILE,
    APP_PUBLIC_KEY_FILE,
    SANDBOX_JSON,
    Accounts,
    SandboxKeys,
)
from .cashier import handle_cashier
from .clock import Clock
from .control_api import ApiError
from .dashboard import handle_dashboard
from .faults import Faults
from .gateway import handle_gateway
from .notifier import Notifier
from .store import Store
from .trades import Trades
from .transfers import forget_transfers
from .web import json_error
from .wechat import WechatSandbox
from .wechat.control import handle_control as wechat_control
from .wechat.gateway import handle_v3
from .wechat.pages import handle_page as wechat_page

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["DEFAULT_TIMESTAMP_SKEW", "Sandbox"]

# How far a request's ``timestamp`` may be from Beijing wall-clock time (seconds; 0: unchecked).
# Alipay documents no window; a client on a UTC host that formats local time is 8 h off and is
# refused by Alipay (reference section 1.3), which this catches while tolerating skewed clocks.
DEFAULT_TIMESTAMP_SKEW = 900.0


_ANY = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _rules() -> list[Rule]:
    return [
        Rule("/", endpoint="home"),
        Rule("/gateway.do", endpoint="gateway", methods=["GET", "POST"]),
        Rule("/cashier/<token>", endpoint="cashier", methods=["GET", "POST"]),
        Rule("/sandbox/", endpoint="dashboard"),
        Rule("/sandbox/api/info", endpoint="info"),
        Rule("/sandbox/api/apps", endpoint="apps", methods=["GET", "POST"]),
        Rule("/sandbox/api/apps/<app_id>/balance", endpoint="seller_balance", methods=["POST"]),
        Rule("/sandbox/api/reset", endpoint="reset", methods=["POST"]),
        Rule("/sandbox/api/trades", endpoint="trades"),
        Rule("/sandbox/api/trades/<app_id>/<out_trade_no>", endpoint="trade"),
        Rule("/sandbox/api/trades/<app_id>/<out_trade_no>/pay", endpoint="pay", methods=["POST"]),
        Rule("/sandbox/api/notifications", endpoint="notifications"),
        Rule(
            "/sandbox/api/notifications/abandon",
            endpoint="abandon_notifications",
            methods=["POST"],
        ),
        Rule("/sandbox/api/faults", endpoint="faults", methods=["GET", "POST"]),
        Rule("/sandbox/api/clock", endpoint="clock", methods=["GET", "POST"]),
        Rule("/sandbox/api/settings", endpoint="settings", methods=["GET", "POST"]),
        Rule("/sandbox/api/buyers", endpoint="buyers"),
        Rule("/sandbox/api/buyers/<login>", endpoint="buyer", methods=["POST"]),
        Rule(bills.DOWNLOAD_PATH, endpoint="alipay_bill_download"),
        Rule("/sandbox/api/bills/paid-trade", endpoint="paid_trade", methods=["POST"]),
        # WeChat Pay API v3 and its pages (src/zhifu/sandbox/wechat/)
        Rule("/v3/<path:rest>", endpoint="wechat_v3", methods=_ANY),
        Rule("/sandbox/api/wechat/<path:rest>", endpoint="wechat_control", methods=_ANY),
        Rule("/wechat/scan", endpoint="wechat_scan"),
        Rule("/wechat/pay/<token>", endpoint="wechat_pay", methods=["GET", "POST"]),
        Rule("/wechat/jsbridge.js", endpoint="wechat_jsbridge"),
        Rule("/wechat/jsapi/check", endpoint="wechat_jsapi_check", methods=["POST", "OPTIONS"]),
        Rule("/cgi-bin/mmpayweb-bin/checkmweb", endpoint="wechat_h5"),
        Rule("/connect/oauth2/authorize", endpoint="wechat_authorize"),
        Rule("/sns/oauth2/access_token", endpoint="wechat_access_token"),
    ]


class Sandbox:
    """Everything one sandbox holds. Call :meth:`start` to run the notifier thread."""

    def __init__(
        self,
        data_dir: Path,
        time_scale: float = 1.0,
        *,
        timestamp_skew: float = DEFAULT_TIMESTAMP_SKEW,
        keys: SandboxKeys | None = None,
    ) -> None:
        if (
            isinstance(timestamp_skew, bool)
            or not isinstance(timestamp_skew, int | float)
            or not math.isfinite(timestamp_skew)
            or timestamp_skew < 0
        ):
            raise ValueError(
                f"timestamp_skew must be a number of seconds >= 0 (0: unchecked), "
                f"got {timestamp_skew!r}"
            )
        self.timestamp_skew = float(timestamp_skew)
        self.data_dir = Path(data_dir)
        self.store = Store(self.data_dir)
        offset = float(self.store.get_meta("clock_offset") or 0.0)
        self.clock = Clock(time_scale, offset)
        self.accounts = Accounts(self.store, self.clock, self.data_dir, keys)
        self.faults = Faults(self.store)
        self.notifier = Notifier(self.store, self.clock, self.accounts, self.faults)
        self.trades = Trades(self.store, self.clock, self.accounts, self.notifier.enqueue)
        self.notifier.on_tick = self.trades.expire_due
        self.wechat = WechatSandbox(
            self.store, self.clock, self.accounts, self.data_dir, keys, self.timestamp_skew
        )
        self.url_map = Map(_rules(), strict_slashes=False)
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self.notifier.start()
        self.wechat.start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.notifier.stop()
        self.wechat.stop()
        self.store.set_meta("clock_offset", repr(self.clock.offset()))
        self.store.close()

    def advance_clock(self, seconds: float, *, deliver: bool = True) -> None:
        self.clock.advance(seconds)
        self.store.set_meta("clock_offset", repr(self.clock.offset()))
        self.trades.expire_due()
        self.wechat.tick()
        if deliver:
            self.notifier.run_due()
            self.wechat.run_due()
        self.notifier.wake()
        self.wechat.notifier.wake()

    def set_clock(self, when: float | None) -> None:
        """Put the clock at ``when`` (epoch seconds; may be in the past), or back to real time
        if None. Trades already closed stay closed; pending retries keep their due times."""
        if when is None:
            self.clock.reset()
        else:
            self.clock.set(when)
        self.store.set_meta("clock_offset", repr(self.clock.offset()))
        self.trades.expire_due()
        self.notifier.wake()

    def reset(self) -> None:
        """Forget every trade, cashier session, refund, transfer and notification; faults, notification
        triggers, the clock, seller balances and the default buyers' balances back to their
        defaults. Apps, keys and certificates stay, so configured sites keep working."""
        self.notifier.abandon()  # and wait for deliveries in flight
        self.wechat.reset()
        with self.store.transaction() as db:
            for table in ("attempts", "notifications", "refunds", "trades", "sessions"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            forget_transfers(db)
            db.execute("UPDATE apps SET balance_fen = 0")
            db.execute("DELETE FROM meta WHERE key IN ('faults', 'notify_triggers')")
        self.accounts.reset_buyers()
        self.set_clock(None)

    # -- URLs -----------------------------------------------------------------------------------

    @staticmethod
    def base_url(request: Request) -> str:
        return request.host_url.rstrip("/")

    def gateway_url(self, request: Request) -> str:
        return self.base_url(request) + "/gateway.do"

    def cashier_url(self, request: Request, token: str) -> str:
        return f"{self.base_url(request)}/cashier/{token}"

    def key_files(self) -> dict[str, str]:
        return {
            "app_private_key": str(self.data_dir / APP_PRIVATE_KEY_FILE),
            "app_public_key": str(self.data_dir / APP_PUBLIC_KEY_FILE),
            "alipay_public_key": str(self.data_dir / ALIPAY_PUBLIC_KEY_FILE),
            "app_cert": str(self.data_dir / APP_CERT_FILE),
            "alipay_public_cert": str(self.data_dir / ALIPAY_PUBLIC_CERT_FILE),
            "alipay_root_cert": str(self.data_dir / ALIPAY_ROOT_CERT_FILE),
            "sandbox_json": str(self.data_dir / SANDBOX_JSON),
        }

    # -- WSGI -----------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        api = request.path.startswith("/sandbox/api")
        try:
            endpoint, args = adapter.match()
            return self._view(endpoint)(request, **args)
        except ApiError as exc:
            return control_api.error_response(exc)
        except (NotFound, MethodNotAllowed) as exc:
            if api:
                return json_error(
                    exc.code or 404, exc.name.lower().replace(" ", "_"), exc.description or exc.name
                )
            return exc.get_response()
        except HTTPException as exc:
            return exc.get_response()
        except Exception:  # noqa: BLE001 - answer, log, never show a traceback to the client
            traceback.print_exc(file=sys.stderr)
            if api:
                return json_error(500, "internal_error", "the sandbox failed; see its log")
            return Response(
                "zhifu sandbox: internal error (see its log)\n",
                status=500,
                content_type="text/plain; charset=utf-8",
            )

    def _view(self, endpoint: str) -> Callable[..., Response]:
        views: dict[str, Callable[..., Response]] = {
            "home": lambda request: redirect("/sandbox/", 302),
            "gateway": lambda request: handle_gateway(self, request),
            "cashier": lambda request, token: handle_cashier(self, request, token),
            "dashboard": lambda request: handle_dashboard(self, request),
            "info": lambda request: control_api.info(self, request),
            "apps": lambda request: control_api.apps(self, request),
            "seller_balance": lambda request, app_id: control_api.seller_balance(
                self, request, app_id
            ),
            "reset": lambda request: control_api.reset(self, request),
            "trades": lambda request: control_api.trades(self, request),
            "trade": lambda request, **kw: control_api.trade(self, request, **kw),
            "pay": lambda request, **kw: control_api.pay(self, request, **kw),
            "notifications": lambda request: control_api.notifications(self, request),
            "abandon_notifications": lambda request: control_api.abandon_notifications(
                self, request
            ),
            "faults": lambda request: control_api.faults(self, request),
            "clock": lambda request: control_api.clock(self, request),
            "settings": lambda request: control_api.settings(self, request),
            "buyers": lambda request: control_api.buyers(self, request),
            "buyer": lambda request, login: control_api.buyers(self, request, login),
            "alipay_bill_download": lambda request: bills.download(self, request),
            "paid_trade": lambda request: control_api.paid_trade(self, request),
            "wechat_v3": lambda request, rest: handle_v3(self.wechat, request),
            "wechat_control": lambda request, rest: wechat_control(self.wechat, request, rest),
            "wechat_scan": lambda request: wechat_page(self.wechat, request, "scan"),
            "wechat_pay": lambda request, token: wechat_page(self.wechat, request, "pay", token),
            "wechat_jsbridge": lambda request: wechat_page(self.wechat, request, "jsbridge"),
            "wechat_jsapi_check": lambda request: wechat_page(self.wechat, request, "jsapi_check"),
            "wechat_h5": lambda request: wechat_page(self.wechat, request, "h5"),
            "wechat_authorize": lambda request: wechat_page(self.wechat, request, "authorize"),
            "wechat_access_token": lambda request: wechat_page(
                self.wechat, request, "access_token"
            ),
        }
        return views[endpoint]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def __repr__(self) -> str:
        return f"<Sandbox {self.data_dir}>"
