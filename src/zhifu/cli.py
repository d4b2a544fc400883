"""The ``zhifu`` command: ``keygen``, ``alipay verify`` and ``sandbox``.

Errors are one clear line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .alipay import AlipayError, SignatureError, Verifier, generate_key_pair, notification_content
from .alipay.signing import SIGN_TYPES, flatten_params
from .doctor import cli as doctor_cli
from .money import AmountError
from .paylinks import cli as paylinks_cli
from .probe import cli as probe_cli

__all__ = ["main"]

PROG = "zhifu"
EXIT_OK = 0
EXIT_FAILED = 1  # the signature does not hold / the command could not do its job
EXIT_UNUSABLE = 2  # unusable input (bad key file, no sign, garbage) or bad usage


class CommandError(Exception):
    """A failure to report as one line, with an exit status."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


# -- keygen ---------------------------------------------------------------------------------------


def _write_new(path: Path, text: str, mode: int, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)  # an existing file overwritten with --force gets the mode too
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)


def cmd_keygen(args: argparse.Namespace) -> int:
    if args.wechatpay:
        return keygen_wechatpay(args)
    out = Path(args.out)
    private_path = out / "app_private_key.pem"
    public_path = out / "app_public_key.pem"
    if not args.force:
        existing = [str(p) for p in (private_path, public_path) if p.exists()]
        if existing:
            raise CommandError(
                f"refusing to overwrite {', '.join(existing)} (use --force to replace the keys)"
            )
    out.mkdir(parents=True, exist_ok=True)
    pair = generate_key_pair()
    _write_new(private_path, pair.private_pem, 0o600, args.force)
    _write_new(public_path, pair.public_pem, 0o644, args.force)
    print(f"app private key (PKCS#8, keep secret, mode 0600): {private_path}")
    print(f"app public key (SubjectPublicKeyInfo): {public_path}")
    print("public key to paste into the Alipay console (应用公钥):")
    print(pair.public_one_line)
    return EXIT_OK


def keygen_wechatpay(args: argparse.Namespace) -> int:
    """A merchant API key, a self-signed merchant certificate and an APIv3 key, named as the
    WeChat Pay portal names them, for the local sandbox (real ones come from the portal)."""
    import secrets
    import string

    from .wechatpay import generate_merchant_certificate

    out = Path(args.out)
    paths = {name: out / name for name in ("apiclient_key.pem", "apiclient_cert.pem", "apiv3_key")}
    if not args.force:
        existing = [str(p) for p in paths.values() if p.exists()]
        if existing:
            raise CommandError(
                f"refusing to overwrite {', '.join(existing)} (use --force to replace them)"
            )
    made = generate_merchant_certificate(args.mchid or "zhifu sandbox merchant")
    alphabet = string.ascii_letters + string.digits
    apiv3_key = "".join(secrets.choice(alphabet) for _ in range(32))
    out.mkdir(parents=True, exist_ok=True)
    _write_new(paths["apiclient_key.pem"], made.private_pem, 0o600, args.force)
    _write_new(paths["apiclient_cert.pem"], made.certificate_pem, 0o644, args.force)
    _write_new(paths["apiv3_key"], apiv3_key + "\n", 0o600, args.force)
    print(
        f"merchant API private key (PKCS#8, keep secret, mode 0600): {paths['apiclient_key.pem']}"
    )
    print(f"merchant API certificate (self-signed, for the sandbox): {paths['apiclient_cert.pem']}")
    print(f"APIv3 key (32 characters, keep secret, mode 0600): {paths['apiv3_key']}")
    print("merchant certificate serial (merchant_serial_no):")
    print(made.serial)
    return EXIT_OK


# -- alipay verify --------------------------------------------------------------------------------


def _query_of(text: str) -> str:
    """The parameter string inside a notification body, a return URL or a bare query string."""
    if text.lower().startswith(("http://", "https://")):
        return urlsplit(text).query
    head, sep, tail = text.partition("?")
    if sep and "=" not in head and "&" not in head:  # e.g. /alipay/return/?a=b or ?a=b
        return tail
    return text


def parse_signed_params(text: str) -> dict[str, str]:
    """Decoded parameters of a form body / URL / query string; duplicates are refused."""
    query = _query_of(text.strip())
    if not query or "=" not in query:
        raise CommandError(
            "no parameters found: give a notification body (a=b&c=d), a return URL or a "
            "query string",
            EXIT_UNUSABLE,
        )
    parsed = parse_qs(query, keep_blank_values=True, errors="replace")
    charset = (parsed.get("charset") or ["utf-8"])[0].strip().lower()
    if charset in ("gbk", "gb2312", "gb18030"):
        parsed = parse_qs(query, keep_blank_values=True, encoding="gb18030", errors="replace")
    try:
        return flatten_params(parsed)
    except SignatureError as exc:
        raise CommandError(exc.message, EXIT_UNUSABLE) from None


