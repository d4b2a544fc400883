"""Apps (merchants), sandbox buyers and the sandbox's own Alipay key; first-start set-up.

Each app has a public key, a public-key certificate (for certificate mode) and a seller
balance: payments add to it, refunds take from it, and a refund larger than it is refused with
``ACQ.SELLER_BALANCE_NOT_ENOUGH``, as Alipay refuses a merchant who withdrew everything.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from zhifu.alipay import (
    KeyFormatError,
    Signer,
    cert_sn,
    load_private_key,
    load_public_key,
    root_cert_sn,
)
from zhifu.alipay.certs import load_certificates
from zhifu.alipay.keys import public_key_pem
from zhifu.money import format_amount, from_fen, to_fen

from .certificates import issue_certificate, make_root_bundle
from .clock import Clock
from .store import Store

__all__ = [
    "ALIPAY_PUBLIC_CERT_FILE",
    "ALIPAY_PUBLIC_KEY_FILE",
    "ALIPAY_ROOT_CERT_FILE",
    "APP_CERT_FILE",
    "APP_PRIVATE_KEY_FILE",
    "APP_PUBLIC_KEY_FILE",
    "DEFAULT_BUYERS",
    "SANDBOX_JSON",
    "AccountError",
    "Accounts",
    "App",
    "Buyer",
    "SandboxKeys",
    "mask_login",
]

APP_PRIVATE_KEY_FILE = "app_private_key.pem"
APP_PUBLIC_KEY_FILE = "app_public_key.pem"
ALIPAY_PUBLIC_KEY_FILE = "alipay_public_key.pem"
# certificate mode: Alipay's names are appCertPublicKey_<appid>.crt, alipayCertPublicKey_RSA2.crt
# and alipayRootCert.crt
APP_CERT_FILE = "app_cert.crt"
ALIPAY_PUBLIC_CERT_FILE = "alipay_public_cert.crt"
ALIPAY_ROOT_CERT_FILE = "alipay_root_cert.crt"
SANDBOX_JSON = "sandbox.json"
BUYER_PASSWORD = "111111"  # noqa: S105 - the Alipay sandbox's traditional test password

# (login, name, balance): the last one is deliberately poor, to try "insufficient balance".
DEFAULT_BUYERS: tuple[tuple[str, str, str], ...] = (
    ("buyer1@sandbox.com", "沙箱买家一", "1000000.00"),
    ("buyer2@sandbox.com", "沙箱买家二", "1000000.00"),
    ("poor@sandbox.com", "余额不足的买家", "1.00"),
)

_APP_ID = re.compile(r"[0-9A-Za-z]{1,32}")


def mask_login(login: str) -> str:
    """``buy***@sandbox.com``, as Alipay shows ``buyer_logon_id``."""
    if not login:
        return ""
    local, _, domain = login.partition("@")
    return f"{local[:3]}***@{domain}" if domain else f"{local[:3]}***"


@dataclass(frozen=True)
class SandboxKeys:
    """Private keys a new sandbox starts with instead of generating its own.

    Generating an RSA-2048 key costs a tenth of a second or more, and so does loading one from
    PEM (its validity is checked); a test session generates one set and gives it to every
    sandbox it starts. Used only when the data dir is new.
    """

    alipay: rsa.RSAPrivateKey
    app: rsa.RSAPrivateKey
    root: rsa.RSAPrivateKey
    # WeChat Pay: the default merchant's API key, the WeChat Pay public key, a platform cert's key
    wechat_merchant: rsa.RSAPrivateKey | None = None
    wechat_public: rsa.RSAPrivateKey | None = None
    wechat_platform: rsa.RSAPrivateKey | None = None

    @classmethod
    def generate(cls) -> SandboxKeys:
        return cls(*(_new_key() for _ in range(6)))


class AccountError(ValueError):
    """Bad input for an account operation; ``code`` is a stable snake_case string."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class App:
    app_id: str
    seller_id: str
    merchant_name: str
    app_public_key: str
    cert_pem: str = ""
    cert_sn: str = ""
    balance: Decimal = Decimal("0.00")

    @property
    def seller_email(self) -> str:
        """The seller's account, as notifications carry it (``seller_email``)."""
        return f"seller{self.seller_id[-6:]}@sandbox.com"

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> App:
        return cls(
            row["app_id"],
            row["seller_id"],
            row["merchant_name"],
            row["app_public_key"],
            row["cert_pem"],
            row["cert_sn"],
            from_fen(int(row["balance_fen"])),
        )


