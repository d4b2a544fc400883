"""``ZHIFU["WITHDRAWALS"]``: limits and the approval step, merged over the defaults.

``APPROVAL``: ``"always"`` (staff approve every withdrawal in the admin), ``"never"`` (sent at
once), or ``"above:<amount>"`` (staff approve those larger than the amount).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..money import AmountError, parse_amount, parse_money

__all__ = ["DEFAULTS", "WithdrawalSettings", "problems", "withdrawal_settings"]

DEFAULTS: dict[str, Any] = {
    "MIN": "1.00",  # the smallest withdrawal
    "MAX": "5000.00",  # the largest single withdrawal
    "DAILY_MAX": "20000.00",  # per user and Beijing day, failed ones not counted
    "APPROVAL": "above:1000.00",
    "RETRY_AFTER": 60,  # seconds a sent/unknown withdrawal waits before the job asks again
    "TITLE": "Zhifu withdrawal",  # the transfer's title (order_title) at the gateway
}


@dataclass(frozen=True)
class WithdrawalSettings:
    min: Decimal
    max: Decimal
    daily_max: Decimal
    approval: str  # "always" | "never" | "above"
    approval_above: Decimal
    retry_after: float
    title: str

    def needs_approval(self, amount: Decimal) -> bool:
        if self.approval == "always":
            return True
        if self.approval == "never":
            return False
        return amount > self.approval_above


def _merged(conf: dict[str, Any]) -> dict[str, Any]:
    user = conf.get("WITHDRAWALS") or {}
    return {**DEFAULTS, **(user if isinstance(user, dict) else {})}


def problems(conf: dict[str, Any]) -> list[str]:
    """What is wrong with ``ZHIFU["WITHDRAWALS"]`` (empty: nothing)."""
    raw = conf.get("WITHDRAWALS", {})
    if not isinstance(raw, dict):
        return ['ZHIFU["WITHDRAWALS"] must be a dict']
    found = [f'ZHIFU["WITHDRAWALS"] has no key {k!r}' for k in sorted(set(raw) - set(DEFAULTS))]
    merged = _merged(conf)
    amounts: dict[str, Decimal] = {}
    for key in ("MIN", "MAX", "DAILY_MAX"):
        try:
            amounts[key] = parse_amount(merged[key], field=key)
        except AmountError as exc:
            found.append(f'ZHIFU["WITHDRAWALS"]["{key}"]: {exc}')
    if len(amounts) == 3 and not amounts["MIN"] <= amounts["MAX"] <= amounts["DAILY_MAX"]:
        found.append('ZHIFU["WITHDRAWALS"]: MIN <= MAX <= DAILY_MAX is required')
    approval = merged["APPROVAL"]
    if not isinstance(approval, str) or not (
        approval in ("always", "never") or approval.startswith("above:")
    ):
        found.append(
            f'ZHIFU["WITHDRAWALS"]["APPROVAL"] is {approval!r}: use "always", "never" '
            'or "above:<amount>", e.g. "above:1000.00"'
        )
    elif approval.startswith("above:"):
        try:
            parse_money(approval.split(":", 1)[1], field="APPROVAL")
        except AmountError as exc:
            found.append(f'ZHIFU["WITHDRAWALS"]["APPROVAL"]: {exc}')
    retry = merged["RETRY_AFTER"]
    if isinstance(retry, bool) or not isinstance(retry, int | float) or retry < 0:
        found.append('ZHIFU["WITHDRAWALS"]["RETRY_AFTER"] must be a number of seconds >= 0')
    if not isinstance(merged["TITLE"], str) or not merged["TITLE"].strip():
        found.append('ZHIFU["WITHDRAWALS"]["TITLE"] must be a non-empty string')
    return found


def withdrawal_settings() -> WithdrawalSettings:
    from ..conf import zhifu_settings
    from ..exceptions import ConfigurationError

    conf = zhifu_settings.as_dict()
    found = problems(conf)
    if found:
        raise ConfigurationError("configuration_error", "; ".join(found))
    merged = _merged(conf)
    approval = merged["APPROVAL"]
    above = approval.split(":", 1)[1] if approval.startswith("above:") else "0.00"
    return WithdrawalSettings(
        min=parse_amount(merged["MIN"]),
        max=parse_amount(merged["MAX"]),
        daily_max=parse_amount(merged["DAILY_MAX"]),
        approval="above" if approval.startswith("above:") else approval,
        approval_above=parse_money(above, field="APPROVAL"),
        retry_after=float(merged["RETRY_AFTER"]),
        title=merged["TITLE"].strip(),
    )
