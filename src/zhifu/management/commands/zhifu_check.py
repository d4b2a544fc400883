"""``manage.py zhifu_check``: is the Alipay configuration usable? Signs, verifies, and makes a
harmless query (``alipay.trade.query`` of a random out_trade_no, expecting ACQ.TRADE_NOT_EXIST)."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from zhifu.alipay import (
    AlipayBusinessError,
    AlipayError,
    AlipayTransportError,
    SignatureError,
)
from zhifu.checks import check_zhifu_settings
from zhifu.exceptions import ZhifuError


class Command(BaseCommand):
    help = "Check the ZHIFU setting against the configured Alipay gateway and say what is wrong."

    requires_system_checks: list[str] = []

    def ok(self, text: str) -> None:
        self.stdout.write(self.style.SUCCESS("ok   ") + text)

    def fail(self, text: str) -> None:
        self.stdout.write(self.style.ERROR("FAIL ") + text)

    def handle(self, *args: Any, **options: Any) -> None:
        from zhifu.conf import zhifu_settings
        from zhifu.providers.alipay_config import build_client

        problems = 0
        for message in check_zhifu_settings():
            if message.is_serious():
                problems += 1
                self.fail(
                    f"{message.id}: {message.msg}" + (f" ({message.hint})" if message.hint else "")
                )
            else:
                self.stdout.write(f"warn {message.id}: {message.msg}")
        if problems:
            raise CommandError(f"{problems} configuration problem(s); fix them and run again")
        self.ok("settings: keys load, URLs are sane")

        try:
            client = build_client()
        except (ZhifuError, AlipayError) as exc:
            self.fail(f"cannot build the Alipay client: {exc}")
            raise CommandError("the Alipay client cannot be built") from None
        signed = client.sign_request("alipay.trade.query", {"out_trade_no": "zhifu_check"})
        self.ok(f"signing: a request signed with {client.sign_type} for app {client.app_id}")

        out_trade_no = "zhifu_check_" + secrets.token_hex(8)
        gateway = zhifu_settings.GATEWAY_URL
        try:
            client.query(out_trade_no=out_trade_no)
        except AlipayBusinessError as exc:
            if exc.sub_code == "ACQ.TRADE_NOT_EXIST":
                self.ok(
                    f"gateway {gateway}: answered alipay.trade.query, signature verified with "
                    "the configured Alipay public key (ACQ.TRADE_NOT_EXIST, as expected)"
                )
                return
            if exc.sub_code == "isv.invalid-signature":
                self.fail(
                    "Alipay rejected our signature: the app private key does not match the app "
                    "public key uploaded to Alipay for this app_id"
                )
            elif exc.sub_code == "isv.invalid-app-id":
                self.fail(f"the gateway does not know app_id {client.app_id}: wrong app or gateway")
            else:
                self.fail(f"the gateway refused the query: {exc}")
            raise CommandError("the gateway check failed") from None
        except SignatureError as exc:
            self.fail(
                f"the gateway's answer does not verify ({exc.message}): ALIPAY_PUBLIC_KEY is not "
                "the Alipay public key of this app (it is not your app's public key)"
            )
            raise CommandError("the gateway check failed") from None
        except AlipayTransportError as exc:
            self.fail(f"cannot reach the gateway {gateway}: {exc.message}")
            raise CommandError("the gateway check failed") from None
        except AlipayError as exc:
            self.fail(f"unexpected answer from {gateway}: {exc}")
            raise CommandError("the gateway check failed") from None
        _ = signed
        self.fail(f"the gateway says a random trade {out_trade_no} exists; is this really Alipay?")
        raise CommandError("the gateway check failed")
