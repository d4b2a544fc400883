"""The checks, what each expects of the endpoint, and how an answer is judged.

Every message is about a trade number the probe made up (``ZHIFUPROBE…``), so a correct endpoint
refuses every one of them — none can be applied to a real order — and the probe expects exactly
that:

``forged-signature``  well formed, naming the site's app/merchant, signed with a key nobody trusts
``unsigned``          the same with no signature at all
``malformed``         not a notification (broken encoding, a parameter twice, not JSON)
``signtest``          (WeChat Pay) ``Wechatpay-Signature: WECHATPAY/SIGNTEST/…``, WeChat's probe
``unknown-order``     signed with the gateway's key (needs it), for an order the site never made
``concurrent-duplicates``  that notification twice at the same moment: both answered, identically
``answer-time``       every answer well within WeChat Pay's 5 seconds

"Refused" means what the gateway takes as "not applied, send again": for Alipay any body but
``success``; for WeChat Pay a 4xx/5xx status with ``{"code": "FAIL", "message": …}``. Zhifu
refuses a genuine notification for an order it does not have (``rejected``, ``unknown_order``:
400) instead of acknowledging it, so that the gateway keeps retrying while someone looks — the
notification is stored and visible in the admin — and the probe holds every endpoint to that.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import httpx

from . import alipay_messages, wechat_messages
from .alipay_messages import made_up_out_trade_no
from .keys import AlipayParty, WechatParty
from .report import CheckResult, EndpointReport
from .transport import Answer, Message, send, send_together

__all__ = ["PROVIDERS", "TIME_LIMIT", "AlipayKit", "Endpoint", "WechatKit", "judge", "run"]

PROVIDERS = ("alipay", "wechatpay")
TIME_LIMIT = 5.0  # seconds: WeChat Pay's limit for an answer to a notification

Verdict = Literal["acknowledged", "refused", "bad_refusal", "not_an_endpoint", "no_answer"]


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    says: str  # what the answer said, in words


def _not_an_endpoint(answer: Answer, gateway: str) -> Judgement | None:
    if answer.status is None:
        return Judgement("no_answer", "no answer before the probe's timeout")
    if 300 <= answer.status < 400:
        where = f" to {answer.location}" if answer.location else ""
        return Judgement(
            "not_an_endpoint",
            f"redirected{where} ({answer.status}): {gateway} does not follow redirects, so its "
            "notifications would not arrive either (give the final URL)",
        )
    if answer.status in (404, 405):
        return Judgement(
            "not_an_endpoint",
            f"{answer.short()}: no notify endpoint taking POST at this URL",
        )
    return None


def judge_alipay(answer: Answer) -> Judgement:
    """Alipay stops only on a body of exactly ``success``; any other answer makes it retry."""
    found = _not_an_endpoint(answer, "Alipay")
    if found is not None:
        return found
    if answer.body.strip() == "success":
        return Judgement("acknowledged", f"acknowledged: {answer.short()}")
    return Judgement("refused", f"refused: {answer.short()}")


def judge_wechat(answer: Answer) -> Judgement:
    """WeChat Pay decides by the status alone (any 2xx stops it, even with ``{"code":
    "FAIL"}``); a refusal is 4xx/5xx with ``{"code": "FAIL", "message": …}``."""
    found = _not_an_endpoint(answer, "WeChat Pay")
    if found is not None:
        return found
    assert answer.status is not None
    if 200 <= answer.status < 300:
        return Judgement("acknowledged", f"acknowledged: {answer.short()}")
    if answer.status < 400:
        return Judgement("bad_refusal", f"{answer.short()}: neither 2xx nor 4xx/5xx")
    try:
        body = json.loads(answer.body)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("code") == "FAIL":
        return Judgement("refused", f"refused: {answer.short()}")
    return Judgement(
        "bad_refusal",
        f'refused with {answer.status}, but the body is not WeChat\'s {{"code": "FAIL", '
        f'"message": …}}: {answer.short()}',
    )


def judge(provider: str, answer: Answer) -> Judgement:
    return judge_wechat(answer) if provider == "wechatpay" else judge_alipay(answer)


# -- what each provider sends ------------------------------------------------------------------


class Kit(Protocol):
    provider: str
    can_sign: bool
    signing: str
    key_options: str

    def forged(self, out_trade_no: str) -> Message: ...
    def unsigned(self, out_trade_no: str) -> Message: ...
    def malformed(self) -> Message: ...
    def signtest(self, out_trade_no: str) -> Message | None: ...
    def signed(self, out_trade_no: str) -> Message: ...


class AlipayKit:
    provider = "alipay"
    key_options = "--sandbox-dir DIR, or --alipay-private-key FILE"

    def __init__(self, party: AlipayParty) -> None:
        self.party = party
        self.can_sign = party.can_sign
        self.signing = party.source

    def forged(self, out_trade_no: str) -> Message:
        return alipay_messages.forged(self.party, out_trade_no)

    def unsigned(self, out_trade_no: str) -> Message:
        return alipay_messages.unsigned(self.party, out_trade_no)

    def malformed(self) -> Message:
        return alipay_messages.malformed()

    def signtest(self, out_trade_no: str) -> Message | None:
        return None  # Alipay has no such probe

    def signed(self, out_trade_no: str) -> Message:
        return alipay_messages.signed(self.party, out_trade_no)


class WechatKit:
    provider = "wechatpay"
    key_options = "--sandbox-dir DIR, or --wechatpay-private-key FILE --wechatpay-serial ID --apiv3-key-file FILE"

    def __init__(self, party: WechatParty) -> None:
        self.party = party
        self.can_sign = party.can_sign
        self.signing = party.source

    def forged(self, out_trade_no: str) -> Message:
        return wechat_messages.forged(self.party, out_trade_no)

    def unsigned(self, out_trade_no: str) -> Message:
        return wechat_messages.unsigned(self.party, out_trade_no)

    def malformed(self) -> Message:
        return wechat_messages.malformed()

    def signtest(self, out_trade_no: str) -> Message | None:
        return wechat_messages.signtest(self.party, out_trade_no)

    def signed(self, out_trade_no: str) -> Message:
        return wechat_messages.signed(self.party, out_trade_no)


# -- running ----------------------------------------------------------------------------------

# What it means when each message is acknowledged.
ACKNOWLEDGED_MEANS = {
    "forged-signature": "a notification signed with a key nobody trusts was acknowledged: the "
    "endpoint does not verify the signature with the gateway's public key",
    "unsigned": "a notification without any signature was acknowledged: the endpoint verifies "
    "only when a signature is present, or not at all",
    "malformed": "something that is not a notification was acknowledged",
    "signtest": "WeChat Pay's WECHATPAY/SIGNTEST/ probe was acknowledged: WeChat sends these to "
    "find merchants that do not verify signatures",
    "unknown-order": "a notification for an order this site never created was acknowledged: "
    "the endpoint does not look up out_trade_no (and compare amount, app and merchant), or "
    "swallows the failure; it should refuse, so that the gateway retries and it stays on record",
}


@dataclass(frozen=True)
class Endpoint:
    url: str
    kit: Kit


def _refusal(name: str, provider: str, answer: Answer, out_trade_no: str = "") -> CheckResult:
    found = judge(provider, answer)
    if found.verdict == "refused":
        return CheckResult(name, "PASS", found.says, (answer,), out_trade_no)
    detail = found.says
    if found.verdict == "acknowledged":
        detail = f"{found.says} — {ACKNOWLEDGED_MEANS[name]}"
    return CheckResult(name, "FAIL", detail, (answer,), out_trade_no)


def _concurrent(provider: str, answers: list[Answer], out_trade_no: str) -> CheckResult:
    name = "concurrent-duplicates"
    found = [judge(provider, a) for a in answers]
    if any(j.verdict == "acknowledged" for j in found):
        detail = (
            "the same made-up notification sent twice at once was acknowledged ("
            + " / ".join(j.says for j in found)
            + "): nothing should apply to an order that does not exist"
        )
        return CheckResult(name, "FAIL", detail, tuple(answers), out_trade_no)
    bad = [j for j in found if j.verdict != "refused"]
    if bad:
        return CheckResult(name, "FAIL", bad[0].says, tuple(answers), out_trade_no)
    if len({(a.status, a.body) for a in answers}) > 1:
        detail = "two identical copies were answered differently: " + " / ".join(
            a.short() for a in answers
        )
        return CheckResult(name, "FAIL", detail, tuple(answers), out_trade_no)
    detail = f"both copies refused identically: {answers[0].short()}"
    return CheckResult(name, "PASS", detail, tuple(answers), out_trade_no)


def _timing(answers: list[Answer], limit: float) -> CheckResult:
    name = "answer-time"
    if not answers:
        return CheckResult(name, "SKIP", "no answers to time")
    slowest = max(answers, key=lambda a: (a.timed_out, a.ms))
    limit_ms = limit * 1000
    rule = f"WeChat Pay wants an answer within {limit:g} s"
    if slowest.timed_out:
        detail = f"no answer within {slowest.ms / 1000:.1f} s ({rule})"
        return CheckResult(name, "FAIL", detail, (slowest,))
    if slowest.ms >= limit_ms:
        detail = f"the slowest of {len(answers)} answers, over the limit ({rule})"
        return CheckResult(name, "FAIL", detail, (slowest,))
    detail = f"the slowest of {len(answers)} answers, within the limit of {limit:g} s"
    return CheckResult(name, "PASS", detail, (slowest,))


def run(
    endpoint: Endpoint,
    client: httpx.Client,
    *,
    time_limit: float = TIME_LIMIT,
    progress: Callable[[CheckResult], None] | None = None,
) -> EndpointReport:
    """Every check against one endpoint, in order. Raises
    :class:`~zhifu.probe.errors.Unreachable` if the endpoint cannot be reached."""
    kit, url = endpoint.kit, endpoint.url
    report = EndpointReport(url, kit.provider, kit.signing if kit.can_sign else "none")
    answers: list[Answer] = []

    def record(result: CheckResult) -> None:
        report.checks.append(result)
        answers.extend(result.answers)
        if progress is not None:
            progress(result)

    number = made_up_out_trade_no()
    record(
        _refusal("forged-signature", kit.provider, send(client, url, kit.forged(number)), number)
    )
    number = made_up_out_trade_no()
    record(_refusal("unsigned", kit.provider, send(client, url, kit.unsigned(number)), number))
    record(_refusal("malformed", kit.provider, send(client, url, kit.malformed())))
    number = made_up_out_trade_no()
    probe = kit.signtest(number)
    if probe is not None:
        record(_refusal("signtest", kit.provider, send(client, url, probe), number))
    if kit.can_sign:
        report.notes.append(
            f"genuine-looking notifications were signed with {kit.signing}: they test the "
            "order checks only if the site trusts that key (else they fail its signature check)"
        )
        number = made_up_out_trade_no()
        answer = send(client, url, kit.signed(number))
        record(_refusal("unknown-order", kit.provider, answer, number))
        number = made_up_out_trade_no()
        twins = send_together(client, url, kit.signed(number))
        record(_concurrent(kit.provider, twins, number))
    else:
        why = f"needs the gateway's signing key ({kit.key_options})"
        record(CheckResult("unknown-order", "SKIP", why))
        record(CheckResult("concurrent-duplicates", "SKIP", why))
        report.notes.append(
            "no signing keys: only the checks that need none were run; give "
            f"{kit.key_options} to send genuine-looking notifications too"
        )
    timing = _timing(answers, time_limit)
    report.checks.append(timing)
    if progress is not None:
        progress(timing)
    return report
