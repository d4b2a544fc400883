"""Apps (merchants), sandbox buyers and the sandbox's own Alipay key; first-start set-up."""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from zhifu.alipay import Signer, generate_key_pair, load_private_key, load_public_key
from zhifu.alipay.keys import public_key_pem
from zhifu.money import format_amount, from_fen, to_fen

from .clock import Clock
from .store import Store

__all__ = [
    "ALIPAY_PUBLIC_KEY_FILE",
    "APP_PRIVATE_KEY_FILE",
    "APP_PUBLIC_KEY_FILE",
    "DEFAULT_BUYERS",
    "SANDBOX_JSON",
    "AccountError",
    "Accounts",
    "App",
    "Buyer",
]

APP_PRIVATE_KEY_FILE = "app_private_key.pem"
APP_PUBLIC_KEY_FILE = "app_public_key.pem"
ALIPAY_PUBLIC_KEY_FILE = "alipay_public_key.pem"
SANDBOX_JSON = "sandbox.json"
BUYER_PASSWORD = "111111"  # noqa: S105 - the Alipay sandbox's traditional test password

# (login, name, balance): the last one is deliberately poor, to try "insufficient balance".
DEFAULT_BUYERS: tuple[tuple[str, str, str], ...] = (
    ("buyer1@sandbox.com", "沙箱买家一", "1000000.00"),
    ("buyer2@sandbox.com", "沙箱买家二", "1000000.00"),
    ("poor@sandbox.com", "余额不足的买家", "1.00"),
)

_APP_ID = re.compile(r"[0-9A-Za-z]{1,32}")


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

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> App:
        return cls(row["app_id"], row["seller_id"], row["merchant_name"], row["app_public_key"])


@dataclass(frozen=True)
class Buyer:
    login: str
    user_id: str
    name: str
    balance: Decimal

    @property
    def masked_login(self) -> str:
        """``buy***@sandbox.com``, as Alipay shows ``buyer_logon_id``."""
        local, _, domain = self.login.partition("@")
        return f"{local[:3]}***@{domain}" if domain else f"{local[:3]}***"

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Buyer:
        return cls(row["login"], row["user_id"], row["name"], from_fen(int(row["balance_fen"])))


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


class Accounts:
    """Apps, buyers and the sandbox's Alipay key pair."""

    def __init__(self, store: Store, clock: Clock, data_dir: Path) -> None:
        self.store = store
        self.clock = clock
        self.data_dir = data_dir
        self._ensure_initialised()
        private_pem = store.get_meta("alipay_private_key")
        assert private_pem is not None
        key = load_private_key(private_pem)
        self.alipay_public_key_pem = public_key_pem(key)
        self._signers = {"RSA2": Signer(key, "RSA2"), "RSA": Signer(key, "RSA")}

    def signer(self, sign_type: str) -> Signer:
        return self._signers.get(sign_type, self._signers["RSA2"])

    # -- set-up ---------------------------------------------------------------------------------

    def _ensure_initialised(self) -> None:
        if self.store.get_meta("alipay_private_key") is None:
            self.store.set_meta("alipay_private_key", generate_key_pair().private_pem)
        if self.store.get_meta("default_app_id") is None:
            pair = generate_key_pair()
            app = self.register_app(pair.public_pem, merchant_name="Zhifu 沙箱商户")
            self.store.set_meta("default_app_id", app.app_id)
            self._write_file(APP_PRIVATE_KEY_FILE, pair.private_pem, private=True)
            self._write_file(APP_PUBLIC_KEY_FILE, pair.public_pem)
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
        """(Re)write alipay_public_key.pem and sandbox.json; return what sandbox.json holds."""
        self._write_file(ALIPAY_PUBLIC_KEY_FILE, self.alipay_public_key_pem)
        app = self.default_app()
        info: dict[str, object] = {
            "app_id": app.app_id,
            "seller_id": app.seller_id,
            "gateway_url": gateway_url,
            "sign_type": "RSA2",
            "app_private_key_file": str(self.data_dir / APP_PRIVATE_KEY_FILE),
            "app_public_key_file": str(self.data_dir / APP_PUBLIC_KEY_FILE),
            "alipay_public_key_file": str(self.data_dir / ALIPAY_PUBLIC_KEY_FILE),
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
        """Add an app with its public key, or replace the key of an existing app id."""
        try:
            pem = public_key_pem(load_public_key(app_public_key))
        except ValueError as exc:
            raise AccountError("invalid_app_public_key", f"app_public_key: {exc}") from None
        if app_id is not None and not _APP_ID.fullmatch(app_id):
            raise AccountError("invalid_app_id", "app_id: use 1-32 letters or digits")
        with self.store.transaction() as db:
            if app_id is not None:
                row = db.execute("SELECT * FROM apps WHERE app_id = ?", (app_id,)).fetchone()
                if row is not None:
                    db.execute("UPDATE apps SET app_public_key = ? WHERE app_id = ?", (pem, app_id))
                    return App(app_id, row["seller_id"], row["merchant_name"], pem)
            while app_id is None:
                candidate = "9021000" + _digits(9)
                if not db.execute("SELECT 1 FROM apps WHERE app_id = ?", (candidate,)).fetchone():
                    app_id = candidate
            seller_id = "2088" + _digits(12)
            name = merchant_name or f"沙箱商户 {app_id[-4:]}"
            db.execute(
                "INSERT INTO apps (app_id, seller_id, merchant_name, app_public_key, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (app_id, seller_id, name, pem, self.clock.now()),
            )
        return App(app_id, seller_id, name, pem)

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
