"""Payments that touch the same rows in opposite orders, applied at the same instant by different
worker processes, must wait for each other, never deadlock (PostgreSQL aborts one of two
deadlocked transactions after ``deadlock_timeout``: that payment would answer 503 and wait for
Alipay's next retry, minutes later).

The shapes found under load (issue 10): goods counters updated in the order the client listed
the items; course ``students`` likewise; a buyer's two orders of one course creating the same
enrollment; two readers rewarding each other from their wallets.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.reliability.buyer import Answers, Buyers, Purchase
from tests.reliability.checks import doubles, lost

PAIRS = 6


def _setup(jobs: list[Any]) -> list[Purchase]:
    """Create and pay the orders (several at a time: setup, not what is measured)."""
    with ThreadPoolExecutor(4) as threads:
        return list(threads.map(lambda job: job(), jobs))


def _pay_all_at_once(buyers: Buyers, jobs: list[Any]) -> tuple[list[Purchase], Answers, str]:
    """Set up the orders, then deliver every payment's notification at the same time."""
    started = time.monotonic()
    purchases = _setup(jobs)
    forms = [buyers.notification(p) for p in purchases]
    ready = time.monotonic()
    answers = buyers.deliver([buyers.notify_job(form) for form in forms])
    took = f"(setup {ready - started:.0f} s, deliveries {time.monotonic() - ready:.1f} s)"
    return purchases, answers, took


def _report(
    buyers: Buyers,
    title: str,
    run: tuple[list[Purchase], Answers, str],
    state: dict[str, Any],
    goods: list[int] | None = None,
    course_buyers: dict[str, int] | None = None,
) -> tuple[list[str], list[str]]:
    """Print the test's figures; the problems found (double, lost)."""
    purchases, answers, took = run
    double = doubles(state, goods or [], course_buyers or {})
    missing = lost(state, [p.order for p in purchases])
    buyers.say(
        f"{title}: {len(purchases)} orders, {len(answers.replies)} deliveries at once: "
        f"{len(double)} double, {len(missing)} lost, {answers.unanswered} unanswered, "
        f"{len(answers.failures())} not success {answers.by_status()}; "
        f"errors {state['errors']} {took}"
    )
    return double, missing


def test_goods_listed_in_opposite_orders_do_not_deadlock(buyers: Buyers) -> None:
    rows = buyers.seed(users=["a", "b"], goods=8)
    goods = rows["goods"]
    a, b = rows["users"]["a"]["token"], rows["users"]["b"]["token"]
    jobs = []
    for _ in range(PAIRS):
        jobs.append(lambda: buyers.pay(buyers.goods_order(a, goods)))
        jobs.append(lambda: buyers.pay(buyers.goods_order(b, goods[::-1])))
    run = _pay_all_at_once(buyers, jobs)
    purchases, answers, _ = run
    state = buyers.audit(purchases, goods=goods)
    title = f"goods in opposite orders ({len(goods)} goods each)"
    double, missing = _report(buyers, title, run, state, goods=goods)
    assert answers.failures() == [], answers.failures()[:3]
    assert double == [] and missing == []
    assert set(state["goods_sold"].values()) == {len(purchases)}  # counted once per order


def test_courses_listed_in_opposite_orders_do_not_deadlock(buyers: Buyers) -> None:
    names = [f"u{i}" for i in range(2 * PAIRS)]
    rows = buyers.seed(users=names, courses=6)
    skus = [c["sku"] for c in rows["courses"]]
    tokens = [rows["users"][n]["token"] for n in names]
    # POST /api/orders/ keeps the lines in the order given (the course checkout sorts them)
    jobs = [
        (lambda t=t, i=i: buyers.pay(buyers.order(t, skus if i % 2 else skus[::-1])))
        for i, t in enumerate(tokens)
    ]
    run = _pay_all_at_once(buyers, jobs)
    purchases, answers, _ = run
    courses = [c["id"] for c in rows["courses"]]
    state = buyers.audit(purchases, courses=courses)
    title = f"courses in opposite orders ({len(skus)} courses each)"
    double, missing = _report(
        buyers, title, run, state, course_buyers={str(c): len(purchases) for c in courses}
    )
    assert answers.failures() == [], answers.failures()[:3]
    assert double == [] and missing == []
    assert set(state["students"].values()) == {len(purchases)}  # one buyer per order
    assert set(state["grants"].values()) == {len(skus)}


