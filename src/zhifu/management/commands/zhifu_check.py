"""``manage.py zhifu_check``: is the gateway configuration usable? One line per finding, and a
non-zero exit if anything is wrong.

- Alipay (when its provider is configured): signs, verifies, and makes a harmless query
  (``alipay.trade.query`` of a random out_trade_no, expecting ACQ.TRADE_NOT_EXIST).
- WeChat Pay (when ``zhifu.providers.wechatpay.WechatPayProvider`` is in ``PROVIDERS``): in
  certificate mode (and while migrating) downloads the platform certificates (``GET
  /v3/certificates``: proves the merchant key and serial, and the APIv3 key, which decrypts
  them); then queries a random out_trade_no expecting ``ORDER_NOT_EXIST`` (proves the merchant
  key and serial) and verifies the signature of that answer with WeChat Pay's configured key.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from django.core.management.base import BaseCommand, CommandError

from zhifu.alipay import (
    AlipayBusinessError,
    AlipayError,
    AlipayTransportError,
    SignatureError,
)
from zhifu.checks import check_zhifu_settings
from zhifu.exceptions import ZhifuError
from zhifu.wechatpay import (
    DecryptionError,
    WechatPayAPIError,
    WechatPayError,
    WechatPayResponseError,
    WechatPayTransportError,
)
from zhifu.wechatpay import SignatureError as WechatSignatureError


class _LastResponse(httpx.BaseTransport):
    """The real transport, keeping the last answer: WeChat's error answers are signed too, and
    the check verifies the one it expects (the client itself trusts only 2xx answers)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.last: httpx.Response | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.last = self.inner.handle_request(request)
        return self.last

    def close(self) -> None:
        self.inner.close()


