"""Who the probe's notifications claim to come from, and the keys that sign them.

A "valid-looking" notification is signed as the gateway signs it: with *Alipay's* private key, or
with *WeChat Pay's* private key (public-key id or platform certificate) plus the merchant's APIv3
key. Only a gateway has those — so only a sandbox: ``--sandbox-dir`` reads them from the data dir
of a running or stopped ``zhifu sandbox`` (``sandbox.json``, the key files beside it, and the
sandbox's database, where it keeps its own private keys), or they are given as files. A site
trusting real Alipay / WeChat Pay keys refuses these signatures — as it should.

Without signing keys a :class:`AlipayParty` / :class:`WechatParty` still carries identities
(app id, seller, merchant, serial: given or made up) for the forged messages, and ``can_sign`` is
false.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from zhifu.alipay import AlipayError, Signer
from zhifu.wechatpay import WechatPayError, load_apiv3_key, load_certificate
from zhifu.wechatpay import load_private_key as load_wechat_private_key
from zhifu.wechatpay.keys import certificate_serial

from .errors import ProbeInputError

__all__ = [
    "AlipayParty",
    "KeyOptions",
    "WechatParty",
    "alipay_party",
    "wechat_party",
]

# The sandbox's files (zhifu.sandbox.accounts.SANDBOX_JSON, zhifu.sandbox.store.DB_FILE,
# zhifu.sandbox.wechat.keys.WECHAT_DIR), spelled out so that reading keys does not start one.
SANDBOX_JSON = "sandbox.json"
SANDBOX_DB = "sandbox.sqlite3"
WECHAT_DIR = "wechatpay"


@dataclass(frozen=True)
class KeyOptions:
    """What the user gave: a sandbox data dir and/or explicit key files and identities."""

    sandbox_dir: Path | None = None
    alipay_private_key: Path | None = None
    app_id: str | None = None
    seller_id: str | None = None
    wechatpay_private_key: Path | None = None
    wechatpay_serial: str | None = None
    apiv3_key_file: Path | None = None
    mchid: str | None = None
    appid: str | None = None


@dataclass(frozen=True)
class AlipayParty:
    app_id: str
    seller_id: str
    signer: Signer | None  # signs as Alipay; None: no key, only unsigned/forged checks
    source: str  # where the key came from, for the report

    @property
    def can_sign(self) -> bool:
        return self.signer is not None


@dataclass(frozen=True)
class WechatParty:
    mchid: str
    appid: str
    serial: str  # the Wechatpay-Serial the site trusts: PUB_KEY_ID_… or a certificate serial
    private_key: rsa.RSAPrivateKey | None  # WeChat Pay's signing key for that serial
    apiv3_key: bytes | None  # the merchant's APIv3 key, to encrypt the resource
    source: str

    @property
    def can_sign(self) -> bool:
        return self.private_key is not None and self.apiv3_key is not None


def _digits(n: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(n))


# -- the sandbox's data dir -------------------------------------------------------------------


@dataclass(frozen=True)
class _Sandbox:
    dir: Path
    info: dict[str, Any]
    meta: dict[str, str]
    wechat_mode: str


def _read_sandbox(path: Path) -> _Sandbox:
    info_path = path / SANDBOX_JSON
    db_path = path / SANDBOX_DB
    if not path.is_dir():
        raise ProbeInputError(f"--sandbox-dir {path}: no such directory")
    if not info_path.is_file() or not db_path.is_file():
        raise ProbeInputError(
            f"--sandbox-dir {path}: not a sandbox data dir (no {SANDBOX_JSON} or {SANDBOX_DB}; "
            "start `zhifu sandbox --data-dir DIR` once to create one)"
        )
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProbeInputError(f"{info_path}: cannot read it: {exc}") from None
    if not isinstance(info, dict):
        raise ProbeInputError(f"{info_path}: expected a JSON object")
    try:
        # read-only: the sandbox may be running and writing meanwhile (WAL)
        db = sqlite3.connect(db_path.resolve().as_uri() + "?mode=ro", uri=True, timeout=10)
        try:
            meta = {str(k): str(v) for k, v in db.execute("SELECT key, value FROM meta")}
            mode = ""
            mchid = meta.get("wx_default_mchid")
            if mchid:
                try:
                    row = db.execute(
                        "SELECT mode FROM wx_merchants WHERE mchid = ?", (mchid,)
                    ).fetchone()
                except sqlite3.Error:
                    row = None  # a data dir from before WeChat Pay: no table
                mode = str(row[0]) if row else ""
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise ProbeInputError(f"{db_path}: cannot read the sandbox's keys: {exc}") from None
    return _Sandbox(path, info, meta, mode)


# -- Alipay -----------------------------------------------------------------------------------


def alipay_party(options: KeyOptions) -> AlipayParty:
    """The app and seller notifications name, and Alipay's signing key if one was given."""
    sandbox = _read_sandbox(options.sandbox_dir) if options.sandbox_dir else None
    info = sandbox.info if sandbox else {}
    app_id = options.app_id or str(info.get("app_id") or "") or "9021" + _digits(12)
    seller_id = options.seller_id or str(info.get("seller_id") or "") or "2088" + _digits(12)
    signer: Signer | None = None
    source = "no signing key"
    if options.alipay_private_key is not None:
        try:
            signer = Signer(Path(options.alipay_private_key))
        except (AlipayError, OSError) as exc:
            raise ProbeInputError(f"--alipay-private-key: {exc}") from None
        source = f"Alipay private key {options.alipay_private_key}"
    elif sandbox is not None:
        pem = sandbox.meta.get("alipay_private_key")
        if not pem:
            raise ProbeInputError(f"--sandbox-dir {sandbox.dir}: the sandbox has no Alipay key")
        try:
            signer = Signer(pem.encode("ascii"))
        except AlipayError as exc:
            raise ProbeInputError(f"--sandbox-dir {sandbox.dir}: Alipay key: {exc}") from None
        source = f"the sandbox's Alipay key ({sandbox.dir})"
    return AlipayParty(app_id=app_id, seller_id=seller_id, signer=signer, source=source)


