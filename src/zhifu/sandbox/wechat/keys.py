"""WeChat Pay merchants and WeChat's own keys; first-start files a site is configured from.

WeChat signs with the WeChat Pay public key (``PUB_KEY_ID_…``) or with a platform certificate,
per merchant mode: ``public_key``, ``certificate`` or ``migration`` (both, notifications by
either with a configurable share of the public key; reference section 2.4).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from zhifu.wechatpay import (
    KeyFormatError,
    generate_merchant_certificate,
    load_apiv3_key,
    load_certificate,
    load_private_key,
)
from zhifu.wechatpay.keys import certificate_serial

from ..clock import Clock
from ..store import Store

__all__ = [
    "MODES",
    "WECHAT_DIR",
    "Merchant",
    "MerchantError",
    "WechatKey",
    "WechatKeys",
]

WECHAT_DIR = "wechatpay"
MODES = ("public_key", "certificate", "migration")
_MCHID = re.compile(r"[0-9]{6,32}")
_APPID = re.compile(r"[0-9A-Za-z_]{1,32}")

SCHEMA = """
CREATE TABLE IF NOT EXISTS wx_merchants (
    mchid TEXT PRIMARY KEY,
    appid TEXT NOT NULL,
    name TEXT NOT NULL,
    cert_pem TEXT NOT NULL,
    serial TEXT NOT NULL,
    apiv3_key TEXT NOT NULL,
    mode TEXT NOT NULL DEFAULT 'public_key',
    public_key_share REAL NOT NULL DEFAULT 0.5,
    created_at REAL NOT NULL
)
"""


class MerchantError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class WechatKey:
    """One of WeChat's signing keys: the public key (its id) or a platform certificate."""

    serial: str
    private_key: rsa.RSAPrivateKey
    certificate_pem: str = ""  # empty for the public key

    @property
    def is_certificate(self) -> bool:
        return bool(self.certificate_pem)

    @property
    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )


@dataclass(frozen=True)
class Merchant:
    mchid: str
    appid: str
    name: str
    cert_pem: str
    serial: str
    apiv3_key: str
    mode: str
    public_key_share: float

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        key = load_certificate(self.cert_pem).public_key()
        assert isinstance(key, rsa.RSAPublicKey)  # checked when registered
        return key

    @property
    def apiv3_bytes(self) -> bytes:
        return self.apiv3_key.encode("ascii")

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Merchant:
        return cls(
            row["mchid"],
            row["appid"],
            row["name"],
            row["cert_pem"],
            row["serial"],
            row["apiv3_key"],
            row["mode"],
            float(row["public_key_share"]),
        )


def _digits(n: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(n))


