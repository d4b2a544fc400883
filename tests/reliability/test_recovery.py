"""Faults between Alipay and the site, and what recovers from them: worker processes SIGKILLed
while they apply payments (Alipay retries what was not acknowledged), every notification lost
(the reconcile job asks Alipay and pays every order), and payments that should not have
happened (a second payment of a paid order, a payment of a cancelled order) refunded."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import psycopg

from tests.conftest import wait_until
from tests.reliability import workers
from tests.reliability.buyer import Buyers, Purchase
from tests.reliability.checks import doubles, lost


def _buy_goods(buyers: Buyers, count: int, **seed: Any) -> tuple[dict[str, Any], list[Purchase]]:
    names = [f"b{i}" for i in range(count)]
    rows = buyers.seed(users=names, goods=2, **seed)
    with ThreadPoolExecutor(4) as threads:
        purchases = list(
            threads.map(
                lambda n: buyers.pay(buyers.goods_order(rows["users"][n]["token"], rows["goods"])),
                names,
            )
        )
    return rows, purchases


def test_workers_killed_while_applying_lose_and_double_nothing(buyers: Buyers) -> None:
    """Three notifications are stored and then held inside the pipeline (the test holds their
    orders' row locks) when every worker is SIGKILLed: they stay ``received``, their senders get
    no answer. Then, while more notifications arrive, gunicorn's new workers serve Alipay's
    retries, and the reconcile job processes what the killed workers had stored."""
    rows, purchases = _buy_goods(buyers, 6)
    forms = [buyers.notification(p) for p in purchases]
    site = buyers.site
    held = purchases[:3]  # one per worker
    with psycopg.connect(site.env["DATABASE_URL"]) as conn:
        conn.execute(
            "SELECT id FROM zhifu_order WHERE out_trade_no = ANY(%s) FOR UPDATE",
            [[p.order for p in held]],
        )
        pending = [buyers.pool.submit(workers.call, buyers.notify_job(f)) for f in forms[:3]]

        def stored() -> bool:
            with psycopg.connect(site.env["DATABASE_URL"]) as other:
                count = other.execute(
                    "SELECT count(*) FROM zhifu_notification WHERE outcome = 'received' "
                    "AND (" + " OR ".join(["body LIKE %s"] * len(held)) + ")",
                    [f"%{p.attempt}%" for p in held],
                ).fetchone()
            return bool(count and count[0] == len(held))

        assert wait_until(stored, timeout=30), "the held notifications were not stored"
        time.sleep(0.5)  # past the raw store, waiting for the order lock
        killed = site.worker_pids()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        cut = [future.result() for future in pending]
        conn.rollback()
    left_received = buyers.audit(purchases)["unprocessed"]

    # gunicorn replaces the workers; Alipay retries what got no "success", the other
    # notifications arrive for the first time, all at once
    assert wait_until(lambda: len(site.worker_pids()) == site.workers, timeout=60)
    second = buyers.deliver([buyers.notify_job(f) for f in forms for _ in range(2)])
    # what the killed workers stored but never processed, the reconcile job processes later
    swept = site.run("reconcile", {"hours": 1})["swept"]
    state = buyers.audit(purchases, goods=rows["goods"])
    double = doubles(state, rows["goods"], {})
    missing = lost(state, [p.order for p in purchases])
    buyers.say(
        f"workers SIGKILLed while applying: {len(killed)} workers killed holding "
        f"{len(cut)} notifications ({sum(1 for s, _ in cut if s == 0)} senders got no answer, "
        f"{left_received} left 'received'), then {len(second.replies)} deliveries of "
        f"{len(purchases)} orders and a reconcile run ({swept} swept): {len(double)} double, "
        f"{len(missing)} lost, {second.unanswered} unanswered, "
        f"{state['unprocessed']} left unprocessed"
    )
    assert [status for status, _ in cut] == [0] * len(held)
    assert left_received == len(held)
    assert second.failures() == [], second.failures()[:3]
    assert swept >= len(held) and state["unprocessed"] == 0
    assert double == []
    assert missing == []


def test_every_notification_lost_reconcile_pays_every_order(buyers: Buyers) -> None:
    names = [f"{kind}{i}" for kind in ("goods", "course", "reward", "topup") for i in range(2)]
    rows = buyers.seed(users=[*names, "author"], goods=2, courses=1, articles=["author"])
    tokens = {n: rows["users"][n]["token"] for n in names}

    def buy(name: str) -> Purchase:
        token = tokens[name]
        if name.startswith("goods"):
            return buyers.pay(buyers.goods_order(token, rows["goods"]))
        if name.startswith("course"):
            return buyers.pay(buyers.course_order(token, [rows["courses"][0]["sku"]]))
        if name.startswith("reward"):
            return buyers.pay(buyers.reward(token, rows["articles"]["author"], "2.00"))
        return buyers.pay(buyers.top_up(token, "4.00"))

    with ThreadPoolExecutor(4) as threads:
        purchases = list(threads.map(buy, names))
    before = buyers.audit(purchases)
    assert {o["status"] for o in before["orders"].values()} == {"pending"}  # nothing delivered

    report = buyers.site.run("reconcile")
    again = buyers.site.run("reconcile")
    course = rows["courses"][0]["id"]
    state = buyers.audit(purchases, goods=rows["goods"], courses=[course])
    double = doubles(state, rows["goods"], {str(course): 2})
    missing = lost(state, [p.order for p in purchases])
    buyers.say(
        f"notifications all lost: {len(purchases)} orders of 4 kinds paid at Alipay, 0 delivered; "
        f"reconcile checked {report['checked']}, paid {report['paid']} "
        f"(then {again['paid']} more): {len(double)} double, {len(missing)} lost"
    )
    assert report["paid"] == len(purchases) and report["errors"] == 0
    assert again["paid"] == 0
    assert double == []
    assert missing == []


def test_second_and_late_payments_are_refunded(buyers: Buyers) -> None:
    rows, (first, other) = _buy_goods(buyers, 2)
    token = rows["users"]["b0"]["token"]
    # The buyer pays, then (not seeing it yet) pays again from the phone: the first trade cannot
    # be closed any more, so the second one is paid too.
    second = buyers.pay(buyers.start(token, first.order, channel="alipay_wap"))
    # The other order is cancelled, but closing its trade at Alipay fails, and the buyer pays it.
    late_token = rows["users"]["b1"]["token"]
    extra = buyers.goods_order(late_token, rows["goods"][:1])
    buyers.gateway.faults(gateway_errors=3, methods=["alipay.trade.close"])
    buyers.api(late_token, f"/api/orders/{extra.order}/cancel/")
    buyers.gateway.faults(gateway_errors=0)
    buyers.pay(extra)

    purchases = [first, second, other, extra]
    forms = [buyers.notification(p) for p in purchases]
    answers = buyers.deliver([buyers.notify_job(f) for f in forms for _ in range(3)])

    def refunds_settled() -> dict[str, Any] | None:
        state = buyers.audit(purchases, goods=rows["goods"])
        statuses = [r["status"] for rs in state["refunds"].values() for r in rs]
        return state if len(statuses) == 2 and set(statuses) == {"succeeded"} else None

    state = wait_until(refunds_settled, timeout=30) or buyers.audit(purchases, goods=rows["goods"])
    orders = state["orders"]
    refunded_at_gateway = sum(
        Decimal(buyers.gateway.trade(p.attempt)["refunded_amount"]) for p in purchases
    )
    double = doubles(state, rows["goods"], {})
    buyers.say(
        f"surplus payments: 1 order paid twice + 1 paid after it was cancelled, "
        f"{len(answers.replies)} deliveries ({answers.by_status()}): refunds "
        f"{state['refunds']}, ¥{refunded_at_gateway} refunded at the gateway, {len(double)} double"
    )
    assert answers.failures() == []
    assert orders[first.order]["status"] == "paid"
    assert (orders[first.order]["paid_attempts"], orders[first.order]["extra_attempts"]) == (1, 1)
    assert orders[extra.order]["status"] == "cancelled"
    assert orders[extra.order]["extra_attempts"] == 1
    assert [r["automatic"] for r in state["refunds"][first.order]] == [True]
    assert [r["automatic"] for r in state["refunds"][extra.order]] == [True]
    assert {r["status"] for rs in state["refunds"].values() for r in rs} == {"succeeded"}
    total = Decimal(orders[first.order]["total"]) + Decimal(orders[extra.order]["total"])
    assert refunded_at_gateway == total
    assert double == []


def test_every_wechat_notification_lost_reconcile_pays_every_order(wechat: Buyers) -> None:
    """WeChat Pay's notifications all lost (the sandbox drops every one): the reconcile job asks
    WeChat (``GET /v3/pay/transactions/out-trade-no/…``) and pays every order, Native and H5."""
    buyers = wechat
    names = [f"{kind}{i}" for kind in ("goods", "course", "reward", "topup") for i in range(2)]
    rows = buyers.seed(users=[*names, "author"], goods=2, courses=1, articles=["author"])
    tokens = {n: rows["users"][n]["token"] for n in names}

    def buy(name: str) -> Purchase:
        token = tokens[name]
        channel = "wechat_native" if name.endswith("0") else "wechat_h5"
        if name.startswith("goods"):
            return buyers.pay(buyers.goods_order(token, rows["goods"], channel=channel))
        if name.startswith("course"):
            skus = [rows["courses"][0]["sku"]]
            return buyers.pay(buyers.course_order(token, skus, channel=channel))
        if name.startswith("reward"):
            article = rows["articles"]["author"]
            return buyers.pay(buyers.reward(token, article, "2.00", channel=channel))
        return buyers.pay(buyers.top_up(token, "4.00", channel=channel))

    with ThreadPoolExecutor(4) as threads:
        purchases = list(threads.map(buy, names))
    before = buyers.audit(purchases)
    assert {o["status"] for o in before["orders"].values()} == {"pending"}  # nothing delivered
    paid_at_wechat = {buyers.gateway.wechat_order(p.attempt)["trade_state"] for p in purchases}
    assert paid_at_wechat == {"SUCCESS"}

    report = buyers.site.run("reconcile")
    again = buyers.site.run("reconcile")
    course = rows["courses"][0]["id"]
    state = buyers.audit(purchases, goods=rows["goods"], courses=[course])
    double = doubles(state, rows["goods"], {str(course): 2})
    missing = lost(state, [p.order for p in purchases])
    buyers.say(
        f"WeChat notifications all lost: {len(purchases)} orders of 4 kinds paid at WeChat "
        f"(Native and H5), 0 delivered; reconcile checked {report['checked']}, paid "
        f"{report['paid']} (then {again['paid']} more): {len(double)} double, {len(missing)} lost"
    )
    assert report["paid"] == len(purchases) and report["errors"] == 0
    assert again["paid"] == 0
    assert double == []
    assert missing == []


def test_second_and_late_wechat_payments_are_refunded(wechat: Buyers) -> None:
    """The Alipay test above, through WeChat Pay: an order paid on the phone (H5) and again by
    scanning a new code (Native) — the first order could no longer be closed at WeChat — and an
    order paid after it was cancelled (closing it at WeChat failed). Every TRANSACTION.SUCCESS
    delivered 3 times at once; the two surplus payments are refunded automatically, WeChat
    settles the refunds (PROCESSING, then REFUND.SUCCESS, delivered twice)."""
    buyers = wechat
    rows = buyers.seed(users=["b0", "b1"], goods=2)
    token, late_token = rows["users"]["b0"]["token"], rows["users"]["b1"]["token"]
    first = buyers.pay(buyers.goods_order(token, rows["goods"], channel="wechat_h5"))
    second = buyers.pay(buyers.start(token, first.order, channel="wechat_native"))
    extra = buyers.goods_order(late_token, rows["goods"][:1], channel="wechat_h5")
    close = "/v3/pay/transactions/out-trade-no/"
    buyers.gateway.wechat_faults(api_errors=1, paths=[close])
    buyers.api(late_token, f"/api/orders/{extra.order}/cancel/")
    buyers.gateway.wechat_faults(api_errors=0, paths=[])
    buyers.pay(extra)

    purchases = [first, second, extra]
    events, jobs = [], []
    for p in purchases:
        event, body = buyers.wechat_notification(p)
        events.append(event)
        jobs += [buyers.wechat_notify_job(body) for _ in range(3)]
    answers = buyers.deliver(jobs)

    # the refunds were sent to WeChat after the payments' commits: PROCESSING, then settled
    # there seconds later with a REFUND.SUCCESS notification (dropped: delivered here)
    def refunded_at_wechat() -> list[Purchase]:
        return [p for p in purchases if buyers.gateway.wechat_order(p.attempt)["refunds"]]

    settled = wait_until(lambda: len(refunded_at_wechat()) == 2, timeout=30)
    assert settled, [buyers.gateway.wechat_order(p.attempt) for p in purchases]
    refunded = refunded_at_wechat()
    refund_jobs = []
    for p in refunded:
        event, body = buyers.wechat_event(p, "REFUND.SUCCESS")
        events.append(event)
        refund_jobs += [buyers.wechat_notify_job(body) for _ in range(2)]
    refund_answers = buyers.deliver(refund_jobs)

    state = buyers.audit(purchases, goods=rows["goods"], notification_ids=events)
    orders = state["orders"]
    at_wechat = [r for p in purchases for r in buyers.gateway.wechat_order(p.attempt)["refunds"]]
    refunded_at_gateway = sum(Decimal(r["refund"]) for r in at_wechat)
    double = doubles(state, rows["goods"], {})
    buyers.say(
        f"WeChat surplus payments: 1 order paid twice (H5, then Native) + 1 paid after it was "
        f"cancelled, {len(answers.replies)} deliveries ({answers.by_status()}), then "
        f"{len(refund_answers.replies)} REFUND.SUCCESS deliveries "
        f"({refund_answers.by_status()}): refunds {state['refunds']}, "
        f"¥{refunded_at_gateway} refunded at WeChat ({[r['status'] for r in at_wechat]}), "
        f"{len(double)} double; notifications {state['notification_outcomes']}"
    )
    assert answers.failures() == [] and refund_answers.failures() == []
    assert orders[first.order]["status"] == "paid"
    assert (orders[first.order]["paid_attempts"], orders[first.order]["extra_attempts"]) == (1, 1)
    assert orders[extra.order]["status"] == "cancelled"
    assert orders[extra.order]["extra_attempts"] == 1
    assert [r["automatic"] for r in state["refunds"][first.order]] == [True]
    assert [r["automatic"] for r in state["refunds"][extra.order]] == [True]
    assert {r["status"] for rs in state["refunds"].values() for r in rs} == {"succeeded"}
    assert {r["status"] for r in at_wechat} == {"SUCCESS"} and len(at_wechat) == 2
    total = Decimal(orders[first.order]["total"]) + Decimal(orders[extra.order]["total"])
    assert refunded_at_gateway == total
    assert double == []
