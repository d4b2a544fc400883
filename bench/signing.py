"""Signing and verification rates of zhifu.alipay, beside OpenSSL and python-alipay-sdk.

Run:  .venv/bin/python bench/signing.py [--seconds 3]

Everything runs in this process, single-threaded, with RSA-2048 keys; ``openssl speed`` also
uses one core (no ``-multi``). zhifu's rates include building the string to sign (sorting and
joining realistic parameters), hashing, base64 and the Python call overhead; OpenSSL's rates are
its raw private/public-key operations, i.e. the ceiling. All rates are per CPU-second (OpenSSL's
default user time; ``time.process_time()`` here), so that other work on the machine does not
skew the ratios. Writes bench/results/signing.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zhifu.alipay import (
    AlipayClient,
    Signer,
    Verifier,
    generate_key_pair,
    notification_content,
)

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "signing.json"
TARGET_SIGN = 0.9
TARGET_VERIFY = 0.5


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per CPU-second of ``fn`` over about ``seconds`` of this process's CPU time (after a
    short warm-up). CPU time, as ``openssl speed`` counts by default (user time): on a shared
    machine, wall-clock rates would measure the other processes as much as this code."""
    for _ in range(20):
        fn()
    count = 0
    batch = 10
    start = time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            fn()
        count += batch
        now = time.process_time()
        if now >= deadline:
            return count / (now - start)


