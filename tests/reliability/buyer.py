"""What buyers, Alipay and WeChat Pay do to the site in these tests, over real HTTP: orders of
every kind through the demo's API, the cashier (or WeChat's H5 page and wallet) at the sandbox,
signed notifications delivered from a pool of processes, and the browser's return."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from tests.reliability import workers
from tests.reliability.stack import Site, attempt_number
from zhifu.wechatpay import response_headers


@dataclass
class Purchase:
    order: str  # the order's out_trade_no
    attempt: str  # the payment attempt's out_trade_no (what the gateway knows)
    pay_url: str
    token: str
    return_url: str = ""
    channel: str = "alipay_page"

    @property
    def wechat(self) -> bool:
        return self.channel.startswith("wechat_")


@dataclass
class Answers:
    """The site's answers to a batch of deliveries (``kinds``: each job's kind, see
    ``workers.call``; a WeChat notification is acknowledged by a 204, an Alipay one by 200
    ``success``)."""

    replies: list[tuple[int, str]]
    kinds: list[str] = field(default_factory=list)

    def _acknowledged(self, i: int) -> bool:
        status, body = self.replies[i]
        if i < len(self.kinds) and self.kinds[i] == "wechat":
            return status == 204
        return status == 200 and body == "success"

    @property
    def success(self) -> int:
        return sum(1 for i in range(len(self.replies)) if self._acknowledged(i))

    @property
    def unanswered(self) -> int:
        return sum(1 for status, _ in self.replies if status == 0)

    def by_status(self) -> dict[int, int]:
        return dict(Counter(status for status, _ in self.replies))

    def failures(self) -> list[tuple[int, str]]:
        return [r for i, r in enumerate(self.replies) if not self._acknowledged(i)]


class Buyers:
    def __init__(
        self,
        site: Site,
        gateway: Any,
        pool: ProcessPoolExecutor,
        say: Callable[[str], None],
    ) -> None:
        self.site = site
        self.gateway = gateway
        self.pool = pool
        self.say = say
        self.http = httpx.Client(base_url=site.url, timeout=60)

    # -- the site's own rows -----------------------------------------------------------------

    def seed(self, **spec: Any) -> dict[str, Any]:
        rows: dict[str, Any] = self.site.run("seed", {"prefix": uuid.uuid4().hex[:8], **spec})
        return rows

    def audit(self, orders: list[Purchase] | list[str], **rows: Any) -> dict[str, Any]:
        numbers = [p.order if isinstance(p, Purchase) else p for p in orders]
        state: dict[str, Any] = self.site.run("audit", {"orders": numbers, **rows})
        return state

    # -- the buyer, through the API ------------------------------------------------------------

    def api(self, token: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(
            path, json=body or {}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        answer: dict[str, Any] = response.json()
        return answer

    def start(self, token: str, order: str, channel: str = "alipay_page") -> Purchase:
        """Start paying ``order`` and open the cashier (the trade now exists at the gateway).

        WeChat Pay: the order is placed at WeChat when the payment starts; the buyer's phone
        opens the H5 page (``wechat_h5``, which leads to the wallet) or scans the code
        (``wechat_native``)."""
        pay = self.api(token, f"/api/orders/{order}/pay/", {"channel": channel})
        if channel.startswith("wechat_"):
            purchase = Purchase(order, pay["payment_out_trade_no"], "", token, channel=channel)
            if channel == "wechat_h5":
                url = purchase.pay_url = pay["pay_url"]
            else:
                url = f"{self.gateway.url}/wechat/scan?code_url={quote(pay['qr_code'], safe='')}"
        else:
            url = pay["pay_url"]
            purchase = Purchase(order, attempt_number(url), url, token)
        cashier = httpx.get(url, follow_redirects=True, timeout=60)
        assert cashier.status_code == 200, cashier.text[:300]
        return purchase

    def order(
        self, token: str, skus: list[str], quantity: int = 1, channel: str = "alipay_page"
    ) -> Purchase:
        """An order of catalog items, its lines in the order given (``POST /api/orders/``)."""
        items = [{"sku": sku, "quantity": quantity} for sku in skus]
        order = self.api(token, "/api/orders/", {"items": items})["out_trade_no"]
        return self.start(token, order, channel)

    def goods_order(
        self, token: str, goods: list[int], quantity: int = 1, channel: str = "alipay_page"
    ) -> Purchase:
        return self.order(token, [f"goods:{pk}" for pk in goods], quantity, channel)

    def course_order(self, token: str, skus: list[str], channel: str = "alipay_page") -> Purchase:
        order = self.api(token, "/api/courses/checkout/", {"skus": skus})["out_trade_no"]
        return self.start(token, order, channel)

    def reward(
        self, token: str, article: int, amount: str = "1.00", channel: str = "alipay_page"
    ) -> Purchase:
        body = {"amount": amount, "channel": channel}
        order = self.api(token, f"/api/articles/{article}/rewards/", body)["out_trade_no"]
        return self.start(token, order, channel)

    def top_up(self, token: str, amount: str = "5.00", channel: str = "alipay_page") -> Purchase:
        order = self.api(token, "/api/wallet/top-up/", {"amount": amount})["out_trade_no"]
        return self.start(token, order, channel)

    # -- Alipay -----------------------------------------------------------------------------

    def pay(self, purchase: Purchase) -> Purchase:
        """The buyer pays at the cashier; the sandbox records the signed notification (not sent:
        the tests deliver it) and gives the browser's return URL. In WeChat's wallet: the
        notification is recorded the same way; after H5 the browser goes to the
        ``redirect_url`` the site gave (unsigned: the site asks WeChat)."""
        if purchase.wechat:
            self.gateway.wechat_pay(purchase.attempt)
            if purchase.pay_url:
                query = parse_qs(urlsplit(purchase.pay_url).query)
                purchase.return_url = query.get("redirect_url", [""])[0]
            return purchase
        purchase.return_url = self.gateway.pay(purchase.attempt)
        return purchase

    def notification(self, purchase: Purchase, status: str = "TRADE_SUCCESS") -> dict[str, str]:
        """The signed form Alipay sends for ``purchase`` (the first one with ``status``)."""
        for attempt in self.gateway.wait_for_notifications(purchase.attempt, 1):
            if attempt["form"].get("trade_status") == status:
                return dict(attempt["form"])
        raise AssertionError(f"no {status} notification for {purchase.attempt}")

    def deliver(self, jobs: list[tuple[str, Any]]) -> Answers:
        """Run the jobs (see ``workers.call``) from the pool's processes, all at once."""
        return Answers(list(self.pool.map(workers.call, jobs)), [kind for kind, _ in jobs])

    def notify_job(self, form: dict[str, str]) -> tuple[str, Any]:
        return ("form", (self.site.notify_url, form))

    # -- WeChat Pay ---------------------------------------------------------------------------

    def wechat_notification(
        self, purchase: Purchase, event: str = "TRANSACTION.SUCCESS", *, timeout: float = 10.0
    ) -> tuple[str, bytes]:
        """The notification WeChat made for ``purchase`` (the first with ``event``): its id and
        its body, the resource encrypted with the merchant's APIv3 key. Not sent (the sandbox
        drops it): each delivery is signed afresh by :meth:`wechat_notify_job`, as WeChat signs
        every attempt anew."""
        for attempt in self.gateway.wait_for_wechat_notifications(
            purchase.attempt, 1, timeout=timeout
        ):
            if attempt["event_type"] == event:
                return str(attempt["id"]), str(attempt["body"]).encode("utf-8")
        raise AssertionError(f"no {event} notification for {purchase.attempt}")

    def wechat_event(
        self, purchase: Purchase, event: str, *, timeout: float = 30.0
    ) -> tuple[str, bytes]:
        """:meth:`wechat_notification`, waiting until WeChat has made one with ``event`` (a
        refund's ``REFUND.SUCCESS`` comes seconds after the refund)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.wechat_notification(purchase, event, timeout=0)
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def wechat_notify_job(self, body: bytes) -> tuple[str, Any]:
        """One delivery of a WeChat notification, signed now by the sandbox's WeChat Pay key
        (the key the merchant's mode picks, a fresh timestamp and nonce)."""
        wx = self.gateway.running.sandbox.wechat
        key = wx.keys.notification_key(wx.keys.default())
        headers = response_headers(key.private_key, key.serial, body)
        headers["Content-Type"] = "application/json"
        return ("wechat", (self.site.wechat_notify_url, headers, body))


def abandon_wechat_notifications(gateway: Any) -> int:
    """Stop every pending WeChat retry (the control API; ``SandboxServer`` has the Alipay one)."""
    answer = httpx.post(
        gateway.url + "/sandbox/api/wechat/notifications/abandon", json={}, timeout=60
    )
    answer.raise_for_status()
    return int(answer.json()["abandoned"])