def cmd_alipay_verify(args: argparse.Namespace) -> int:
    try:
        verifier = Verifier(Path(args.alipay_public_key))
    except AlipayError as exc:
        raise CommandError(str(exc), EXIT_UNUSABLE) from None
    text = args.data if args.data is not None else sys.stdin.read()
    params = parse_signed_params(text)
    sign = params.get("sign", "")
    if not sign:
        raise CommandError("no 'sign' parameter in the input", EXIT_UNUSABLE)
    sign_type = params.get("sign_type") or "RSA2"
    if sign_type not in SIGN_TYPES:
        raise CommandError(
            f"unsupported sign_type {sign_type!r}; expected RSA2 or RSA", EXIT_UNUSABLE
        )
    charset = params.get("charset") or "utf-8"
    variants = [("documented: without sign and sign_type", False)]
    if "sign_type" in params:
        variants.append(("older variant: sign_type kept", True))
    for label, keep in variants:
        content = notification_content(params, keep_sign_type=keep)
        try:
            ok = verifier.verify(content, sign, sign_type, charset)
        except SignatureError as exc:
            raise CommandError(exc.message, EXIT_UNUSABLE) from None
        print(f"string that was signed ({label}, {sign_type}, {charset}):")
        print(content)
        if ok:
            print("signature OK")
            return EXIT_OK
        print("signature does NOT match")
    print("the signature does not hold with this Alipay public key", file=sys.stderr)
    return EXIT_FAILED


# -- wechatpay verify -----------------------------------------------------------------------------


def _read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def cmd_wechatpay_verify(args: argparse.Namespace) -> int:
    import json

    from .wechatpay import (
        Verifier,
        WechatPayError,
        load_apiv3_key,
        parse_notification,
    )
    from .wechatpay.capture import parse_captured_request, parse_header_lines

    if args.request is None and (args.headers is None or args.body is None):
        raise CommandError(
            "give --request FILE (a captured request), or --headers FILE and --body FILE",
            EXIT_UNUSABLE,
        )
    try:
        if (args.public_key is None) != (args.public_key_id is None):
            raise CommandError("give --public-key and --public-key-id together", EXIT_UNUSABLE)
        verifier = Verifier(
            public_key=Path(args.public_key) if args.public_key else None,
            public_key_id=args.public_key_id,
            certificates=[Path(p) for p in args.platform_cert] if args.platform_cert else None,
        )
        apiv3_text = os.environ.get("WECHATPAY_APIV3_KEY")
        if args.apiv3_key_file:
            apiv3_text = Path(args.apiv3_key_file).read_text(encoding="ascii", errors="replace")
        apiv3_key = load_apiv3_key(apiv3_text) if apiv3_text else None
        if args.request is not None:
            headers, body = parse_captured_request(_read_input(args.request))
        else:
            headers = parse_header_lines(
                _read_input(args.headers).decode("utf-8", errors="replace")
            )
            body = _read_input(args.body)
    except WechatPayError as exc:
        raise CommandError(exc.message, EXIT_UNUSABLE) from None
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        raise CommandError(f"{exc.strerror or exc}{where}", EXIT_UNUSABLE) from None
    lowered = {name.lower(): value for name, value in headers.items()}
    stamp = lowered.get("wechatpay-timestamp", "")
    now = float(stamp) if args.any_time and stamp.isdigit() else None
    if stamp.isdigit():
        print(f"Wechatpay-Timestamp: {stamp} ({_beijing_iso(int(stamp)) or 'out of range'})")
    print(f"Wechatpay-Serial: {lowered.get('wechatpay-serial', '(missing)')}")
    try:
        verified = verifier.verify(headers, body, now=now)
    except WechatPayError as exc:
        print(f"signature does NOT hold: {exc.message}")
        if body.endswith(b"\n"):
            try:
                verifier.verify(headers, body.rstrip(b"\r\n"), now=now)
            except WechatPayError:
                pass
            else:
                print("(it holds without the trailing newline: the capture added one)")
        print("the signature does not hold", file=sys.stderr)
        return EXIT_FAILED
    print(f"signature OK, key: {verified.describe()}")
    if apiv3_key is None:
        print("resource not decrypted: give --apiv3-key-file or WECHATPAY_APIV3_KEY")
        return EXIT_OK
    try:
        notification = parse_notification(body, apiv3_key, verified)
    except WechatPayError as exc:
        print(f"resource does NOT decrypt: {exc.message}")
        return EXIT_FAILED
    print(f"event: {notification.event_type} id={notification.id}")
    print("resource (decrypted):")
    print(json.dumps(notification.resource, ensure_ascii=False, indent=2, sort_keys=True))
    return EXIT_OK


def _beijing_iso(timestamp: int) -> str:
    from datetime import datetime

    from .wechatpay import BEIJING

    try:
        return datetime.fromtimestamp(timestamp, BEIJING).isoformat()
    except (OverflowError, OSError, ValueError):
        return ""


# -- sandbox --------------------------------------------------------------------------------------


