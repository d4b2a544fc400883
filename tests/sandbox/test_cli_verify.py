"""`zhifu alipay verify` on what a running sandbox really produced: a return URL and the
notification body it POSTed. Untouched they verify (exit 0); altered they do not (exit 1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

from .conftest import open_page_pay

ZHIFU = Path(sys.executable).parent / "zhifu"


def verify(key: Path, data: str, *, stdin: bool = False) -> subprocess.CompletedProcess[str]:
    args = [str(ZHIFU), "alipay", "verify", "--alipay-public-key", str(key)]
    if not stdin:
        args += ["--data", data]
    return subprocess.run(
        args, input=data if stdin else None, capture_output=True, text=True, timeout=60
    )


def test_verify_accepts_the_sandboxs_return_url_and_notification(sb, client, receiver) -> None:
    open_page_pay(client.page_pay(out_trade_no="v1", total_amount="12.30", subject="书 & 笔+1").url)
    return_url = sb.pay("v1")
    assert return_url.startswith("http://shop.test/return?")
    attempts = sb.wait_for_notifications("v1")
    assert attempts and attempts[0]["outcome"] == "success"
    body = receiver.raw[0].decode("ascii")  # the form body exactly as the sandbox POSTed it
    key = Path(sb.info["key_files"]["alipay_public_key"])

    ok_return = verify(key, return_url)
    assert ok_return.returncode == 0, ok_return.stdout + ok_return.stderr
    assert "signature OK" in ok_return.stdout
    signed_string = ok_return.stdout.splitlines()[1]
    assert "out_trade_no=v1" in signed_string and "sign_type=" not in signed_string

    ok_notify = verify(key, body, stdin=True)
    assert ok_notify.returncode == 0, ok_notify.stdout + ok_notify.stderr
    assert "trade_status=TRADE_SUCCESS" in ok_notify.stdout
    # the notification log holds the same form: encoded again, it verifies too
    logged = urlencode(attempts[0]["form"])
    assert verify(key, logged).returncode == 0

    altered_return = return_url.replace("total_amount=12.30", "total_amount=0.01")
    assert altered_return != return_url
    bad = verify(key, altered_return)
    assert bad.returncode == 1 and "signature does NOT match" in bad.stdout
    assert "Traceback" not in bad.stderr

    altered_body = body.replace("trade_status=TRADE_SUCCESS", "trade_status=TRADE_FINISHED")
    assert altered_body != body
    assert verify(key, altered_body, stdin=True).returncode == 1

    # the app's own public key is not Alipay's: nothing verifies with it
    wrong_key = Path(sb.info["key_files"]["app_public_key"])
    assert verify(wrong_key, return_url).returncode == 1
