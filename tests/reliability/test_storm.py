"""A duplicate storm: every kind of order (goods, courses, a reward, a wallet top-up) paid at the
sandbox, then its signed notification delivered many times at once from several client
processes, mixed with the buyer's browser coming back on the return URL (which asks Alipay
and may apply the payment itself). Each order is paid and fulfilled exactly once; every
delivery is answered, and answered ``success``."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

from tests.reliability.buyer import Buyers, Purchase
from tests.reliability.checks import doubles, lost

PER_KIND = 2
COPIES = 5  # deliveries of each notification
RETURNS = 1  # browser returns of each payment


def test_duplicate_storm_of_every_order_kind(buyers: Buyers) -> None:
    kinds = ("goods", "course", "reward", "topup")
    names = [f"{kind}{i}" for kind in kinds for i in range(PER_KIND)]
    rows = buyers.seed(users=[*names, "author"], goods=3, courses=2, articles=["author"])
    tokens = {n: rows["users"][n]["token"] for n in names}
    skus = [c["sku"] for c in rows["courses"]]

    def buy(name: str) -> Purchase:
        token = tokens[name]
        if name.startswith("goods"):
            purchase = buyers.goods_order(token, rows["goods"], quantity=2)
        elif name.startswith("course"):
            purchase = buyers.course_order(token, skus)
        elif name.startswith("reward"):
            purchase = buyers.reward(token, rows["articles"]["author"], "3.00")
        else:
            purchase = buyers.top_up(token, "7.00")
        return buyers.pay(purchase)

    with ThreadPoolExecutor(4) as threads:
        purchases = list(threads.map(buy, names))
    jobs = []
    for p in purchases:
        form = buyers.notification(p)
        jobs += [buyers.notify_job(form)] * COPIES
        jobs += [("get", p.return_url)] * RETURNS
    random.Random(10).shuffle(jobs)
    started = time.monotonic()
    answers = buyers.deliver(jobs)
    took = time.monotonic() - started

    notify = [r for job, r in zip(jobs, answers.replies, strict=True) if job[0] == "form"]
    returns = [r for job, r in zip(jobs, answers.replies, strict=True) if job[0] == "get"]
    state = buyers.audit(purchases, goods=rows["goods"], courses=[c["id"] for c in rows["courses"]])
    double = doubles(state, rows["goods"], {str(c["id"]): PER_KIND for c in rows["courses"]})
    missing = lost(state, [p.order for p in purchases])
    not_success = [r for r in notify if r != (200, "success")]
    buyers.say(
        f"duplicate storm: {len(purchases)} orders ({PER_KIND} each of {', '.join(kinds)}), "
        f"{len(notify)} deliveries + {len(returns)} returns from 8 processes in {took:.1f} s: "
        f"{len(double)} double, {len(missing)} lost, {answers.unanswered} unanswered, "
        f"{len(not_success)} not success; notifications {state['notification_outcomes']}"
    )
    assert answers.unanswered == 0
    assert not_success == [], not_success[:3]
    assert all(200 <= status < 400 for status, _ in returns), returns[:3]
    assert double == []
    assert missing == []


def test_duplicate_storm_of_wechat_notifications(wechat: Buyers) -> None:
    """The same storm through WeChat Pay's H5 payment: each TRANSACTION.SUCCESS notification
    (encrypted with the APIv3 key, every delivery signed afresh with WeChat Pay's key) delivered
    many times at once, mixed with the browser coming back to the H5 return URL (unsigned: the
    site asks WeChat). Every delivery must be answered 204, WeChat's "received"."""
    buyers = wechat
    kinds = ("goods", "course", "reward", "topup")
    names = [f"{kind}{i}" for kind in kinds for i in range(PER_KIND)]
    rows = buyers.seed(users=[*names, "author"], goods=3, courses=2, articles=["author"])
    tokens = {n: rows["users"][n]["token"] for n in names}
    skus = [c["sku"] for c in rows["courses"]]
    channel = "wechat_h5"

    def buy(name: str) -> Purchase:
        token = tokens[name]
        if name.startswith("goods"):
            purchase = buyers.goods_order(token, rows["goods"], quantity=2, channel=channel)
        elif name.startswith("course"):
            purchase = buyers.course_order(token, skus, channel=channel)
        elif name.startswith("reward"):
            purchase = buyers.reward(token, rows["articles"]["author"], "3.00", channel=channel)
        else:
            purchase = buyers.top_up(token, "7.00", channel=channel)
        return buyers.pay(purchase)

    with ThreadPoolExecutor(4) as threads:
        purchases = list(threads.map(buy, names))
    assert all(p.return_url for p in purchases), "no H5 redirect_url"
    jobs = []
    events = []
    for p in purchases:
        event, body = buyers.wechat_notification(p)
        events.append(event)
        jobs += [buyers.wechat_notify_job(body) for _ in range(COPIES)]
        jobs += [("get", p.return_url)] * RETURNS
    random.Random(11).shuffle(jobs)
    started = time.monotonic()
    answers = buyers.deliver(jobs)
    took = time.monotonic() - started

    notify = [r for job, r in zip(jobs, answers.replies, strict=True) if job[0] == "wechat"]
    returns = [r for job, r in zip(jobs, answers.replies, strict=True) if job[0] == "get"]
    state = buyers.audit(
        purchases,
        goods=rows["goods"],
        courses=[c["id"] for c in rows["courses"]],
        notification_ids=events,
    )
    double = doubles(state, rows["goods"], {str(c["id"]): PER_KIND for c in rows["courses"]})
    missing = lost(state, [p.order for p in purchases])
    not_204 = [r for r in notify if r[0] != 204]
    buyers.say(
        f"WeChat duplicate storm: {len(purchases)} orders ({PER_KIND} each of "
        f"{', '.join(kinds)}, H5), {len(notify)} deliveries + {len(returns)} returns from 8 "
        f"processes in {took:.1f} s: {len(double)} double, {len(missing)} lost, "
        f"{answers.unanswered} unanswered, {len(not_204)} not 204; "
        f"notifications {state['notification_outcomes']}"
    )
    assert answers.unanswered == 0
    assert not_204 == [], not_204[:3]
    assert all(200 <= status < 400 for status, _ in returns), returns[:3]
    assert sum(state["notification_outcomes"].values()) == len(notify)
    assert set(state["notification_outcomes"]) <= {"applied", "duplicate"}
    assert double == []
    assert missing == []