class Command(BaseCommand):
    help = (
        "Check the ZHIFU setting against the configured gateways (Alipay, WeChat Pay) and say "
        "what is wrong."
    )

    requires_system_checks: list[str] = []

    def ok(self, text: str) -> None:
        self.stdout.write(self.style.SUCCESS("ok   ") + text)

    def fail(self, text: str) -> None:
        self.stdout.write(self.style.ERROR("FAIL ") + text)

    def warn(self, text: str) -> None:
        self.stdout.write(self.style.WARNING("warn ") + text)

    def handle(self, *args: Any, **options: Any) -> None:
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

        from zhifu.providers import registry

        names = {provider.name for provider in registry.all_providers()}
        failed = []
        if "alipay" in names and not self.check_alipay():
            failed.append("Alipay")
        if "wechatpay" in names and not self.check_wechatpay():
            failed.append("WeChat Pay")
        if failed:
            raise CommandError(f"the gateway check failed ({', '.join(failed)})")

    # -- Alipay -----------------------------------------------------------------------------------

    def check_alipay(self) -> bool:
        from zhifu.conf import zhifu_settings
        from zhifu.providers.alipay_config import build_client

        try:
            client = build_client()
        except (ZhifuError, AlipayError) as exc:
            self.fail(f"cannot build the Alipay client: {exc}")
            return False
        client.sign_request("alipay.trade.query", {"out_trade_no": "zhifu_check"})
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
                return True
            if exc.sub_code == "isv.invalid-signature":
                self.fail(
                    "Alipay rejected our signature: the app private key does not match the app "
                    "public key uploaded to Alipay for this app_id"
                )
            elif exc.sub_code == "isv.invalid-app-id":
                self.fail(f"the gateway does not know app_id {client.app_id}: wrong app or gateway")
            else:
                self.fail(f"the gateway refused the query: {exc}")
            return False
        except SignatureError as exc:
            self.fail(
                f"the gateway's answer does not verify ({exc.message}): ALIPAY_PUBLIC_KEY is not "
                "the Alipay public key of this app (it is not your app's public key)"
            )
            return False
        except AlipayTransportError as exc:
            self.fail(f"cannot reach the gateway {gateway}: {exc.message}")
            return False
        except AlipayError as exc:
            self.fail(f"unexpected answer from {gateway}: {exc}")
            return False
        self.fail(f"the gateway says a random trade {out_trade_no} exists; is this really Alipay?")
        return False

    # -- WeChat Pay -------------------------------------------------------------------------------

    def check_wechatpay(self) -> bool:
        from zhifu.providers.wechatpay_config import build_client, key_mode, wechatpay_conf

        wx = wechatpay_conf()
        mode = key_mode(wx)
        recorder = _LastResponse()
        try:
            client = build_client(transport=recorder)
        except (ZhifuError, WechatPayError) as exc:
            self.fail(f"WeChat Pay: cannot build the client: {exc}")
            return False
        gateway = client.base_url
        described = {
            "public_key": f"public-key mode ({wx['PUBLIC_KEY_ID']})",
            "certificate": "platform-certificate mode",
            "migration": f"migrating: public key {wx['PUBLIC_KEY_ID']} and platform certificates",
        }[mode]
        self.ok(
            f"WeChat Pay: merchant {client.mchid}, appid {client.appid}, requests signed with the "
            f"merchant key of certificate {client.merchant_serial_no}; {described}"
        )
        try:
            if mode != "public_key" and not self._wechat_certificates(client, gateway):
                return False
            return self._wechat_query(client, recorder, gateway, mode)
        finally:
            client.close_connections()
            recorder.close()

    def _wechat_refused(self, exc: Any, gateway: str, what: str, mchid: str) -> None:
        """Say what a refusal from WeChat Pay (a WechatPayAPIError) means for the setting."""
        code, status = exc.code or "", exc.status
        if status == 401 or code == "SIGN_ERROR":
            self.fail(
                f"WeChat Pay rejected our signature on {what} ({code}: {exc.message}): "
                "MERCHANT_PRIVATE_KEY and MERCHANT_SERIAL must be the key and the serial of the "
                f"merchant API certificate (apiclient_cert.pem) of merchant {mchid}"
            )
        elif code == "INVALID_REQUEST" and "Wechatpay-Serial" in exc.message:
            self.fail(
                f"WeChat Pay does not know the key we asked it to sign with ({exc.message}): "
                "PUBLIC_KEY_ID is not this merchant's WeChat Pay public key id (PUB_KEY_ID_…)"
            )
        elif code in ("MCH_NOT_EXISTS", "NO_AUTH", "APPID_MCHID_NOT_MATCH"):
            self.fail(f"WeChat Pay refused {what} ({code}: {exc.message}): check MCHID and APPID")
        elif exc.retryable:
            self.fail(
                f"WeChat Pay at {gateway} could not answer {what} now ({code or status}: "
                f"{exc.message}); run the check again"
            )
        else:
            self.fail(f"WeChat Pay refused {what}: {exc}")

    def _wechat_certificates(self, client: Any, gateway: str) -> bool:

        try:
            certificates = client.download_certificates()
        except DecryptionError as exc:
            self.fail(
                "WeChat Pay: the platform certificates from GET /v3/certificates do not decrypt "
                f"with APIV3_KEY ({exc.message}): APIV3_KEY is not the APIv3 key set in the "
                "merchant portal (账户中心 → API安全 → APIv3密钥); notifications would not decrypt "
                "either"
            )
            return False
        except WechatSignatureError as exc:
            self.fail(
                f"WeChat Pay: the answer to GET /v3/certificates does not verify ({exc.message})"
            )
            return False
        except WechatPayAPIError as exc:
            if exc.code in ("RESOURCE_NOT_EXISTS", "NOT_FOUND") or exc.status == 404:
                self.fail(
                    f"WeChat Pay has no platform certificates for merchant {client.mchid} "
                    f"({exc.message}): it uses the WeChat Pay public key — set PUBLIC_KEY and "
                    "PUBLIC_KEY_ID (API安全 → 微信支付公钥)"
                )
            else:
                self._wechat_refused(exc, gateway, "GET /v3/certificates", client.mchid)
            return False
        except WechatPayTransportError as exc:
            self.fail(f"WeChat Pay: cannot reach {gateway}: {exc.message}")
            return False
        except (WechatPayResponseError, WechatPayError) as exc:
            self.fail(f"WeChat Pay: unexpected answer to GET /v3/certificates: {exc}")
            return False
        serials = ", ".join(c.serial for c in certificates) or "none"
        self.ok(
            f"WeChat Pay: GET /v3/certificates accepted our signature; {len(certificates)} "
            f"platform certificate(s) ({serials}) decrypted with APIV3_KEY and verified"
        )
        return True

    def _wechat_query(self, client: Any, recorder: _LastResponse, gateway: str, mode: str) -> bool:

        out_trade_no = "zhifucheck" + secrets.token_hex(8)
        try:
            client.query(out_trade_no=out_trade_no)
        except WechatPayAPIError as exc:
            if exc.code not in ("ORDER_NOT_EXIST", "ORDERNOTEXIST"):
                self._wechat_refused(exc, gateway, "the order query", client.mchid)
                return False
        except WechatSignatureError as exc:
            self.fail(f"WeChat Pay: the answer does not verify: {exc.message}")
            return False
        except WechatPayTransportError as exc:
            self.fail(f"WeChat Pay: cannot reach {gateway}: {exc.message}")
            return False
        except WechatPayError as exc:
            self.fail(f"WeChat Pay: unexpected answer from {gateway}: {exc}")
            return False
        else:
            self.fail(
                f"WeChat Pay says a random order {out_trade_no} exists; is {gateway} really "
                "WeChat Pay?"
            )
            return False
        self.ok(
            f"WeChat Pay at {gateway}: a query signed with the merchant key was accepted "
            "(ORDER_NOT_EXIST, as expected)"
        )
        answer = recorder.last
        if answer is None or not answer.headers.get("Wechatpay-Signature"):
            self.warn(
                "WeChat Pay did not sign its error answer, so WeChat Pay's key was not "
                "exercised here: the first notification proves it (see the admin's notifications)"
            )
            return True
        serial = answer.headers.get("Wechatpay-Serial", "")
        try:
            client.verifier.verify(answer.headers, answer.content)
        except WechatSignatureError as exc:
            key = (
                "PUBLIC_KEY is not WeChat Pay's public key for PUBLIC_KEY_ID"
                if serial.startswith("PUB_KEY_ID_")
                else "the platform certificate that signed it does not verify"
            )
            self.fail(f"WeChat Pay's signed answer does not verify ({exc.message}): {key}")
            return False
        which = "WeChat Pay public key" if serial.startswith("PUB_KEY_ID_") else "certificate"
        self.ok(f"WeChat Pay: its signed answer verifies with the configured {which} {serial}")
        if mode == "public_key":
            self.warn(
                "WeChat Pay: APIV3_KEY is only used by notifications in public-key mode; its form "
                "is checked, the first notification proves it"
            )
        return True