def openssl_speed(seconds: int) -> dict[str, Any]:
    exe = shutil.which("openssl")
    if exe is None:
        return {"available": False, "reason": "the openssl command is not installed"}
    version = subprocess.run([exe, "version"], capture_output=True, text=True).stdout.strip()
    proc = subprocess.run(
        [exe, "speed", "-seconds", str(seconds), "rsa2048"],
        capture_output=True,
        text=True,
        timeout=seconds * 10 + 60,
    )
    match = re.search(
        r"^rsa\s+2048 bits\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)", proc.stdout, re.M
    )
    if proc.returncode != 0 or match is None:
        return {
            "available": False,
            "reason": f"could not parse `openssl speed` output: {proc.stderr[-200:]}",
        }
    return {
        "available": True,
        "version": version,
        "sign_per_s": float(match.group(1)),
        "verify_per_s": float(match.group(2)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds; the best rate of each row is kept"
    )
    args = parser.parse_args()
    seconds: float = args.seconds
    rounds: int = max(1, args.rounds)

    app = generate_key_pair()
    ali = generate_key_pair()

    # A realistic page-pay request (the parameters AlipayClient sends) and a notification.
    client = AlipayClient(
        app_id="2021004100000000",
        app_private_key=app.private_pem,
        alipay_public_key=ali.public_pem,
        notify_url="https://shop.example.com/zhifu/alipay/notify/",
        return_url="https://shop.example.com/zhifu/alipay/return/",
    )

    def page_pay() -> object:
        return client.page_pay(
            out_trade_no="20240101120000123456",
            total_amount="128.00",
            subject="Python 进阶课程 · 第二期",
            timeout_express="30m",
        )

    request_params = {k: v for k, v in page_pay().params.items() if k != "sign"}  # type: ignore[attr-defined]
    request_string = "&".join(f"{k}={request_params[k]}" for k in sorted(request_params))
    alipay_signer = Signer(ali.private_pem)
    notify = {
        "gmt_create": "2024-01-01 12:00:05",
        "charset": "utf-8",
        "gmt_payment": "2024-01-01 12:00:20",
        "notify_time": "2024-01-01 12:00:21",
        "subject": "Python 进阶课程 · 第二期",
        "buyer_id": "2088722003899169",
        "invoice_amount": "128.00",
        "version": "1.0",
        "notify_id": "2024010101222120021899160501632046",
        "fund_bill_list": '[{"amount":"128.00","fundChannel":"ALIPAYACCOUNT"}]',
        "notify_type": "trade_status_sync",
        "out_trade_no": "20240101120000123456",
        "total_amount": "128.00",
        "trade_status": "TRADE_SUCCESS",
        "trade_no": "2024010122001499160501589436",
        "auth_app_id": "2021004100000000",
        "receipt_amount": "128.00",
        "point_amount": "0.00",
        "app_id": "2021004100000000",
        "buyer_pay_amount": "128.00",
        "sign_type": "RSA2",
        "seller_id": "2088721003899159",
    }
    notify["sign"] = alipay_signer.sign_notification(notify)
    verifier = Verifier(ali.public_pem)
    app_signer = Signer(app.private_pem)

    print(
        f"measuring {rounds} rounds of {seconds:g}s each, single thread, RSA-2048; "
        "best round kept for every row (OpenSSL included) ...",
        file=sys.stderr,
    )
    try:
        from alipay import AliPay
    except ImportError as exc:
        AliPay = None
        fz: dict[str, Any] = {
            "available": False,
            "reason": f"python-alipay-sdk cannot be imported: {exc}",
        }
    else:
        fz = {"available": True}
    fz_data = {k: v for k, v in notify.items() if k != "sign"}
    if AliPay is not None:
        fz_app = AliPay(
            appid="2021004100000000",
            app_notify_url=None,
            app_private_key_string=app.private_pem,
            alipay_public_key_string=ali.public_pem,
        )
        assert fz_app.verify(dict(fz_data), notify["sign"])

    ssl: dict[str, Any] = {}
    rows: dict[str, dict[str, float]] = {}
    # Every round's rate, to report the median of the interleaved rounds beside the best.
    samples: dict[str, dict[str, list[float]]] = {}

    def keep(name: str, kind: str, value: float) -> None:
        row = rows.setdefault(name, {})
        row[kind] = max(row.get(kind, 0.0), value)
        samples.setdefault(name, {}).setdefault(kind, []).append(value)

    for _ in range(rounds):
        measured = openssl_speed(max(1, round(seconds)))
        if not measured["available"]:
            ssl = measured
        else:
            ssl = {
                **measured,
                "sign_per_s": max(ssl.get("sign_per_s", 0.0), measured["sign_per_s"]),
                "verify_per_s": max(ssl.get("verify_per_s", 0.0), measured["verify_per_s"]),
            }
            samples.setdefault("openssl", {}).setdefault("sign", []).append(measured["sign_per_s"])
            samples["openssl"].setdefault("verify", []).append(measured["verify_per_s"])
        keep(
            "zhifu sign (page-pay request string)",
            "sign",
            rate(lambda: app_signer.sign_params(request_params), seconds),
        )
        keep("zhifu page_pay() (build + sign)", "sign", rate(page_pay, seconds))
        keep(
            "zhifu verify_notification()",
            "verify",
            rate(lambda: verifier.verify_notification(notify), seconds),
        )
        if AliPay is not None:
            keep(
                "python-alipay-sdk sign_data() (same request)",
                "sign",
                rate(lambda: fz_app.sign_data(dict(request_params)), seconds),
            )
            keep(
                "python-alipay-sdk verify() (same notification)",
                "verify",
                rate(lambda: fz_app.verify(dict(fz_data), notify["sign"]), seconds),
            )

    zhifu_sign = rows["zhifu sign (page-pay request string)"]["sign"]
    zhifu_verify = rows["zhifu verify_notification()"]["verify"]
    medians = {
        name: {kind: statistics.median(values) for kind, values in kinds.items()}
        for name, kinds in samples.items()
    }
    result: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "seconds_per_measurement": seconds,
        "rounds": rounds,
        "request_string_bytes": len(request_string.encode()),
        "notification_string_bytes": len(notification_content(notify).encode()),
        "openssl": ssl,
        "python_alipay_sdk": fz,
        "rates": rows,
        "median_rates": medians,
        "round_rates": samples,
    }

    print()
    print(f"{'operation (best / median of rounds)':<50} {'sign/s':>17} {'verify/s':>17}")

    def cell(name: str, kind: str, best: float | None) -> str:
        if best is None:
            return ""
        return f"{best:.0f} / {medians[name][kind]:.0f}"

    if ssl["available"]:
        print(
            f"{'openssl speed rsa2048 (' + ssl['version'].split()[1] + ')':<50} "
            f"{cell('openssl', 'sign', ssl['sign_per_s']):>17} "
            f"{cell('openssl', 'verify', ssl['verify_per_s']):>17}"
        )
    else:
        print(f"openssl: {ssl['reason']}")
    for name, values in rows.items():
        sign = cell(name, "sign", values.get("sign"))
        verify = cell(name, "verify", values.get("verify"))
        print(f"{name:<50} {sign:>17} {verify:>17}")
    if not fz["available"]:
        print(f"python-alipay-sdk: {fz['reason']}")
    print()

    ratios: dict[str, Any] = {}
    if ssl["available"]:
        ratios["zhifu_sign_vs_openssl"] = zhifu_sign / ssl["sign_per_s"]
        ratios["zhifu_verify_vs_openssl"] = zhifu_verify / ssl["verify_per_s"]
        ratios["sign_target"] = TARGET_SIGN
        ratios["verify_target"] = TARGET_VERIFY
        ratios["sign_target_met"] = ratios["zhifu_sign_vs_openssl"] >= TARGET_SIGN
        ratios["verify_target_met"] = ratios["zhifu_verify_vs_openssl"] >= TARGET_VERIFY
        print(
            f"zhifu sign   / openssl sign   = {ratios['zhifu_sign_vs_openssl']:.2f}  "
            f"(target >= {TARGET_SIGN}: {'met' if ratios['sign_target_met'] else 'MISSED'})"
        )
        print(
            f"zhifu verify / openssl verify = {ratios['zhifu_verify_vs_openssl']:.2f}  "
            f"(target >= {TARGET_VERIFY}: {'met' if ratios['verify_target_met'] else 'MISSED'})"
        )
        # The same ratios from the medians: each round measures OpenSSL and zhifu back to back.
        ratios["median_zhifu_sign_vs_openssl"] = statistics.median(
            z / o
            for z, o in zip(
                samples["zhifu sign (page-pay request string)"]["sign"],
                samples["openssl"]["sign"],
                strict=True,
            )
        )
        ratios["median_zhifu_verify_vs_openssl"] = statistics.median(
            z / o
            for z, o in zip(
                samples["zhifu verify_notification()"]["verify"],
                samples["openssl"]["verify"],
                strict=True,
            )
        )
        print(
            f"median of the rounds' ratios: sign {ratios['median_zhifu_sign_vs_openssl']:.2f}, "
            f"verify {ratios['median_zhifu_verify_vs_openssl']:.2f}"
        )
    if fz["available"]:
        fz_sign = rows["python-alipay-sdk sign_data() (same request)"]["sign"]
        fz_verify = rows["python-alipay-sdk verify() (same notification)"]["verify"]
        ratios["zhifu_sign_vs_python_alipay_sdk"] = zhifu_sign / fz_sign
        ratios["zhifu_verify_vs_python_alipay_sdk"] = zhifu_verify / fz_verify
        print(
            f"zhifu sign   / python-alipay-sdk = {ratios['zhifu_sign_vs_python_alipay_sdk']:.2f}x"
        )
        print(
            f"zhifu verify / python-alipay-sdk = {ratios['zhifu_verify_vs_python_alipay_sdk']:.2f}x"
        )
    result["ratios"] = ratios

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
