"""What buyers and Alipay do to the site in these tests, over real HTTP: orders of every kind
through the demo's API, the cashier at the sandbox, signed notifications delivered from a pool
of processes, and the browser's return."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from tests.reliability import workers
from tests.reliability.stack import Site, attempt_number


@dataclass
class Purchase:
    order: str  # the order's out_trade_no
    attempt: str  # the payment attempt's out_trade_no (what Alipay knows)
    pay_url: str
    token: str
    return_url: str = ""


@dataclass
class Answers:
    """The site's answers to a batch of deliveries."""

    replies: list[tuple[int, str]]

    @property
    def success(self) -> int:
        return sum(1 for status, body in self.replies if status == 200 and body == "success")

    @property
    def unanswered(self) -> int:
        return sum(1 for status, _ in self.replies if status == 0)

    def by_status(self) -> dict[int, int]:
        return dict(Counter(status for status, _ in self.replies))

    def failures(self) -> list[tuple[int, str]]:
        return [(s, b) for s, b in self.replies if not (s == 200 and b == "success")]


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
        """Start paying ``order`` and open the cashier (the trade now exists at the gateway)."""
        pay = self.api(token, f"/api/orders/{order}/pay/", {"channel": channel})
        url = pay["pay_url"]
        purchase = Purchase(order, attempt_number(url), url, token)
        cashier = httpx.get(url, follow_redirects=True, timeout=60)
        assert cashier.status_code == 200, cashier.text[:300]
        return purchase

    def order(self, token: str, skus: list[str], quantity: int = 1) -> Purchase:
        """An order of catalog items, its lines in the order given (``POST /api/orders/``)."""
        items = [{"sku": sku, "quantity": quantity} for sku in skus]
        order = self.api(token, "/api/orders/", {"items": items})["out_trade_no"]
        return self.start(token, order)

    def goods_order(self, token: str, goods: list[int], quantity: int = 1) -> Purchase:
        return self.order(token, [f"goods:{pk}" for pk in goods], quantity)

    def course_order(self, token: str, skus: list[str]) -> Purchase:
        order = self.api(token, "/api/courses/checkout/", {"skus": skus})["out_trade_no"]
        return self.start(token, order)

    def reward(self, token: str, article: int, amount: str = "1.00") -> Purchase:
        body = {"amount": amount, "channel": "alipay_page"}
        order = self.api(token, f"/api/articles/{article}/rewards/", body)["out_trade_no"]
        return self.start(token, order)

    def top_up(self, token: str, amount: str = "5.00") -> Purchase:
        order = self.api(token, "/api/wallet/top-up/", {"amount": amount})["out_trade_no"]
        return self.start(token, order)

    # -- Alipay -----------------------------------------------------------------------------

    def pay(self, purchase: Purchase) -> Purchase:
        """The buyer pays at the cashier; the sandbox records the signed notification (not sent:
        the tests deliver it) and gives the browser's return URL."""
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
        return Answers(list(self.pool.map(workers.call, jobs)))

    def notify_job(self, form: dict[str, str]) -> tuple[str, Any]:
        return ("form", (self.site.notify_url, form))