def test_two_orders_of_one_course_paid_at_once_enroll_once(buyers: Buyers) -> None:
    """The enrollment does not exist yet: both payments create it. One waits for the other and
    extends it; each order grants its days exactly once."""
    names = [f"u{i}" for i in range(PAIRS)]
    rows = buyers.seed(users=names, courses=2)
    skus = [c["sku"] for c in rows["courses"]]
    jobs = []
    for name in names:
        token = rows["users"][name]["token"]
        jobs.append(lambda t=token: buyers.pay(buyers.course_order(t, skus)))
        jobs.append(lambda t=token: buyers.pay(buyers.course_order(t, skus)))
    run = _pay_all_at_once(buyers, jobs)
    purchases, answers, _ = run
    courses = [c["id"] for c in rows["courses"]]
    state = buyers.audit(purchases, courses=courses)
    title = f"enrollment race ({len(names)} buyers × 2 orders of the same {len(skus)} courses)"
    double, missing = _report(
        buyers, title, run, state, course_buyers={str(c): len(names) for c in courses}
    )
    assert answers.failures() == [], answers.failures()[:3]
    assert double == [] and missing == []
    assert set(state["students"].values()) == {len(names)}  # people, not purchases
    assert set(state["grants"].values()) == {len(skus)}  # each order's days, once


def test_readers_rewarding_each_other_from_their_wallets_do_not_deadlock(buyers: Buyers) -> None:
    """Paying locks the payer's wallet, fulfilment the author's; refunding such a reward
    credits the payer and takes it back from the author. Crossing pairs of either must wait."""
    names = [f"r{i}" for i in range(2 * PAIRS)]
    rows = buyers.seed(
        users=names, wallet=dict.fromkeys(names, "100.00"), articles=names, staff=True
    )
    users = rows["users"]
    url = buyers.site.url + "/api/articles/{}/rewards/"
    rounds = 3
    jobs = []
    for _ in range(rounds):
        for i in range(0, len(names), 2):
            x, y = names[i], names[i + 1]
            for payer, author in ((x, y), (y, x)):
                body = {"amount": "1.00", "channel": "balance"}
                jobs.append(
                    ("json", (url.format(rows["articles"][author]), users[payer]["token"], body))
                )
    answers = buyers.deliver(jobs)
    paid = [json.loads(body) for s, body in answers.replies if s == 201]
    ids = [users[n]["id"] for n in names]
    after_paying = buyers.audit([], users=ids)

    # staff refunds every reward at once: each refund crosses another one the other way
    staff = users["staff"]["token"]
    refunds = buyers.deliver(
        [
            (
                "json",
                (buyers.site.url + "/api/refunds/", staff, {"out_trade_no": p["out_trade_no"]}),
            )
            for p in paid
        ]
    )
    state = buyers.audit([p["out_trade_no"] for p in paid], users=ids)
    refunded = sum(1 for o in state["orders"].values() if o["status"] == "refunded")
    buyers.say(
        f"wallet rewards crossing: {len(jobs)} rewards between {len(names) // 2} pairs paid at "
        f"once: {answers.by_status()}, {len(paid)} paid; then all refunded at once: "
        f"{refunds.by_status()}, {refunded} refunded; "
        f"{state['wallet_mismatches']} ledger mismatches"
    )
    assert answers.by_status() == {201: len(jobs)}, answers.failures()[:3]
    assert all(p["paid"] for p in paid)
    assert set(after_paying["wallets"].values()) == {"100.00"}  # each gave and received as much
    assert refunds.by_status() == {201: len(paid)}, refunds.failures()[:3]
    assert refunded == len(paid)
    assert state["wallet_mismatches"] == 0
    assert set(state["wallets"].values()) == {"100.00"}