def cmd_sandbox(args: argparse.Namespace) -> int:
    if not (args.time_scale > 0 and math.isfinite(args.time_scale)):
        raise CommandError("--time-scale must be a positive number", EXIT_UNUSABLE)
    from .sandbox.server import serve  # lazy: the sandbox is only needed here

    if not (args.timestamp_skew >= 0 and math.isfinite(args.timestamp_skew)):
        raise CommandError(
            "--timestamp-skew must be a number of seconds >= 0 (0: unchecked)", EXIT_UNUSABLE
        )
    try:
        serve(args.host, args.port, Path(args.data_dir), args.time_scale, args.timestamp_skew)
    except SystemExit as exc:  # serve() reports start-up failures this way
        if isinstance(exc.code, str):
            raise CommandError(exc.code.removeprefix("zhifu sandbox: ")) from None
        return int(exc.code or 0)
    return EXIT_OK


# -- wiring ---------------------------------------------------------------------------------------


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Zhifu: Alipay and WeChat Pay checkout for Django, and a local sandbox of both.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    keygen = commands.add_parser("keygen", help="generate an RSA-2048 app key pair")
    keygen.add_argument("--out", required=True, metavar="DIR", help="directory for the PEM files")
    keygen.add_argument("--force", action="store_true", help="overwrite existing key files")
    keygen.add_argument(
        "--wechatpay",
        action="store_true",
        help="make a WeChat Pay merchant key, self-signed merchant certificate and APIv3 key "
        "(apiclient_key.pem, apiclient_cert.pem, apiv3_key) for the sandbox",
    )
    keygen.add_argument("--mchid", help="merchant id for the certificate's common name")
    keygen.set_defaults(func=cmd_keygen)

    alipay = commands.add_parser("alipay", help="Alipay protocol tools")
    alipay_commands = alipay.add_subparsers(dest="alipay_command", metavar="COMMAND")
    alipay_commands.required = True
    verify = alipay_commands.add_parser(
        "verify",
        help="check the signature of a notification body or a return URL",
        description=(
            "Read a notification form body (a=b&c=d), a return URL or a query string, print "
            "the string Alipay signed, and exit 0 if the signature holds, 1 if not, 2 if the "
            "input or key is unusable."
        ),
    )
    verify.add_argument(
        "--alipay-public-key", required=True, metavar="FILE", help="Alipay public key or cert"
    )
    verify.add_argument("--data", metavar="STRING", help="the data (default: read stdin)")
    verify.set_defaults(func=cmd_alipay_verify)
    paylinks_cli.add_parser(alipay_commands)

    wechatpay = commands.add_parser("wechatpay", help="WeChat Pay API v3 protocol tools")
    wechatpay_commands = wechatpay.add_subparsers(dest="wechatpay_command", metavar="COMMAND")
    wechatpay_commands.required = True
    wx_verify = wechatpay_commands.add_parser(
        "verify",
        help="check a notification's (or response's) signature and decrypt its resource",
        description=(
            "Read a captured request (--request) or headers and body (--headers, --body; '-' "
            "is stdin), check the Wechatpay-* signature with the key Wechatpay-Serial names, "
            "print the key used and the decrypted resource; exit 0 if it holds, 1 if not, 2 if "
            "the input or a key is unusable. The APIv3 key comes from --apiv3-key-file or the "
            "WECHATPAY_APIV3_KEY environment variable, never the command line."
        ),
    )
    wx_verify.add_argument(
        "--public-key", metavar="FILE", help="WeChat Pay public key (pub_key.pem)"
    )
    wx_verify.add_argument("--public-key-id", metavar="ID", help="its id, PUB_KEY_ID_…")
    wx_verify.add_argument(
        "--platform-cert",
        action="append",
        metavar="FILE",
        help="a platform certificate (repeatable; with --public-key: migration)",
    )
    wx_verify.add_argument("--apiv3-key-file", metavar="FILE", help="file holding the APIv3 key")
    wx_verify.add_argument("--request", metavar="FILE", help="captured HTTP request")
    wx_verify.add_argument("--headers", metavar="FILE", help="'Name: value' lines or JSON")
    wx_verify.add_argument("--body", metavar="FILE", help="the raw body, byte for byte")
    wx_verify.add_argument(
        "--any-time",
        action="store_true",
        help="skip the 300-second timestamp window (for old captures)",
    )
    wx_verify.set_defaults(func=cmd_wechatpay_verify)

    sandbox = commands.add_parser("sandbox", help="run the local sandbox of Alipay and WeChat Pay")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=_port, default=9000)
    sandbox.add_argument("--data-dir", default="var/sandbox", metavar="DIR")
    sandbox.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="N",
        help="run the sandbox clock N times faster (notification retries, trade timeouts)",
    )
    sandbox.add_argument(
        "--timestamp-skew",
        type=float,
        default=900.0,
        metavar="SECONDS",
        help="refuse requests whose timestamp is further than this from Beijing time "
        "(isv.invalid-timestamp); 0 disables the check (default: 900)",
    )
    sandbox.set_defaults(func=cmd_sandbox)
    doctor_cli.add_parser(commands)
    probe_cli.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed by argparse
        return exc.code if isinstance(exc.code, int) else EXIT_UNUSABLE
    try:
        status: int = args.func(args)
        return status
    except CommandError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.status
    except (AlipayError, AmountError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        detail = exc.strerror or str(exc)
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"{PROG}: error: {detail}{where}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
