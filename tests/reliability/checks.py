"""What "nothing lost, nothing counted twice" means for the demo's orders, read from ``audit``."""

from __future__ import annotations

from collections import Counter
from typing import Any

# What one paid order leaves in the wallet ledger, by kind (a top-up credits the buyer, a
# reward the author; goods and courses paid by Alipay touch no wallet).
LEDGER_OF_PAID = {"topup": ["topup"], "reward": ["reward_income"], "purchase": []}


def doubles(state: dict[str, Any], goods: list[int], buyers_of_course: dict[str, int]) -> list[str]:
    """Every effect that happened more (or less) than once per paid order."""
    problems = []
    orders = state["orders"]
    paid = {no: o for no, o in orders.items() if o["status"] in ("paid", "refunded")}
    for no, order in paid.items():
        ledger = sorted(k for k in state["ledger"].get(no, []) if k != "refund")
        if ledger != LEDGER_OF_PAID.get(order["kind"], []):
            problems.append(f"{no}: ledger {ledger}")
        courses = [sku for sku in order["lines"] if sku.startswith("course:")]
        if state["grants"].get(no, 0) != len(courses):
            problems.append(f"{no}: {state['grants'].get(no, 0)} grants for {len(courses)} courses")
        if order["kind"] == "reward" and state["rewards"].get(no) != "paid":
            problems.append(f"{no}: reward {state['rewards'].get(no)}")
        if order["paid_attempts"] != 1:
            problems.append(f"{no}: {order['paid_attempts']} payments counted")
    for no, order in orders.items():
        if order["extra_attempts"] > len(state["refunds"].get(no, [])):
            problems.append(f"{no}: {order['extra_attempts']} surplus payments, fewer refunds")
    sold: Counter[str] = Counter()
    for order in paid.values():
        for sku, quantity in order["lines"].items():
            if sku.startswith("goods:"):
                sold[sku.split(":")[1]] += quantity
    for goods_pk in goods:
        pk = str(goods_pk)
        if state["goods_sold"].get(pk) != sold[pk]:
            problems.append(
                f"goods {pk}: sold {state['goods_sold'].get(str(pk))}, paid {sold[str(pk)]}"
            )
    for pk, people in buyers_of_course.items():
        if state["students"].get(str(pk)) != people:
            problems.append(
                f"course {pk}: {state['students'].get(str(pk))} students, {people} buyers"
            )
    if state["wallet_mismatches"]:
        problems.append(f"{state['wallet_mismatches']} wallets differ from their ledger")
    return problems


def lost(state: dict[str, Any], expected: list[str]) -> list[str]:
    """Orders the buyer paid for that the site does not show paid."""
    return [no for no in expected if state["orders"].get(no, {}).get("status") != "paid"]