def _pkcs8(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def new_apiv3_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


class WechatKeys:
    """Merchants (mchid, appid, merchant certificate, APIv3 key, key mode) and WeChat's keys."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        data_dir: Path,
        *,
        merchant_key: rsa.RSAPrivateKey | None = None,
        public_key: rsa.RSAPrivateKey | None = None,
        platform_key: rsa.RSAPrivateKey | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.dir = data_dir / WECHAT_DIR
        with store.transaction() as db:
            db.execute(SCHEMA)
        if store.get_meta("wx_public_key") is None:
            key = public_key or rsa.generate_private_key(65537, 2048)
            store.set_meta("wx_public_key", _pkcs8(key))
            store.set_meta("wx_public_key_id", "PUB_KEY_ID_01" + _digits(32))
        if store.get_meta("wx_platform") is None:
            self._store_platform([self._new_platform(platform_key)])
        pem = store.get_meta("wx_public_key")
        key_id = store.get_meta("wx_public_key_id")
        assert pem is not None and key_id is not None
        self.public = WechatKey(key_id, load_private_key(pem, "sandbox WeChat Pay key"))
        self._platform = self._load_platform()
        if store.get_meta("wx_default_mchid") is None:
            self._create_default(merchant_key)

    # -- WeChat's keys ----------------------------------------------------------------------------

    @staticmethod
    def _new_platform(key: rsa.RSAPrivateKey | None = None, days: int = 5 * 365) -> dict[str, str]:
        made = generate_merchant_certificate(
            "Tenpay.com Root CA (Zhifu sandbox platform certificate)",
            organization="Tenpay.com (Zhifu sandbox)",
            days=days,
            private_key=key,
        )
        return {"private_pem": made.private_pem, "cert_pem": made.certificate_pem}

    def _store_platform(self, items: list[dict[str, str]]) -> None:
        self.store.set_json("wx_platform", items)

    def _load_platform(self) -> list[WechatKey]:
        items: list[dict[str, str]] = self.store.get_json("wx_platform", [])
        keys = []
        for item in items:
            cert = load_certificate(item["cert_pem"])
            keys.append(
                WechatKey(
                    certificate_serial(cert),
                    load_private_key(item["private_pem"], "sandbox platform key"),
                    item["cert_pem"],
                )
            )
        return keys

    @property
    def platform(self) -> list[WechatKey]:
        """Platform certificates, oldest first; WeChat signs with the newest."""
        return list(self._platform)

    def newest_platform(self) -> WechatKey:
        return self._platform[-1]

    def rotate_platform(self) -> WechatKey:
        """A new platform certificate that outlives the others (WeChat signs with it from now)."""
        items: list[dict[str, str]] = self.store.get_json("wx_platform", [])
        items.append(self._new_platform(days=5 * 365 + len(items)))
        self._store_platform(items)
        self._platform = self._load_platform()
        return self._platform[-1]

    def key_by_serial(self, serial: str) -> WechatKey | None:
        if serial == self.public.serial:
            return self.public
        for key in self._platform:
            if key.serial.upper() == serial.upper():
                return key
        return None

    def signing_key(self, merchant: Merchant, request_serial: str | None) -> WechatKey:
        """The key an API answer is signed with, as the merchant's mode says."""
        if merchant.mode == "public_key":
            return self.public
        if merchant.mode == "migration" and request_serial == self.public.serial:
            return self.public
        return self.newest_platform()

    def notification_key(self, merchant: Merchant) -> WechatKey:
        """Migration: the public key with the merchant's share, else the certificate."""
        if merchant.mode == "public_key":
            return self.public
        if merchant.mode == "migration":
            draw = secrets.randbelow(1_000_000) / 1_000_000
            if draw < merchant.public_key_share:
                return self.public
        return self.newest_platform()

    def other_key(self, key: WechatKey) -> WechatKey:
        """The key of the other kind (a migration fault: signed by the key the site lacks)."""
        return self.newest_platform() if key is self.public else self.public

    # -- merchants --------------------------------------------------------------------------------

    def _create_default(self, key: rsa.RSAPrivateKey | None) -> None:
        mchid = "19" + _digits(8)
        made = generate_merchant_certificate(mchid, private_key=key)
        apiv3 = new_apiv3_key()
        self.register(made.certificate_pem, mchid=mchid, apiv3_key=apiv3, name="Zhifu 沙箱商户")
        self.store.set_meta("wx_default_mchid", mchid)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._write("apiclient_key.pem", made.private_pem, private=True)
        self._write("apiv3_key", apiv3 + "\n", private=True)

    def _write(self, name: str, text: str, *, private: bool = False) -> Path:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if private:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(text)
        else:
            path.write_text(text, encoding="ascii")
        return path

    def default(self) -> Merchant:
        found = self.merchant(self.store.get_meta("wx_default_mchid") or "")
        assert found is not None, "the default WeChat Pay merchant is missing"
        return found

    def merchant(self, mchid: str) -> Merchant | None:
        row = self.store.one("SELECT * FROM wx_merchants WHERE mchid = ?", (mchid,))
        return None if row is None else Merchant.from_row(row)

    def merchants(self) -> list[Merchant]:
        rows = self.store.query("SELECT * FROM wx_merchants ORDER BY created_at")
        return [Merchant.from_row(r) for r in rows]

    def by_appid(self, appid: str) -> list[Merchant]:
        rows = self.store.query("SELECT * FROM wx_merchants WHERE appid = ?", (appid,))
        return [Merchant.from_row(r) for r in rows]

    def register(
        self,
        certificate: str,
        *,
        mchid: str | None = None,
        appid: str | None = None,
        apiv3_key: str | None = None,
        name: str | None = None,
    ) -> Merchant:
        """Add a merchant by its API certificate (its serial and public key are what WeChat
        knows), or replace the certificate / APIv3 key of an existing mchid."""
        try:
            cert: x509.Certificate = load_certificate(certificate, "merchant certificate")
        except KeyFormatError as exc:
            raise MerchantError("invalid_certificate", exc.message) from None
        public = cert.public_key()
        if not isinstance(public, rsa.RSAPublicKey) or public.key_size < 2048:
            raise MerchantError(
                "invalid_certificate", "merchant certificate: expected an RSA key of 2048 bits"
            )
        if mchid is not None and not _MCHID.fullmatch(mchid):
            raise MerchantError("invalid_mchid", "mchid: use 6-32 digits")
        if appid is not None and not _APPID.fullmatch(appid):
            raise MerchantError("invalid_appid", "appid: use 1-32 letters, digits or _")
        if apiv3_key is not None:
            try:
                load_apiv3_key(apiv3_key)
            except KeyFormatError as exc:
                raise MerchantError("invalid_apiv3_key", exc.message) from None
        pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        with self.store.transaction() as db:
            row = None
            if mchid is not None:
                row = db.execute("SELECT * FROM wx_merchants WHERE mchid = ?", (mchid,)).fetchone()
            while mchid is None:
                candidate = "16" + _digits(8)
                if not db.execute(
                    "SELECT 1 FROM wx_merchants WHERE mchid = ?", (candidate,)
                ).fetchone():
                    mchid = candidate
            if row is not None:
                db.execute(
                    "UPDATE wx_merchants SET cert_pem = ?, serial = ?, appid = ?, apiv3_key = ? "
                    "WHERE mchid = ?",
                    (
                        pem,
                        certificate_serial(cert),
                        appid or row["appid"],
                        apiv3_key or row["apiv3_key"],
                        mchid,
                    ),
                )
            else:
                db.execute(
                    "INSERT INTO wx_merchants (mchid, appid, name, cert_pem, serial, apiv3_key, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        mchid,
                        appid or "wx" + secrets.token_hex(8),
                        name or f"沙箱商户 {mchid[-4:]}",
                        pem,
                        certificate_serial(cert),
                        apiv3_key or new_apiv3_key(),
                        self.clock.now(),
                    ),
                )
        merchant = self.merchant(mchid)
        assert merchant is not None
        return merchant

    def set_mode(self, mchid: str, mode: str | None, share: float | None) -> Merchant:
        if mode is not None and mode not in MODES:
            raise MerchantError("invalid_mode", f"mode: use one of {', '.join(MODES)}")
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM wx_merchants WHERE mchid = ?", (mchid,)).fetchone()
            if row is None:
                raise MerchantError("unknown_merchant", f"no WeChat Pay merchant {mchid!r}")
            db.execute(
                "UPDATE wx_merchants SET mode = ?, public_key_share = ? WHERE mchid = ?",
                (
                    mode or row["mode"],
                    row["public_key_share"] if share is None else share,
                    mchid,
                ),
            )
        merchant = self.merchant(mchid)
        assert merchant is not None
        return merchant

    # -- files ------------------------------------------------------------------------------------

    def files(self) -> dict[str, str]:
        return {
            "merchant_private_key": str(self.dir / "apiclient_key.pem"),
            "merchant_certificate": str(self.dir / "apiclient_cert.pem"),
            "apiv3_key": str(self.dir / "apiv3_key"),
            "wechatpay_public_key": str(self.dir / "pub_key.pem"),
            "platform_certificates_dir": str(self.dir / "platform_certs"),
        }

    def write_files(self, base_url: str, sandbox_json: Path) -> dict[str, Any]:
        """(Re)write the public key, the certificates and the ``wechatpay`` part of sandbox.json."""
        merchant = self.default()
        self._write("apiclient_cert.pem", merchant.cert_pem)
        self._write("pub_key.pem", self.public.public_pem)
        certs = self.dir / "platform_certs"
        certs.mkdir(parents=True, exist_ok=True)
        for key in self._platform:
            self._write(f"platform_certs/{key.serial}.pem", key.certificate_pem)
        section: dict[str, Any] = {
            "base_url": base_url,
            "mchid": merchant.mchid,
            "appid": merchant.appid,
            "merchant_serial_no": merchant.serial,
            "mode": merchant.mode,
            "wechatpay_public_key_id": self.public.serial,
            "platform_certificate_serials": [key.serial for key in self._platform],
            **{
                f"{name}_file" if not name.endswith("_dir") else name: path
                for name, path in self.files().items()
            },
        }
        try:
            info = json.loads(sandbox_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        if not isinstance(info, dict):
            info = {}
        info["wechatpay"] = section
        sandbox_json.write_text(
            json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return section