@dataclass(frozen=True)
class Buyer:
    login: str
    user_id: str
    name: str
    balance: Decimal

    @property
    def masked_login(self) -> str:
        return mask_login(self.login)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Buyer:
        return cls(row["login"], row["user_id"], row["name"], from_fen(int(row["balance_fen"])))


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


class Accounts:
    """Apps, buyers and the sandbox's Alipay key pair."""

    def __init__(
        self, store: Store, clock: Clock, data_dir: Path, keys: SandboxKeys | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.data_dir = data_dir
        # each key is loaded at most once (~0.1 s each), the root one only when a certificate
        # is to be issued
        self._alipay_key: rsa.RSAPrivateKey | None = keys.alipay if keys else None
        self._root_key: rsa.RSAPrivateKey | None = keys.root if keys else None
        self._ensure_initialised(keys)
        root_bundle = store.get_meta("root_certs")
        alipay_cert = store.get_meta("alipay_cert")
        assert root_bundle is not None and alipay_cert is not None
        key = self._alipay()
        self.alipay_public_key_pem = public_key_pem(key)
        self._signers = {"RSA2": Signer(key, "RSA2"), "RSA": Signer(key, "RSA")}
        self.root_cert_pem = root_bundle
        self.root_cert_sn = root_cert_sn(root_bundle)
        self.alipay_cert_pem = alipay_cert
        self.alipay_cert_sn = cert_sn(alipay_cert)

    def signer(self, sign_type: str) -> Signer:
        return self._signers.get(sign_type, self._signers["RSA2"])

    # -- set-up ---------------------------------------------------------------------------------

    def _alipay(self) -> rsa.RSAPrivateKey:
        if self._alipay_key is None:
            pem = self.store.get_meta("alipay_private_key")
            assert pem is not None
            self._alipay_key = load_private_key(pem)
        return self._alipay_key

    def _root(self) -> rsa.RSAPrivateKey:
        if self._root_key is None:
            pem = self.store.get_meta("root_private_key")
            assert pem is not None
            self._root_key = load_private_key(pem)
        return self._root_key

    def _ensure_initialised(self, keys: SandboxKeys | None) -> None:
        if self.store.get_meta("alipay_private_key") is None:
            self._alipay_key = self._alipay_key or _new_key()
            self.store.set_meta("alipay_private_key", _pkcs8(self._alipay_key))
        elif keys is not None:
            self._alipay_key = None  # an existing data dir keeps its own key
        if self.store.get_meta("root_private_key") is None:  # also for data dirs made before
            self._root_key = self._root_key or _new_key()
            self.store.set_meta("root_private_key", _pkcs8(self._root_key))
            self.store.set_meta("root_certs", make_root_bundle(self._root_key))
            alipay_cert = issue_certificate(
                self._root_key,
                self._alipay().public_key(),
                "支付宝(中国)网络技术有限公司 (Zhifu sandbox)",
                "Zhifu Sandbox",
            )
            self.store.set_meta("alipay_cert", alipay_cert)
        elif keys is not None:
            self._root_key = None
        if self.store.get_meta("default_app_id") is None:
            private = keys.app if keys else _new_key()
            public_pem = public_key_pem(private)
            app = self.register_app(public_pem, merchant_name="Zhifu 沙箱商户")
            self.store.set_meta("default_app_id", app.app_id)
            self._write_file(APP_PRIVATE_KEY_FILE, _pkcs8(private), private=True)
            self._write_file(APP_PUBLIC_KEY_FILE, public_pem)
        for app in self.apps():  # apps registered before certificates existed
            if not app.cert_pem:
                self.register_app(app.app_public_key, app.app_id)
        with self.store.transaction() as db:
            for login, name, balance in DEFAULT_BUYERS:
                if db.execute("SELECT 1 FROM buyers WHERE login = ?", (login,)).fetchone():
                    continue
                db.execute(
                    "INSERT INTO buyers (login, password, user_id, name, balance_fen) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (login, BUYER_PASSWORD, "2088" + _digits(12), name, to_fen(Decimal(balance))),
                )

    def _write_file(self, name: str, text: str, *, private: bool = False) -> Path:
        path = self.data_dir / name
        if private:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(text)
        else:
            path.write_text(text, encoding="ascii")
        return path

    def write_files(self, gateway_url: str) -> dict[str, object]:
        """(Re)write the Alipay key, the certificates and sandbox.json; return what
        sandbox.json holds."""
        self._write_file(ALIPAY_PUBLIC_KEY_FILE, self.alipay_public_key_pem)
        self._write_file(ALIPAY_PUBLIC_CERT_FILE, self.alipay_cert_pem)
        self._write_file(ALIPAY_ROOT_CERT_FILE, self.root_cert_pem)
        app = self.default_app()
        self._write_file(APP_CERT_FILE, app.cert_pem)
        info: dict[str, object] = {
            "app_id": app.app_id,
            "seller_id": app.seller_id,
            "seller_email": app.seller_email,
            "gateway_url": gateway_url,
            "sign_type": "RSA2",
            "app_private_key_file": str(self.data_dir / APP_PRIVATE_KEY_FILE),
            "app_public_key_file": str(self.data_dir / APP_PUBLIC_KEY_FILE),
            "alipay_public_key_file": str(self.data_dir / ALIPAY_PUBLIC_KEY_FILE),
            "app_cert_file": str(self.data_dir / APP_CERT_FILE),
            "alipay_public_cert_file": str(self.data_dir / ALIPAY_PUBLIC_CERT_FILE),
            "alipay_root_cert_file": str(self.data_dir / ALIPAY_ROOT_CERT_FILE),
            "app_cert_sn": app.cert_sn,
            "alipay_cert_sn": self.alipay_cert_sn,
            "alipay_root_cert_sn": self.root_cert_sn,
            "buyers": [
                {"login": b.login, "password": BUYER_PASSWORD, "balance": format_amount(b.balance)}
                for b in self.buyers()
            ],
        }
        (self.data_dir / SANDBOX_JSON).write_text(
            json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return info

    # -- apps -----------------------------------------------------------------------------------

    def default_app(self) -> App:
        app_id = self.store.get_meta("default_app_id")
        app = self.app(app_id or "")
        assert app is not None, "the default app is missing from the sandbox database"
        return app

    def app(self, app_id: str) -> App | None:
        row = self.store.one("SELECT * FROM apps WHERE app_id = ?", (app_id,))
        return None if row is None else App.from_row(row)

    def apps(self) -> list[App]:
        return [App.from_row(r) for r in self.store.query("SELECT * FROM apps ORDER BY created_at")]

    def register_app(
        self, app_public_key: str, app_id: str | None = None, merchant_name: str | None = None
    ) -> App:
        """Add an app, or replace the key of an existing app id.

        ``app_public_key`` is the app's public key (the sandbox then issues its public-key
        certificate, as Alipay does from a CSR) or its public-key certificate (registered as
        it is: its SN is the ``app_cert_sn`` certificate-mode requests must carry).
        """
        try:
            key = load_public_key(app_public_key)
        except ValueError as exc:
            raise AccountError("invalid_app_public_key", f"app_public_key: {exc}") from None
        pem = public_key_pem(key)
        if app_id is not None and not _APP_ID.fullmatch(app_id):
            raise AccountError("invalid_app_id", "app_id: use 1-32 letters or digits")
        with self.store.transaction() as db:
            row = None
            if app_id is not None:
                row = db.execute("SELECT * FROM apps WHERE app_id = ?", (app_id,)).fetchone()
            while app_id is None:
                candidate = "9021000" + _digits(9)
                if not db.execute("SELECT 1 FROM apps WHERE app_id = ?", (candidate,)).fetchone():
                    app_id = candidate
            name = row["merchant_name"] if row else merchant_name or f"沙箱商户 {app_id[-4:]}"
            cert_pem = self._app_certificate(app_public_key, key, app_id, name)
            if row is not None:
                db.execute(
                    "UPDATE apps SET app_public_key = ?, cert_pem = ?, cert_sn = ? "
                    "WHERE app_id = ?",
                    (pem, cert_pem, cert_sn(cert_pem), app_id),
                )
            else:
                db.execute(
                    "INSERT INTO apps (app_id, seller_id, merchant_name, app_public_key, "
                    "cert_pem, cert_sn, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        app_id,
                        "2088" + _digits(12),
                        name,
                        pem,
                        cert_pem,
                        cert_sn(cert_pem),
                        self.clock.now(),
                    ),
                )
        app = self.app(app_id)
        assert app is not None
        return app

    def _app_certificate(
        self, given: str, key: rsa.RSAPublicKey, app_id: str, merchant_name: str
    ) -> str:
        if "-----BEGIN CERTIFICATE-----" in given:
            try:
                certificate = load_certificates(given)[0]
            except KeyFormatError as exc:
                raise AccountError("invalid_app_public_key", f"app_public_key: {exc}") from None
            return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
        return issue_certificate(self._root(), key, app_id, merchant_name)

    def set_seller_balance(self, app_id: str, balance: Decimal) -> App:
        with self.store.transaction() as db:
            cur = db.execute(
                "UPDATE apps SET balance_fen = ? WHERE app_id = ?", (to_fen(balance), app_id)
            )
            if cur.rowcount != 1:
                raise AccountError("unknown_app", f"no app {app_id!r} in this sandbox")
        app = self.app(app_id)
        assert app is not None
        return app

    # -- buyers ---------------------------------------------------------------------------------

    def buyers(self) -> list[Buyer]:
        return [Buyer.from_row(r) for r in self.store.query("SELECT * FROM buyers ORDER BY login")]

    def buyer(self, login: str) -> Buyer | None:
        row = self.store.one("SELECT * FROM buyers WHERE login = ?", (login,))
        return None if row is None else Buyer.from_row(row)

    def authenticate(self, login: str, password: str) -> Buyer | None:
        row = self.store.one("SELECT * FROM buyers WHERE login = ?", (login.strip(),))
        if row is None or not secrets.compare_digest(str(row["password"]), password):
            return None
        return Buyer.from_row(row)

    def reset_buyers(self) -> None:
        """Every default buyer back to its starting balance (other buyers are not touched)."""
        with self.store.transaction() as db:
            for login, _, balance in DEFAULT_BUYERS:
                db.execute(
                    "UPDATE buyers SET balance_fen = ? WHERE login = ?",
                    (to_fen(Decimal(balance)), login),
                )

    def set_balance(self, login: str, balance: Decimal) -> Buyer:
        with self.store.transaction() as db:
            cur = db.execute(
                "UPDATE buyers SET balance_fen = ? WHERE login = ?", (to_fen(balance), login)
            )
            if cur.rowcount != 1:
                raise AccountError("unknown_buyer", f"no sandbox buyer {login!r}")
        buyer = self.buyer(login)
        assert buyer is not None
        return buyer


def _pkcs8(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
