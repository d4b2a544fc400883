"""The `zhifu doctor` command: what each key and certificate file is, whether the pairs match,
serials and expiry, and the settings block to paste. Exit 0 if all is well, 1 if a finding is an
error, 2 if the input is unusable (a missing file, garbage, bad usage) — as the other commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .files import KeyFile, identify, scan_dir, unique
from .findings import Diagnosis, Finding, Options, examine
from .report import Skipped, as_json, as_text
from .roles import assign_roles

__all__ = ["add_parser", "diagnose", "run"]

DESCRIPTION = """\
Say what each file is (Alipay app key, Alipay public key or certificates, WeChat Pay merchant
key and certificate, WeChat Pay public key, platform certificates, APIv3 key), whether the app's
key pair matches, which public key belongs to whom, the certificate serials and SNs, and which
certificates expired; then print the ZHIFU settings block to paste. Private keys and the APIv3 key
are never printed: the block names them by path.

Exit status: 0 no error, 1 at least one finding of error severity, 2 unusable input."""


def add_parser(commands: Any) -> None:
    """Register `doctor` among the `zhifu` commands."""
    parser = commands.add_parser(
        "doctor",
        help="check Alipay / WeChat Pay key and certificate files, print the settings to paste",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="key, certificate or text files")
    parser.add_argument(
        "--dir",
        action="append",
        default=[],
        metavar="DIR",
        help="examine the files in DIR (and its sub-folders; repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON (for CI)")
    parser.add_argument(
        "--alipay-public-key",
        action="append",
        default=[],
        metavar="FILE",
        help="this file is what you use as Alipay's public key (checked against your app's key)",
    )
    parser.add_argument("--app-id", default="", help="Alipay app id, for the settings block")
    parser.add_argument("--seller-id", default="", help="Alipay merchant PID (2088…)")
    parser.add_argument("--mchid", default="", help="WeChat Pay merchant id (商户号)")
    parser.add_argument(
        "--wechatpay-appid", default="", metavar="APPID", help="appid bound to the WeChat merchant"
    )
    parser.add_argument(
        "--public-key-id", default="", metavar="ID", help="WeChat Pay public key id, PUB_KEY_ID_…"
    )
    parser.add_argument(
        "--merchant-serial", default="", metavar="HEX", help="WeChat merchant certificate serial"
    )
    parser.add_argument(
        "--site-url",
        default="",
        metavar="URL",
        help="the site's public URL, for NOTIFY_URL and RETURN_URL (e.g. https://shop.example.com)",
    )
    parser.set_defaults(func=run)


def _usable(code: str, message: str, fix: str, file: str = "") -> Finding:
    return Finding("unusable", code, message, fix, file)


def diagnose(
    paths: list[Path],
    folders: list[Path],
    options: Options,
    alipay_public_key: list[Path] | None = None,
) -> tuple[Diagnosis, list[Skipped]]:
    """Read, identify and check the files; the diagnosis and the folder files left aside."""
    alipay_public_key = alipay_public_key or []
    folders = list(folders)
    early: list[Finding] = []
    explicit: list[Path] = []
    for path in [*paths, *alipay_public_key]:
        if path.is_dir():
            folders.append(path)
        elif not path.exists():
            early.append(
                _usable("file.missing", f"{path}: no such file", "check the path", str(path))
            )
        else:
            explicit.append(path)
    from_folders: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            early.append(
                _usable("file.missing", f"{folder}: no such folder", "check --dir", str(folder))
            )
            continue
        try:
            from_folders += scan_dir(folder)
        except OSError as exc:
            early.append(
                _usable(
                    "file.unreadable",
                    f"{folder}: {exc.strerror or exc}",
                    "check its permissions",
                    str(folder),
                )
            )
    wanted = {p.resolve() for p in explicit}
    found: list[KeyFile] = []
    skipped: list[Skipped] = []
    for path in unique([*explicit, *from_folders]):
        try:
            file = identify(path)
        except OSError as exc:
            early.append(
                _usable(
                    "file.unreadable",
                    f"{path}: {exc.strerror or exc}",
                    "check the file's permissions (the site's user must read it too)",
                    str(path),
                )
            )
            continue
        if file.kind != "unknown":
            found.append(file)
        elif path.resolve() in wanted:
            early.append(
                _usable(
                    "file.unknown",
                    f"{path.name} is not a key, a certificate, an APIv3 key or a public key id "
                    f"Zhifu reads: {file.problem}",
                    "give the files as the Alipay console / WeChat Pay portal saved them",
                    str(path),
                )
            )
        else:
            skipped.append(Skipped(file))
    declared = frozenset(str(p) for p in alipay_public_key)
    assigned = assign_roles(found, alipay_public_key=declared)
    assigned_files = {id(a.file) for a in assigned}
    for file in found:
        if id(file) not in assigned_files:  # e.g. a short text that is not a 32-character key
            if file.path.resolve() in wanted:
                early.append(
                    _usable(
                        "file.unknown",
                        f"{file.name}: a short text of {file.text_length} characters, not a key",
                        "an APIv3 key has exactly 32 characters; name its file apiv3_key",
                        str(file.path),
                    )
                )
            else:
                skipped.append(Skipped(KeyFile(file.path, "unknown", problem="short text")))
    return examine(assigned, options, early), skipped


def _site_url(value: str) -> str:
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--site-url {value!r} is not an absolute http(s) URL")
    return value


def _local_sandbox(dirs: list[Path]) -> dict[str, Any]:
    """The ``sandbox.json`` of a local sandbox's data folder among ``dirs`` (``zhifu sandbox``
    writes it beside its keys): the ids and gateway URLs the key files cannot tell."""
    for folder in dirs:
        try:
            data = json.loads((folder / "sandbox.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            return data
    return {}


def run(args: argparse.Namespace) -> int:
    from ..cli import EXIT_UNUSABLE

    try:
        site = _site_url(args.site_url)
    except ValueError as exc:
        print(f"zhifu doctor: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    if not args.files and not args.dir and not args.alipay_public_key:
        print(
            "zhifu doctor: error: give files, or a folder with --dir (see zhifu doctor --help)",
            file=sys.stderr,
        )
        return EXIT_UNUSABLE
    local = _local_sandbox([Path(p) for p in args.dir])
    wechat = local.get("wechatpay")
    wx: dict[str, Any] = wechat if isinstance(wechat, dict) else {}
    options = Options(
        app_id=args.app_id.strip() or str(local.get("app_id") or ""),
        seller_id=args.seller_id.strip() or str(local.get("seller_id") or ""),
        mchid=args.mchid.strip() or str(wx.get("mchid") or ""),
        wechatpay_appid=args.wechatpay_appid.strip() or str(wx.get("appid") or ""),
        public_key_id=args.public_key_id.strip() or str(wx.get("wechatpay_public_key_id") or ""),
        merchant_serial=args.merchant_serial.strip() or str(wx.get("merchant_serial_no") or ""),
        site_url=site,
        alipay_gateway=str(local.get("gateway_url") or ""),
        wechatpay_gateway=str(wx.get("base_url") or ""),
    )
    diagnosis, skipped = diagnose(
        [Path(p) for p in args.files],
        [Path(p) for p in args.dir],
        options,
        [Path(p) for p in args.alipay_public_key],
    )
    sys.stdout.write(as_json(diagnosis, skipped) if args.json else as_text(diagnosis, skipped))
    return diagnosis.exit_code
