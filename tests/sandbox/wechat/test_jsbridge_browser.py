"""The JSAPI bridge in headless Chromium: a site's page (another origin) includes the sandbox's
``jsbridge.js`` and calls ``WeixinJSBridge.invoke("getBrandWCPayRequest", …)`` as inside WeChat."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from zhifu.sandbox.testing import SandboxServer
from zhifu.wechatpay import WechatPayClient

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PAGE = """<!doctype html><html><body><p id="out">waiting</p>
<script src="{bridge}"></script>
<script>
document.addEventListener("WeixinJSBridgeReady", function () {{
  WeixinJSBridge.invoke("getBrandWCPayRequest", {params}, function (res) {{
    document.getElementById("out").textContent = res.err_msg;
  }});
}});
</script></body></html>"""


@pytest.fixture
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (make chromium installs Debian's)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


class Site:
    """The merchant's page, served from its own origin."""

    def __init__(self) -> None:
        self.html = b""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(site.html)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_port}/pay"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.server.shutdown()
    served.server.server_close()


def _open(browser: Any, site: Site, sb: SandboxServer, params: dict[str, str]) -> Any:
    site.html = PAGE.format(
        bridge=f"{sb.url}/wechat/jsbridge.js", params=json.dumps(params)
    ).encode()
    page = browser.new_page(user_agent="Mozilla/5.0 (iPhone) MicroMessenger/8.0.40 NetType/WIFI")
    page.goto(site.url)
    return page


def _jsapi(sb: SandboxServer, wxc: WechatPayClient, number: str) -> dict[str, str]:
    openid = sb.wechat_info["users"][0]["openid"]
    return wxc.jsapi(out_trade_no=number, total="3.00", description="x", openid=openid).pay_params


def test_paying_in_the_overlay_calls_back_ok(
    browser: Any, site: Site, sb: SandboxServer, wxc: WechatPayClient
) -> None:
    page = _open(browser, site, sb, _jsapi(sb, wxc, "ZFJB0001"))
    wallet = page.frame_locator("#zhifu-wechat-overlay iframe")
    wallet.locator("#password").fill("111111")
    wallet.locator("#pay").click()
    page.wait_for_function("document.getElementById('out').textContent !== 'waiting'")
    assert page.text_content("#out") == "get_brand_wcpay_request:ok"
    assert page.locator("#zhifu-wechat-overlay").count() == 0
    assert wxc.query(out_trade_no="ZFJB0001").trade_state == "SUCCESS"


def test_cancelling_calls_back_cancel(
    browser: Any, site: Site, sb: SandboxServer, wxc: WechatPayClient
) -> None:
    page = _open(browser, site, sb, _jsapi(sb, wxc, "ZFJB0002"))
    page.frame_locator("#zhifu-wechat-overlay iframe").locator("#cancel").click()
    page.wait_for_function("document.getElementById('out').textContent !== 'waiting'")
    assert page.text_content("#out") == "get_brand_wcpay_request:cancel"
    assert wxc.query(out_trade_no="ZFJB0002").trade_state == "NOTPAY"


def test_a_wrong_pay_sign_calls_back_fail(
    browser: Any, site: Site, sb: SandboxServer, wxc: WechatPayClient
) -> None:
    params = dict(_jsapi(sb, wxc, "ZFJB0003"), timeStamp="1")
    page = _open(browser, site, sb, params)
    page.wait_for_function("document.getElementById('out').textContent !== 'waiting'")
    assert page.text_content("#out") == "get_brand_wcpay_request:fail"
