"""`zhifu alipay pay-link`: a signed page-pay URL from the command line.

What seed 004's script does (``alipay.api_alipay_trade_page_pay(...)`` then
``print(gateway + "?" + order_string)``), with the keys loaded once, the amount parsed as money
(never a float), Beijing timestamps, and the gateway given (production by default, or the local
sandbox's from ``--sandbox-dir``). Nothing here imports Django.

Only the app's private key is needed: a page-pay URL is signed by the app and verified by the
gateway; Alipay's public key would only check Alipay's answers, and there are none here.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from ..alipay import (
    PRODUCTION_GATEWAY,
    AlipayClient,
    InvalidRequestError,
    KeyFormatError,
    load_private_key,
)
from ..alipay.times import BEIJING
from ..money import parse_amount

__all__ = ["add_parser", "cmd_pay_link", "new_out_trade_no"]

SANDBOX_JSON = "sandbox.json"


def new_out_trade_no() -> str:
    """``L<Beijing yymmddHHMMSS><8 hex>``: 21 characters, fits Alipay's 64 and WeChat's 32."""
    return f"L{datetime.now(BEIJING):%y%m%d%H%M%S}{secrets.token_hex(4)}"


def _fail(message: str, status: int = 2) -> Exception:
    from ..cli import CommandError  # the command's own one-line error (imported late: no cycle)

    return CommandError(message, status)


def _sandbox_settings(data_dir: str) -> dict[str, Any]:
    path = Path(data_dir) / SANDBOX_JSON
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(
            f"no {SANDBOX_JSON} in {data_dir}: start the sandbox first "
            f"(zhifu sandbox --data-dir {data_dir})"
        ) from None
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read {path}: {exc}") from None
    if not isinstance(info, dict) or not all(
        isinstance(info.get(k), str) and info.get(k)
        for k in ("app_id", "gateway_url", "app_private_key_file")
    ):
        raise _fail(f"{path} lacks app_id, gateway_url or app_private_key_file")
    return info


def cmd_pay_link(args: argparse.Namespace) -> int:
    amount = parse_amount(args.amount, field="--amount")  # AmountError: one line, exit 1
    subject = (args.subject or "").strip()
    if not subject:
        raise _fail("--subject must not be empty")
    if args.sandbox_dir:
        info = _sandbox_settings(args.sandbox_dir)
        app_id = args.app_id or info["app_id"]
        key_file = args.app_private_key or info["app_private_key_file"]
        gateway = args.gateway_url or info["gateway_url"]
    else:
        if not args.app_id or not args.app_private_key:
            raise _fail(
                "give --app-id and --app-private-key (and --gateway-url for a gateway other than "
                "Alipay's production one), or --sandbox-dir DIR of a running zhifu sandbox"
            )
        app_id, key_file = args.app_id, args.app_private_key
        gateway = args.gateway_url or PRODUCTION_GATEWAY
    try:
        private_key = load_private_key(Path(key_file))
        client = AlipayClient(
            app_id=app_id,
            app_private_key=private_key,
            # Not used for a page-pay URL (no answer from Alipay to verify); the client wants one.
            alipay_public_key=private_key.public_key(),
            gateway_url=gateway,
            sign_type=args.sign_type,
        )
        method = client.wap_pay if args.wap else client.page_pay
        request = method(
            out_trade_no=args.out_trade_no or new_out_trade_no(),
            total_amount=amount,
            subject=subject,
            return_url=args.return_url,
            notify_url=args.notify_url,
            timeout_express=args.timeout_express,
        )
    except (KeyFormatError, InvalidRequestError) as exc:
        raise _fail(str(exc)) from None
    print(request.url)
    print(
        f"out_trade_no {request.out_trade_no}, amount {amount}, gateway {gateway}",
        file=sys.stderr,
    )
    return 0


def add_parser(alipay_commands: Any) -> None:
    """Register `pay-link` under `zhifu alipay`."""
    parser = alipay_commands.add_parser(
        "pay-link",
        help="print a signed page-pay URL (alipay.trade.page.pay) to send to a buyer",
        description=(
            "Sign an alipay.trade.page.pay request (alipay.trade.wap.pay with --wap) and print "
            "its URL on stdout (the trade number on stderr). Keys and gateway come from the "
            "options, or from a running sandbox's data directory (--sandbox-dir). Exit 0 on "
            "success, 1 if the amount is not valid, 2 on unusable options or key files."
        ),
    )
    parser.add_argument("--amount", required=True, help="yuan, e.g. 0.01 (0.01 to 100000000)")
    parser.add_argument("--subject", required=True, help="what is paid for (订单标题)")
    parser.add_argument("--out-trade-no", help="the trade number (default: a new unique one)")
    parser.add_argument(
        "--sandbox-dir",
        metavar="DIR",
        help="use the app id, private key and gateway of the sandbox in DIR (var/sandbox)",
    )
    parser.add_argument("--app-id", help="the Alipay app id (APPID)")
    parser.add_argument("--app-private-key", metavar="FILE", help="the app private key (PEM)")
    parser.add_argument(
        "--gateway-url", help=f"the gateway (default: {PRODUCTION_GATEWAY}, or the sandbox's)"
    )
    parser.add_argument("--notify-url", help="where Alipay posts the payment notification")
    parser.add_argument("--return-url", help="where the buyer's browser goes after paying")
    parser.add_argument(
        "--timeout-express", metavar="SPAN", help="how long the trade stays open: 90m, 2h, 15d"
    )
    parser.add_argument("--sign-type", choices=("RSA2", "RSA"), default="RSA2")
    parser.add_argument(
        "--wap", action="store_true", help="a phone-browser payment (alipay.trade.wap.pay)"
    )
    parser.set_defaults(func=cmd_pay_link)
