"""The WeChat side of one sandbox: keys, faults, orders, notifier, wired together."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zhifu.wechatpay import response_headers

from ..accounts import Accounts, SandboxKeys
from ..clock import Clock
from ..store import Store
from .faults import WechatFaults
from .keys import Merchant, WechatKeys
from .notifier import PROBE, WechatNotifier
from .orders import Orders, openid_for

__all__ = ["WechatSandbox"]

MAX_REQUEST_SKEW = 300  # seconds, as merchants apply to WeChat (reference 2.3)


class WechatSandbox:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        accounts: Accounts,
        data_dir: Path,
        keys: SandboxKeys | None,
        timestamp_skew: float,
    ) -> None:
        self.store = store
        self.clock = clock
        self.accounts = accounts
        # 0 turns the window off, as for Alipay; otherwise at most WeChat's 300 s
        self.timestamp_skew = (
            max(1, min(MAX_REQUEST_SKEW, int(timestamp_skew))) if timestamp_skew else 10**12
        )
        self.keys = WechatKeys(
            store,
            clock,
            data_dir,
            merchant_key=keys.wechat_merchant if keys else None,
            public_key=keys.wechat_public if keys else None,
            platform_key=keys.wechat_platform if keys else None,
        )
        self.faults = WechatFaults(store)
        self.notifier = WechatNotifier(store, clock, self.keys, self.faults)
        self.orders = Orders(store, clock, accounts, self.keys, self.faults, self.notifier.enqueue)
        self.notifier.on_tick = self.tick

    def tick(self) -> None:
        self.orders.expire_due()
        self.orders.settle_due()

    def start(self) -> None:
        self.notifier.start()

    def stop(self) -> None:
        self.notifier.stop()

    def run_due(self) -> None:
        self.notifier.run_due()

    def reset(self) -> None:
        """Forget orders, refunds and notifications; faults back to none. Merchants, keys and
        modes stay (a configured site keeps working)."""
        self.notifier.abandon()
        with self.store.transaction() as db:
            for table in (
                "wx_attempts",
                "wx_notifications",
                "wx_refunds",
                "wx_prepays",
                "wx_orders",
            ):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        self.faults.reset()
        self.orders.set_paid_order_error(None)

    def sign_answer(
        self, merchant: Merchant, request_serial: str | None, body: bytes, path: str | None
    ) -> dict[str, str]:
        """The ``Wechatpay-*`` headers of an answer; ``path`` set for 2xx (response faults)."""
        key = self.keys.signing_key(merchant, request_serial)
        headers = response_headers(key.private_key, key.serial, body)
        if path is not None:
            if self.faults.take("signtest_responses", path):
                headers["Wechatpay-Signature"] = PROBE + headers["Wechatpay-Signature"]
            elif self.faults.take("corrupt_responses", path):
                signature = headers["Wechatpay-Signature"]
                headers["Wechatpay-Signature"] = ("A" if signature[0] != "A" else "B") + signature[
                    1:
                ]
        return headers

    def users(self, appid: str) -> list[dict[str, Any]]:
        """The sandbox users (the Alipay buyers, same balances) with their openid for ``appid``."""
        return [
            {
                "login": b.login,
                "name": b.name,
                "openid": openid_for(appid, b.login),
                "balance": f"{b.balance:.2f}",
            }
            for b in self.accounts.buyers()
        ]

    def write_files(self, base_url: str, sandbox_json: Path) -> dict[str, Any]:
        section = self.keys.write_files(base_url, sandbox_json)
        # the WeChat users: the sandbox buyers, each with an openid for the default appid
        users = [
            {"login": u["login"], "openid": u["openid"]}
            for u in self.users(self.keys.default().appid)
        ]
        info = json.loads(sandbox_json.read_text(encoding="utf-8"))
        info["wechatpay"]["users"] = users
        sandbox_json.write_text(
            json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        section["users"] = users
        return section