# -- WeChat Pay -------------------------------------------------------------------------------


def _sandbox_wechat_keys(sandbox: _Sandbox) -> list[tuple[str, rsa.RSAPrivateKey]]:
    """WeChat's keys in the sandbox as (serial, private key): the public key first, then the
    platform certificates oldest first."""
    keys: list[tuple[str, rsa.RSAPrivateKey]] = []
    try:
        pem, key_id = sandbox.meta.get("wx_public_key"), sandbox.meta.get("wx_public_key_id")
        if pem and key_id:
            keys.append((key_id, load_wechat_private_key(pem, "sandbox WeChat Pay key")))
        for item in json.loads(sandbox.meta.get("wx_platform") or "[]"):
            cert = load_certificate(item["cert_pem"])
            key = load_wechat_private_key(item["private_pem"], "sandbox platform key")
            keys.append((certificate_serial(cert), key))
    except (WechatPayError, ValueError, KeyError, TypeError) as exc:
        raise ProbeInputError(f"--sandbox-dir {sandbox.dir}: WeChat Pay keys: {exc}") from None
    return keys


def _read_apiv3(path: Path, what: str) -> bytes:
    try:
        return load_apiv3_key(path.read_text(encoding="ascii", errors="replace"))
    except OSError as exc:
        raise ProbeInputError(f"{what} {path}: {exc.strerror or exc}") from None
    except WechatPayError as exc:
        raise ProbeInputError(f"{what} {path}: {exc.message}") from None


def wechat_party(options: KeyOptions) -> WechatParty:
    """The merchant notifications name, and WeChat Pay's signing key and the APIv3 key if given.

    From a sandbox, the key is the one its default merchant's mode signs notifications with
    (public key, or the newest platform certificate), unless ``wechatpay_serial`` names another.
    """
    sandbox = _read_sandbox(options.sandbox_dir) if options.sandbox_dir else None
    section = sandbox.info.get("wechatpay") if sandbox else None
    info: dict[str, Any] = section if isinstance(section, dict) else {}
    mchid = options.mchid or str(info.get("mchid") or "") or "19" + _digits(8)
    appid = options.appid or str(info.get("appid") or "") or "wx" + secrets.token_hex(8)
    serial = options.wechatpay_serial or ""
    private_key: rsa.RSAPrivateKey | None = None
    source = "no signing key"
    if options.wechatpay_private_key is not None:
        if not serial:
            raise ProbeInputError(
                "--wechatpay-private-key needs --wechatpay-serial: the PUB_KEY_ID_… or platform "
                "certificate serial your site trusts for that key"
            )
        try:
            private_key = load_wechat_private_key(
                Path(options.wechatpay_private_key), "WeChat Pay private key"
            )
        except WechatPayError as exc:
            raise ProbeInputError(f"--wechatpay-private-key: {exc.message}") from None
        except OSError as exc:
            raise ProbeInputError(f"--wechatpay-private-key: {exc.strerror or exc}") from None
        source = f"WeChat Pay private key {options.wechatpay_private_key}"
    elif sandbox is not None and sandbox.meta.get("wx_public_key"):
        keys = _sandbox_wechat_keys(sandbox)
        if serial:
            chosen = [k for k in keys if k[0].upper() == serial.upper()]
            if not chosen:
                raise ProbeInputError(
                    f"--wechatpay-serial {serial}: not one of the sandbox's WeChat Pay keys "
                    f"({', '.join(s for s, _ in keys)})"
                )
            serial, private_key = chosen[0]
        elif sandbox.wechat_mode == "certificate" and len(keys) > 1:
            serial, private_key = keys[-1]  # the newest platform certificate
        else:
            serial, private_key = keys[0]  # the public key (public_key and migration modes)
        source = f"the sandbox's WeChat Pay key {serial} ({sandbox.dir})"
    apiv3: bytes | None = None
    if options.apiv3_key_file is not None:
        apiv3 = _read_apiv3(Path(options.apiv3_key_file), "--apiv3-key-file")
    elif sandbox is not None and (sandbox.dir / WECHAT_DIR / "apiv3_key").is_file():
        apiv3 = _read_apiv3(sandbox.dir / WECHAT_DIR / "apiv3_key", "the sandbox's APIv3 key")
    if private_key is not None and apiv3 is None:
        raise ProbeInputError(
            "a WeChat Pay signing key without the APIv3 key: give --apiv3-key-file (the "
            "notification's resource is encrypted with it)"
        )
    if not serial:
        serial = str(info.get("wechatpay_public_key_id") or "") or "PUB_KEY_ID_01" + _digits(32)
    return WechatParty(
        mchid=mchid,
        appid=appid,
        serial=serial,
        private_key=private_key,
        apiv3_key=apiv3,
        source=source,
    )
