"""Pay, query and refund one trade against a running ``zhifu sandbox`` — no Django, no account.

    .venv/bin/zhifu sandbox --data-dir var/sandbox &
    .venv/bin/python examples/quickstart.py [var/sandbox]

It reads the app id and keys the sandbox wrote on first start, builds the page-pay URL a site
would send the buyer to, lets the sandbox's control API pay it as a buyer would at the cashier,
then asks the gateway what happened — the same calls a site makes against real Alipay.
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx

from zhifu.alipay import AlipayClient, AlipayError


def main() -> int:
    data_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "var/sandbox")
    settings_file = data_dir / "sandbox.json"
    if not settings_file.exists():
        print(f"{settings_file} not found: start `zhifu sandbox --data-dir {data_dir}` first")
        return 2
    conf = json.loads(settings_file.read_text())
    client = AlipayClient(
        app_id=conf["app_id"],
        app_private_key=Path(conf["app_private_key_file"]),
        alipay_public_key=Path(conf["alipay_public_key_file"]),
        gateway_url=conf["gateway_url"],
        seller_id=conf["seller_id"],
        return_url="http://127.0.0.1:8000/return/",
    )
    out_trade_no = f"quickstart_{int(time.time() * 1000)}"
    request = client.page_pay(
        out_trade_no=out_trade_no, total_amount=Decimal("12.30"), subject="Zhifu quick start"
    )
    print("1. page-pay URL for the buyer:", request.url[:90], "...")

    base = conf["gateway_url"].rsplit("/", 1)[0]
    try:
        # The buyer's browser follows the URL to the cashier.
        httpx.get(request.url, timeout=10, follow_redirects=True).raise_for_status()
        paid = httpx.post(
            f"{base}/sandbox/api/trades/{conf['app_id']}/{out_trade_no}/pay",
            json={"buyer": "buyer1@sandbox.com"},
            timeout=10,
        )
        paid.raise_for_status()
        print("2. buyer paid; browser would return to:", paid.json()["return_url"][:90], "...")

        trade = client.query(out_trade_no=out_trade_no)
        print(
            f"3. alipay.trade.query: {trade.trade_status}, total {trade.total_amount}, "
            f"trade_no {trade.trade_no}"
        )
        refund = client.refund(
            out_trade_no=out_trade_no, refund_amount="2.30", out_request_no=f"{out_trade_no}_r1"
        )
        print(
            f"4. refunded 2.30: fund_change={refund.fund_change}, refunded so far "
            f"{refund.refund_fee}"
        )
        again = client.refund(
            out_trade_no=out_trade_no, refund_amount="2.30", out_request_no=f"{out_trade_no}_r1"
        )
        print(f"5. same refund again is idempotent: fund_change={again.fund_change}")
    except (httpx.HTTPError, AlipayError) as exc:
        print(f"failed: {exc}")
        return 1
    print(f"Dashboard: {base}/sandbox/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
