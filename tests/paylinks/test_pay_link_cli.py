"""`zhifu alipay pay-link`: seed 004's script as a command — a signed page-pay URL that verifies
with zhifu.alipay's Verifier and that the sandbox's cashier accepts, without Django."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from zhifu.alipay import Verifier, generate_key_pair
from zhifu.alipay.signing import request_content
from zhifu.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["alipay", "pay-link", *args])
    out, err = capsys.readouterr()
    return status, out, err


def params_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def test_a_sandbox_pay_link_verifies_and_the_sandbox_accepts_it(sandbox, capsys):
    status, out, err = run(
        capsys, "--amount", "0.01", "--subject", "加钱", "--sandbox-dir", str(sandbox.data_dir)
    )
    assert status == 0, err
    url = out.strip()
    assert url.startswith(sandbox.gateway_url + "?") and "\n" not in url
    params = params_of(url)
    assert params["method"] == "alipay.trade.page.pay"
    assert params["app_id"] == sandbox.default_app.app_id
    biz = json.loads(params["biz_content"])
    assert biz["total_amount"] == "0.01" and biz["subject"] == "加钱"
    assert biz["product_code"] == "FAST_INSTANT_TRADE_PAY"
    assert biz["out_trade_no"] in err

    # The app's public key verifies the signature over the request's parameters...
    verifier = Verifier(sandbox.default_app.app_public_key_pem)
    assert verifier.verify(request_content(params), params["sign"], "RSA2", "utf-8")
    tampered = {**params, "biz_content": params["biz_content"].replace("0.01", "0.02")}
    assert not verifier.verify(request_content(tampered), params["sign"], "RSA2", "utf-8")

    # ... and the sandbox's cashier opens it and the buyer can pay it.
    cashier = httpx.get(url, timeout=15, follow_redirects=True)
    assert cashier.status_code == 200, cashier.text[:500]
    assert "0.01" in cashier.text
    sandbox.pay(biz["out_trade_no"])
    assert sandbox.trade(biz["out_trade_no"])["trade_status"] == "TRADE_SUCCESS"


def test_keys_and_gateway_from_options(sandbox, tmp_path, capsys):
    key = Path(sandbox.data_dir) / "app_private_key.pem"
    info = json.loads((Path(sandbox.data_dir) / "sandbox.json").read_text())
    status, out, err = run(
        capsys,
        "--amount", "12.3",
        "--subject", "课程",
        "--app-id", info["app_id"],
        "--app-private-key", info["app_private_key_file"],
        "--gateway-url", info["gateway_url"],
        "--out-trade-no", "SEED-004-1",
        "--notify-url", "https://shop.example.com/zhifu/alipay/notify/",
        "--wap",
    )  # fmt: skip
    assert status == 0, err
    params = params_of(out.strip())
    assert params["method"] == "alipay.trade.wap.pay"
    assert params["notify_url"] == "https://shop.example.com/zhifu/alipay/notify/"
    biz = json.loads(params["biz_content"])
    assert biz == {**biz, "out_trade_no": "SEED-004-1", "total_amount": "12.30"}
    assert key.exists()
    cashier = httpx.get(out.strip(), timeout=15, follow_redirects=True)
    assert cashier.status_code == 200, cashier.text[:500]
    sandbox.pay("SEED-004-1")
    assert sandbox.trade("SEED-004-1")["total_amount"] == "12.30"


def test_production_gateway_by_default(tmp_path, capsys):
    pair = generate_key_pair()
    key = tmp_path / "app_private_key.pem"
    key.write_text(pair.private_pem)
    status, out, _ = run(
        capsys, "--amount", "1", "--subject", "x", "--app-id", "2021000000000001",
        "--app-private-key", str(key),
    )  # fmt: skip
    assert status == 0
    assert out.startswith("https://openapi.alipay.com/gateway.do?")
    params = params_of(out.strip())
    assert Verifier(pair.public_pem).verify(request_content(params), params["sign"], "RSA2")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--amount", "0.001", "--subject", "x"], 1, "more than two decimal places"),
        (["--amount", "-1", "--subject", "x"], 1, "negative"),
        (["--amount", "1e2", "--subject", "x"], 1, "not a plain amount"),
        (["--amount", "1", "--subject", "  "], 2, "--subject must not be empty"),
        (["--amount", "1", "--subject", "x"], 2, "give --app-id and --app-private-key"),
        (
            ["--amount", "1", "--subject", "x", "--out-trade-no", "bad no", "--sandbox-dir"],
            2,
            "out_trade_no",
        ),
    ],
)
def test_bad_input_is_one_clear_line(sandbox, capsys, args, code, message):
    if args[-1] == "--sandbox-dir":
        args = [*args, str(sandbox.data_dir)]
    status, out, err = run(capsys, *args)
    assert status == code
    assert out == ""
    assert err.startswith("zhifu: error: ") and message in err
    assert "Traceback" not in err


def test_missing_sandbox_dir_and_bad_key_file(tmp_path, capsys):
    status, _, err = run(capsys, "--amount", "1", "--subject", "x", "--sandbox-dir", str(tmp_path))
    assert status == 2 and "no sandbox.json" in err and "zhifu sandbox --data-dir" in err
    bad = tmp_path / "key.pem"
    bad.write_text("not a key")
    status, _, err = run(
        capsys, "--amount", "1", "--subject", "x", "--app-id", "1", "--app-private-key", str(bad)
    )
    assert status == 2 and err.startswith("zhifu: error: ") and "Traceback" not in err


def test_the_command_module_imports_no_django():
    code = (
        "import sys, zhifu.paylinks.cli; "
        "sys.exit(1 if any(m == 'django' or m.startswith('django.') for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
